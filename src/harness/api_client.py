"""The auth service's JSON API over one kept-alive connection (http.client), as the benchmarks drive
it: sessions opened by ticket (no password hashing, so quick) and calls that must succeed.

    api = ApiConnection(service.url)
    session = api.open_session(application, "alice")
    api.call("GET", "/v1/me", session=session, expect=200)
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

from authservice import Application, sign_ticket

__all__ = ["ApiConnection", "bearer"]


def bearer(session: dict[str, Any]) -> str:
    """The `Authorization` header's value for a session object."""
    return f"Bearer {session['sessionId']}.{session['sessionSecret']}"


class ApiConnection:
    def __init__(self, base_url: str, timeout_s: float = 60) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self._connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout_s)

    def __repr__(self) -> str:
        return f"ApiConnection({self.host}:{self.port})"

    def close(self) -> None:
        self._connection.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One request on the kept-alive connection: the status and the body as received."""
        self._connection.request(method, path, body, headers or {})
        reply = self._connection.getresponse()
        return reply.status, reply.read()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        session: dict[str, Any] | None = None,
        *,
        expect: int,
    ) -> dict[str, Any]:
        """The answer's JSON; SystemExit, with the answer, for any other status than `expect`."""
        headers = {"Content-Type": "application/json"}
        if session is not None:
            headers["Authorization"] = bearer(session)
        payload = None if body is None else json.dumps(body).encode()
        status, raw = self.request(method, path, payload, headers)
        answer = json.loads(raw or b"null")
        if status != expect:
            raise SystemExit(f"{method} {path}: {status} {answer}")
        return dict(answer or {})

    def open_session(self, application: Application, user_id: str) -> dict[str, Any]:
        """A new session of `user_id` (made if missing) by a ticket: its session object."""
        ticket = sign_ticket(application.key, application.secret, user_id)
        body = {"applicationKey": application.key, "userTicket": ticket}
        return self.call("POST", "/v1/sessions", body, expect=201)

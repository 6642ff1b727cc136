"""Talking JSON to the auth service over real HTTP (http.client only); making tickets by hand."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from authservice import Application, sign_ticket
from harness.processes import AuthServiceProcess, free_port

PASSWORD = "correct horse battery"
_MISSING: Any = object()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: Any  # parsed JSON, or the raw text when it is not JSON, or None when empty

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


def assert_error(reply: Reply, status: int, code: str) -> None:
    """The contract's error shape: `error` and a non-empty `message`, as JSON, and with
    `invalid_request` perhaps the `field` the sentence is about; nothing else."""
    assert (reply.status, reply.error) == (status, code), reply
    assert reply.headers.get("content-type") == "application/json", reply
    assert set(reply.body) - {"field"} == {"error", "message"}, reply
    if "field" in reply.body:
        assert code == "invalid_request" and isinstance(reply.body["field"], str), reply
    assert isinstance(reply.body["message"], str) and reply.body["message"], reply
    assert "Traceback" not in reply.body["message"], reply


class Api:
    """One application's view of the service's /v1 API, from `source_address` (any address of
    127.0.0.0/8 on Linux) or from 127.0.0.1."""

    def __init__(
        self, base_url: str, application: Application, source_address: str | None = None
    ) -> None:
        self.base_url = base_url
        self.application = application
        self.source_address = source_address
        parsed = urllib.parse.urlsplit(base_url)
        self._address = (parsed.hostname or "127.0.0.1", parsed.port or 80)

    def __repr__(self) -> str:
        return f"Api({self.base_url!r}, {self.application.key!r}, from={self.source_address!r})"

    def from_address(self, source_address: str) -> Api:
        return Api(self.base_url, self.application, source_address)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _MISSING,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        chunked: bool = False,
    ) -> Reply:
        sent_headers = dict(headers or {})
        if json_body is not _MISSING:
            body = json.dumps(json_body).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        source = (self.source_address, 0) if self.source_address else None
        connection = http.client.HTTPConnection(*self._address, timeout=30, source_address=source)
        try:
            if chunked:
                chunks = iter([body or b""])
                connection.request(
                    method, path, body=chunks, headers=sent_headers, encode_chunked=True
                )
            else:
                connection.request(method, path, body=body, headers=sent_headers)
            response = connection.getresponse()
            raw = response.read()
            received = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        return Reply(response.status, received, _parse(raw))

    def post(self, path: str, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return self.request("POST", path, json_body=payload, headers=headers)

    def sign_up(self, username: str, password: str = PASSWORD) -> Reply:
        return self.post("/v1/users", self._keyed(username=username, password=password))

    def sign_in(self, username: str, password: str = PASSWORD) -> Reply:
        return self.post("/v1/sessions", self._keyed(username=username, password=password))

    def sign_in_with_ticket(self, ticket: str, user_agent: str | None = None) -> Reply:
        headers = {"User-Agent": user_agent} if user_agent is not None else None
        return self.post("/v1/sessions", self._keyed(userTicket=ticket), headers)

    def ticket(self, user_id: str, **kwargs: Any) -> str:
        return sign_ticket(self.application.key, self.application.secret, user_id, **kwargs)

    def new_session(self, user_id: str, user_agent: str | None = None) -> dict[str, Any]:
        """A session by ticket: no password hashing, so it is quick."""
        reply = self.sign_in_with_ticket(self.ticket(user_id), user_agent)
        assert reply.status == 201, reply
        return dict(reply.body)

    def resume(self, session: Mapping[str, Any]) -> Reply:
        return self.post("/v1/sessions/resume", dict(session))

    def me(self, session: Mapping[str, Any]) -> Reply:
        return self.request("GET", "/v1/me", headers=bearer(session))

    def sign_out(self, session: Mapping[str, Any]) -> Reply:
        return self.request("DELETE", "/v1/sessions/current", headers=bearer(session))

    def revoke_all(self, session: Mapping[str, Any]) -> Reply:
        return self.request("DELETE", "/v1/users/me/sessions", headers=bearer(session))

    def list_sessions(self, session: Mapping[str, Any]) -> Reply:
        return self.request("GET", "/v1/users/me/sessions", headers=bearer(session))

    def revoke_others(self, session: Mapping[str, Any]) -> Reply:
        return self.request("DELETE", "/v1/users/me/sessions/others", headers=bearer(session))

    def reauthenticate(self, session: Mapping[str, Any], password: str = PASSWORD) -> Reply:
        return self.post(
            "/v1/sessions/current/reauthenticate", {"password": password}, bearer(session)
        )

    def change_password(
        self, session: Mapping[str, Any], current_password: str, new_password: str
    ) -> Reply:
        body = {"currentPassword": current_password, "newPassword": new_password}
        return self.post("/v1/users/me/password", body, bearer(session))

    def delete_account(self, session: Mapping[str, Any]) -> Reply:
        return self.request("DELETE", "/v1/users/me", headers=bearer(session))

    def revoke_session(self, session: Mapping[str, Any], session_id: str) -> Reply:
        path = "/v1/users/me/sessions/" + urllib.parse.quote(session_id, safe="")
        return self.request("DELETE", path, headers=bearer(session))

    def send_message(
        self,
        session: Mapping[str, Any],
        to: list[str],
        text: str,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        return self.post(
            "/v1/messages", {"to": to, "text": text}, {**bearer(session), **(headers or {})}
        )

    def mark_delivered(self, session: Mapping[str, Any], message_ids: list[int]) -> Reply:
        return self.post("/v1/messages/delivered", {"messageIds": message_ids}, bearer(session))

    def list_conversations(self, session: Mapping[str, Any], query: str = "") -> Reply:
        return self.request("GET", "/v1/conversations" + query, headers=bearer(session))

    def list_messages(
        self, session: Mapping[str, Any], conversation_id: str, query: str = ""
    ) -> Reply:
        path = f"/v1/conversations/{urllib.parse.quote(conversation_id, safe='')}/messages"
        return self.request("GET", path + query, headers=bearer(session))

    def _keyed(self, **fields: Any) -> dict[str, Any]:
        return {"applicationKey": self.application.key, **fields}


def bearer(session: Mapping[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['sessionId']}.{session['sessionSecret']}"}


@dataclass
class RunningService:
    """An auth service process and the application the tests use on it."""

    process: AuthServiceProcess
    data_dir: Path
    application: Application

    @property
    def api(self) -> Api:
        return Api(self.process.url, self.application)

    @property
    def database_url(self) -> str:
        return self.process.database_url

    def api_for(self, name: str) -> Api:
        """The API as another application (created on first use) sees it."""
        return Api(self.process.url, self.process.ensure_application(name))


def start_service(data_dir: Path, **flags: Any) -> RunningService:
    """A service process on a migrated database (SQLite in `data_dir`, or `database_url=`)."""
    process = AuthServiceProcess(data_dir, **flags)
    return RunningService(process, data_dir, process.ensure_application("tests"))


def make_ticket(payload: Any, secret: str, *, raw_payload: bytes | None = None) -> str:
    """A ticket built from the format in docs/api.md, independently of authservice.auth.tickets."""
    body = _b64(raw_payload if raw_payload is not None else json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def ticket_payload(
    application_key: str,
    user_id: str,
    *,
    issued_at: datetime | None = None,
    ttl_s: float = 300,
) -> dict[str, str]:
    issued_at = issued_at or datetime.now(UTC)
    return {
        "applicationKey": application_key,
        "userId": user_id,
        "issuedAt": _time(issued_at),
        "expiresAt": _time(issued_at + timedelta(seconds=ttl_s)),
        "nonce": _b64(secrets.token_bytes(16)),
    }


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in this process (to reach code a subprocess cannot)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the in-process server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Helpers shared by the client tests (fixtures are in conftest.py)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from authclient import Event, SessionClient
from authservice import Application
from harness.processes import AuthServiceProcess

PASSWORD = "correct horse battery"

# Every test signs in from 127.0.0.1: lift the per-address limit so the suite never trips it.
_QUIET_LIMITS = {"login_attempts_per_ip": 100_000}


@dataclass(frozen=True)
class Stack:
    """A running auth service and the application the tests use."""

    service: AuthServiceProcess
    app: Application
    data_dir: Path

    @property
    def auth_url(self) -> str:
        return self.service.url + "/v1"


@contextlib.contextmanager
def running_stack(data_dir: Path, **flags: object) -> Iterator[Stack]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with AuthServiceProcess(data_dir, **{**_QUIET_LIMITS, **flags}) as service:
        yield Stack(service, service.ensure_application("test"), data_dir)


ClientFactory = Callable[..., SessionClient]


@contextlib.contextmanager
def canned_http_server(
    status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A real HTTP server on a free port that answers every request with the same response."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Recorder:
    """Subscribes to every event of a client and keeps (event, payload) pairs."""

    def __init__(self, client: SessionClient) -> None:
        self.seen: list[tuple[Event, dict[str, Any]]] = []
        self.cancel = client.on(None, lambda event, payload: self.seen.append((event, payload)))

    @property
    def events(self) -> list[Event]:
        return [event for event, _ in self.seen]

    def payload(self, event: Event) -> dict[str, Any]:
        return next(payload for seen, payload in self.seen if seen is event)


def made_up_session(application_key: str, **changes: Any) -> dict[str, Any]:
    """A well-formed session object the service never issued."""
    session = {
        "version": 1,
        "applicationKey": application_key,
        "userId": "alice",
        "sessionId": "ses_" + "0" * 32,
        "sessionSecret": "A" * 43,
        "createdAt": "2026-01-01T00:00:00Z",
        "expiresAt": "2026-01-31T00:00:00Z",
        "idleExpiresAt": "2026-01-08T00:00:00Z",
    }
    session.update(changes)
    return session


def stored(client: SessionClient) -> dict[str, Any] | None:
    """The session object in the client's storage, parsed."""
    raw = client.storage.get_item(client.storage_key)
    return None if raw is None else json.loads(raw)

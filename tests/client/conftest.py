"""Fixtures for the client tests: the real auth service, and a few tiny real HTTP/TCP peers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from authclient import MemoryStorage, SessionClient
from tests.client.helpers import (
    PASSWORD,
    ClientFactory,
    Stack,
    canned_http_server,
    running_stack,
)


@pytest.fixture
def canned_server() -> Iterator[Callable[..., str]]:
    """canned_server(503, json_body={...}, headers={...}) -> base URL of a running server."""
    with contextlib.ExitStack() as stack:

        def start(
            status: int,
            *,
            json_body: object = None,
            body: bytes = b"",
            headers: Mapping[str, str] | None = None,
        ) -> str:
            all_headers = dict(headers or {})
            if json_body is not None:
                body = json.dumps(json_body).encode()
                all_headers.setdefault("Content-Type", "application/json")
            return stack.enter_context(canned_http_server(status, body, all_headers))

        yield start


@pytest.fixture
def hangup_server() -> Iterator[str]:
    """Accepts each connection, reads the request, and closes without a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the loop notices `stopping`
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        listener.close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL where nothing listens: connections are refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- the real auth service -----------------------------------------------------------------


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The auth service with default settings, shared by the whole suite."""
    with running_stack(tmp_path_factory.mktemp("auth")) as running:
        yield running


@pytest.fixture(scope="session")
def short_lived_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Sessions that expire after one second; two sign-in attempts per user."""
    with running_stack(
        tmp_path_factory.mktemp("auth-short"), session_ttl_s=1, login_attempts_per_user=2
    ) as running:
        yield running


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """An auth service for one test alone: it may be stopped and restarted."""
    with running_stack(tmp_path / "auth") as running:
        yield running


@pytest.fixture
def username() -> str:
    return "u" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_client(stack: Stack) -> ClientFactory:
    """make_client(**kwargs): a SessionClient for the test application on `stack`, MemoryStorage."""

    def make(**kwargs: Any) -> SessionClient:
        kwargs.setdefault("storage", MemoryStorage())
        kwargs.setdefault("timeout_s", 5.0)
        application_key = kwargs.pop("application_key", stack.app.key)
        auth_url = kwargs.pop("auth_url", stack.auth_url)
        return SessionClient(application_key, auth_url, **kwargs)

    return make


@pytest.fixture
def signed_in(make_client: ClientFactory, username: str) -> SessionClient:
    """A client whose user has just signed up and signed in; its session is saved in its storage."""
    client = make_client()
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    return client

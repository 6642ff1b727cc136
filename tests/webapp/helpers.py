"""Helpers of the app's CPython tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authclient import Backoff, DeviceSigner, SessionClient, Storage, storage_key_for
from authservice import Settings
from tests.support.in_process import InProcessTransport
from tests.webapp.fake_page import FakePage, Profile
from tests.webapp.streams import HttpStreamOpener
from webapp.app import App

PASSWORD = "correct horse battery"
# Three quick retries, so that a test sees them all in a fraction of a second.
FAST_BACKOFF = Backoff(initial_s=0.02, factor=2.0, max_s=0.05, max_attempts=3)


@dataclass
class Service:
    """The auth service of these tests, in this process, and the application they sign in to;
    its message streams are read over HTTP from `stream_address` (tests/webapp/streams.py)."""

    settings: Settings
    app: Any
    application_key: str
    stream_address: tuple[str, int]

    @property
    def storage_key(self) -> str:
        return storage_key_for(self.application_key)

    def transport(self) -> InProcessTransport:
        return InProcessTransport(self.app)

    def stream_opener(self, network: InProcessTransport) -> HttpStreamOpener:
        """Streams of a tab whose other requests go through `network`, and fail with it."""
        return HttpStreamOpener(self.stream_address, network)

    def new_user(self) -> dict[str, str]:
        credentials = {"username": f"user-{uuid.uuid4().hex[:10]}", "password": PASSWORD}
        self.client().new_user(credentials)
        return credentials

    def client(
        self, storage: Storage | None = None, signer: DeviceSigner | None = None
    ) -> SessionClient:
        """A client of the service elsewhere (another device, unless given this one's key)."""
        return SessionClient(
            self.application_key,
            InProcessTransport.AUTH_URL,
            storage=storage,
            transport=self.transport(),
            signer=signer,
        )

    def signed_in_session(self) -> dict[str, Any]:
        """A session started elsewhere, as an earlier visit would have saved it."""
        return self.client().start(self.new_user())


@dataclass
class Tab:
    """One tab of the app: its page, its client's transport and stream opener, the app."""

    page: FakePage
    transport: InProcessTransport
    streams: HttpStreamOpener
    app: App

    @property
    def client(self) -> SessionClient:
        return self.app.client


OpenTab = Callable[..., Tab]


def store(profile: Profile, service: Service, value: str | dict[str, Any]) -> None:
    """Put `value` where the app keeps its session, as an earlier visit (or anyone) could."""
    profile.items[service.storage_key] = value if isinstance(value, str) else json.dumps(value)


def stored(profile: Profile, service: Service) -> dict[str, Any] | None:
    raw = profile.items.get(service.storage_key)
    return None if raw is None else json.loads(raw)


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Let the app's loop run until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {timeout_s} s")
        await asyncio.sleep(0.005)

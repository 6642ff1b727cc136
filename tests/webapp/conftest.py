"""Fixtures of the app's tests in CPython: a recording page, the real auth service in-process.

`async def` tests run in an asyncio loop of their own: the app schedules what it does over time
(retries, keep-alive, the device list, waiting sign-outs) on one, as in Pyodide, so every test of
the app is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authclient import SessionClient
from authservice import Settings, create_app, ensure_application
from authservice.database.engine import migrate_database
from tests.support.in_process import InProcessTransport
from tests.webapp.fake_page import FakePage, Profile
from tests.webapp.helpers import FAST_BACKOFF, OpenTab, Service, Tab
from tests.webapp.streams import serving
from webapp.app import App
from webapp.page import Action


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    # In a thread of its own: Playwright's sync API keeps a loop running in this one.
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(pyfuncitem.obj(**arguments))
        except BaseException as failure:
            failures.append(failure)

    runner = threading.Thread(target=run, name=pyfuncitem.name)
    runner.start()
    runner.join()
    if failures:
        raise failures[0]
    return True


@contextlib.contextmanager
def in_process_service(data_dir: Path, name: str, **settings: Any) -> Iterator[Service]:
    # Every test signs in from the same (test) address: lift that limit.
    configured = Settings(data_dir=data_dir, login_attempts_per_ip=1_000_000, **settings)
    migrate_database(configured)
    application = ensure_application(configured, name=name)
    app = create_app(configured)
    with serving(app) as stream_address:
        yield Service(configured, app, application.key, stream_address)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with in_process_service(Path(tmp_path_factory.mktemp("auth")), "webapp-tests") as running:
        yield running


@pytest.fixture(scope="session")
def short_idle_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Sessions that idle out after 1 s: what a tab left open must outlive."""
    data_dir = Path(tmp_path_factory.mktemp("auth-short-idle"))
    with in_process_service(data_dir, "webapp-short-idle", idle_ttl_s=1) as running:
        yield running


@pytest.fixture(scope="session")
def short_lived_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Sessions that end 1.5 s after sign-in, however often they are refreshed."""
    data_dir = Path(tmp_path_factory.mktemp("auth-short-lived"))
    with in_process_service(data_dir, "webapp-short-lived", session_ttl_s=1.5) as running:
        yield running


@pytest.fixture
def profile() -> Profile:
    return Profile()


def tab_opener(service: Service, profile: Profile) -> OpenTab:
    """open_tab(offline=False, queued=[], reload=None, profile=None) -> a started app in a new tab
    of `profile` (the test's own unless another is given), or in the tab `reload` was, keeping its
    sessionStorage."""

    def open_(
        *,
        offline: bool = False,
        queued: list[Action] | None = None,
        reload: Tab | None = None,
        profile: Profile = profile,
    ) -> Tab:
        tab_storage = reload.page.session_storage if reload else None
        stored = service.storage_key in profile.items or (
            tab_storage is not None and tab_storage.get_item(service.storage_key) is not None
        )
        # What the page's inline script guesses from storage before Python starts.
        page = FakePage("resuming" if stored else "login", queued)
        if tab_storage is not None:
            page.session_storage = tab_storage
        transport = service.transport()
        transport.offline = offline
        client = SessionClient(
            service.application_key,
            InProcessTransport.AUTH_URL,
            storage=profile.storage_for(page),
            tab_storage=page.session_storage,
            transport=transport,
            signer=profile.device_key,
        )
        streams = service.stream_opener(transport)
        app = App(client, page, streams, backoff=FAST_BACKOFF)
        app.start()
        return Tab(page, transport, streams, app)

    return open_


@pytest.fixture
def open_tab(service: Service, profile: Profile) -> OpenTab:
    return tab_opener(service, profile)


@pytest.fixture
def open_short_idle_tab(short_idle_service: Service, profile: Profile) -> OpenTab:
    return tab_opener(short_idle_service, profile)


@pytest.fixture
def open_short_lived_tab(short_lived_service: Service, profile: Profile) -> OpenTab:
    return tab_opener(short_lived_service, profile)

"""Fixtures of the app's tests in CPython: a recording page, the real auth service in-process.

`async def` tests run in an asyncio loop of their own (the app's retries need one, as in Pyodide).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from pathlib import Path

import pytest

from authclient import SessionClient
from authservice import Settings, create_app, ensure_application
from authservice.db import migrate_database
from tests.support.in_process import InProcessTransport
from tests.webapp.fake_page import FakePage, Profile
from tests.webapp.helpers import FAST_BACKOFF, OpenTab, Service, Tab
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


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    # Every test signs in from the same (test) address: lift that limit.
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("auth")), login_attempts_per_ip=1_000_000
    )
    migrate_database(settings)
    application = ensure_application(settings, name="webapp-tests")
    return Service(settings, create_app(settings), application.key)


@pytest.fixture
def profile() -> Profile:
    return Profile()


@pytest.fixture
def open_tab(service: Service, profile: Profile) -> OpenTab:
    """open_tab(offline=False, queued=[]) -> a started app in a new tab of `profile`."""

    def open_(*, offline: bool = False, queued: list[Action] | None = None) -> Tab:
        # What the page's inline script guesses from storage before Python starts.
        page = FakePage("resuming" if service.storage_key in profile.items else "login", queued)
        transport = service.transport()
        transport.offline = offline
        client = SessionClient(
            service.application_key,
            InProcessTransport.AUTH_URL,
            storage=profile.storage_for(page),
            transport=transport,
        )
        app = App(client, page, backoff=FAST_BACKOFF)
        app.start()
        return Tab(page, transport, app)

    return open_

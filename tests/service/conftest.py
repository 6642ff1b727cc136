"""Auth service instances for the service suite: shared ones per flag set, fresh ones per test,
on SQLite and, for the tests about storage, on PostgreSQL too (`backend`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from harness.postgres import INSTALL_HINT, PostgresCluster, find_postgres_bin_dir
from tests.service.helpers import Api, RunningService, start_service
from tests.support.tools import require_tool

# Every test signs in from 127.0.0.1: lift the per-address limit except where a test is about it.
QUIET_LIMITS = {"login_attempts_per_ip": 100_000}


@dataclass(frozen=True)
class Backend:
    """A kind of database: each `new_database_url()` is an empty database of that kind (None
    means SQLite in the service's data folder)."""

    name: str
    cluster: PostgresCluster | None = None

    def new_database_url(self) -> str | None:
        return self.cluster.create_database() if self.cluster else None


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throw-away PostgreSQL server for the whole run; each service gets a database."""
    bin_dir = require_tool("PostgreSQL", find_postgres_bin_dir(), install=INSTALL_HINT)
    with PostgresCluster.create(bin_dir) as cluster:
        yield cluster


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite")
    return Backend("postgresql", request.getfixturevalue("postgres_cluster"))


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """Default lifetimes, but a 1 s rotation grace window so that tests can outwait it."""
    running = start_service(tmp_path_factory.mktemp("service"), rotation_grace_s=1, **QUIET_LIMITS)
    yield running
    running.process.stop()


@pytest.fixture(scope="session")
def backend_service(
    backend: Backend, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """The shared service (`service`, with its 1 s grace window) on each backend."""
    if backend.cluster is None:
        yield request.getfixturevalue("service")
        return
    running = start_service(
        tmp_path_factory.mktemp("service-pg"),
        database_url=backend.new_database_url(),
        rotation_grace_s=1,
        **QUIET_LIMITS,
    )
    yield running
    running.process.stop()


@pytest.fixture(scope="session")
def short_session_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data_dir = tmp_path_factory.mktemp("short-session")
    running = start_service(data_dir, session_ttl_s=2, **QUIET_LIMITS)
    yield running
    running.process.stop()


@pytest.fixture(scope="session")
def short_idle_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = start_service(tmp_path_factory.mktemp("short-idle"), idle_ttl_s=1, **QUIET_LIMITS)
    yield running
    running.process.stop()


@pytest.fixture
def api(service: RunningService) -> Api:
    return service.api


@pytest.fixture
def backend_api(backend_service: RunningService) -> Api:
    return backend_service.api


@pytest.fixture
def fresh_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningService]]:
    """Start a service of one's own with these flags; it stops when the test ends."""
    started: list[RunningService] = []

    def start(**flags: Any) -> RunningService:
        running = start_service(tmp_path_factory.mktemp("fresh"), **flags)
        started.append(running)
        return running

    yield start
    for running in started:
        running.process.stop()


@pytest.fixture
def username() -> str:
    return "user-" + secrets.token_hex(5)

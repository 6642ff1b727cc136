"""Auth service instances for the service suite: shared ones per flag set, fresh ones per test."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.service.helpers import Api, RunningService, start_service

# Every test signs in from 127.0.0.1: lift the per-address limit except where a test is about it.
QUIET_LIMITS = {"login_attempts_per_ip": 100_000}


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """Default lifetimes, but a 1 s rotation grace window so that tests can outwait it."""
    running = start_service(tmp_path_factory.mktemp("service"), grace_s=1, **QUIET_LIMITS)
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

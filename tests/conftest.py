"""Fixtures shared by every test folder."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.processes import AuthServiceProcess, Stack
from sitebuild.paths import DIST
from tests.support.stacks import running_split_stack


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that takes connections and never answers (the kernel completes the handshake)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="session")
def dist() -> Path:
    if not (DIST / "build.json").exists():
        pytest.exit("dist/ is not built: run the tests with `python3 build.py test`", returncode=2)
    return DIST


@pytest.fixture(scope="session")
def stack(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The built site and the auth service on one origin, for every browser's tests."""
    with Stack(dist, tmp_path_factory.mktemp("stack-data")) as running:
        yield running


@pytest.fixture
def split_stack(tmp_path: Path) -> Iterator[tuple[Stack, AuthServiceProcess]]:
    """The page on one origin, the auth service on another (CORS), so the service alone can stop."""
    with running_split_stack(tmp_path) as both:
        yield both

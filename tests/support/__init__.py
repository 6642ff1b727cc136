"""Helpers shared by the test suites."""

from tests.support.processes import (
    SRC_DIR,
    AuthServiceProcess,
    ServerError,
    ServerProcess,
    free_port,
)

__all__ = ["SRC_DIR", "AuthServiceProcess", "ServerError", "ServerProcess", "free_port"]

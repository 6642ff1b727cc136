"""Tests that need a tool from outside Python (a browser, later PostgreSQL) ask for it here.

On a developer machine a missing tool skips those tests, saying what to install. In CI (`CI=true`, as
most CI services set it and `.ci/run` does) the same skip would hide a broken setup, so it fails.

    executable = require_tool("Firefox", find_firefox(), install="apt-get install firefox-esr")
"""

from __future__ import annotations

import os
from typing import TypeVar

import pytest

__all__ = ["require_tool", "running_in_ci"]

T = TypeVar("T")


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_tool(tool: str, found: T | None, *, install: str) -> T:
    """`found` if it is there; otherwise skip the test, or fail it in CI."""
    if found is not None:
        return found
    reason = f"{tool} is not installed here ({install})"
    if running_in_ci():
        ci = os.environ["CI"]
        pytest.fail(
            f"{reason}; in CI (CI={ci}) a missing tool is a failure, not a skip", pytrace=False
        )
    pytest.skip(reason)

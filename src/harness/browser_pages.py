"""Helpers for driving the built page with Playwright, shared by the browser tests and the benchmarks."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .python_start import (
    PYTHON_DECIDED,
    READ_PYTHON_START,
    check_python_start,
    start_not_decided,
)

__all__ = ["BOOT_TIMEOUT_MS", "store_value", "stored_session", "stored_value", "wait_until_ready"]

# Booting Pyodide takes seconds; on a loaded 2-core machine, many.
BOOT_TIMEOUT_MS = 60_000


def wait_until_ready(page: Page) -> None:
    """Python has started and drawn its first view; raises PythonDidNotStart as soon as the page
    says it will not, or when it has not decided in time."""
    try:
        page.wait_for_selector(PYTHON_DECIDED, state="attached", timeout=BOOT_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        raise start_not_decided(page.evaluate(READ_PYTHON_START), BOOT_TIMEOUT_MS / 1000) from None
    check_python_start(page.evaluate(READ_PYTHON_START))


def store_value(page: Page, key: str, value: str) -> None:
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [key, value])


def stored_value(page: Page, key: str) -> str | None:
    value: str | None = page.evaluate("key => localStorage.getItem(key)", key)
    return value


def stored_session(page: Page, key: str) -> dict[str, Any] | None:
    raw = stored_value(page, key)
    return json.loads(raw) if raw is not None else None

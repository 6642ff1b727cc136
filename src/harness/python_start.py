"""What the page says about Python's start (static/boot.mjs), for the drivers of every engine.

<html data-python> is "loading", then "ready" or "failed"; on failure, <html data-python-failure>
says which kind and #python-status holds the sentence the user reads. Only a "too-slow" failure may
still end well (Python ready after all), so a wait gives up at any other.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PYTHON_DECIDED",
    "PYTHON_READY",
    "READ_PYTHON_START",
    "PythonDidNotStart",
    "check_python_start",
    "start_not_decided",
]

PYTHON_READY = "html[data-python=ready]"
PYTHON_GAVE_UP = 'html[data-python=failed]:not([data-python-failure="too-slow"])'
# A CSS selector: Python is ready, or will not be.
PYTHON_DECIDED = f"{PYTHON_READY}, {PYTHON_GAVE_UP}"
# A JavaScript expression for `check_python_start`.
READ_PYTHON_START = """({
    state: document.documentElement.dataset.python,
    failure: document.documentElement.dataset.pythonFailure ?? null,
    sentence: document.getElementById("python-status").textContent.trim(),
    thread: document.documentElement.dataset.pythonThread ?? null,
})"""


class PythonDidNotStart(AssertionError):
    """The page said that Python will not start; the message is its sentence."""


def check_python_start(start: dict[str, Any]) -> bool:
    """Whether Python is ready, from what READ_PYTHON_START read; PythonDidNotStart if the page
    gave up."""
    if start["state"] == "failed" and start["failure"] != "too-slow":
        raise PythonDidNotStart(start["sentence"])
    return bool(start["state"] == "ready")


def start_not_decided(start: dict[str, Any], waited_s: float) -> PythonDidNotStart:
    """The error for a wait that ended with Python neither ready nor given up: where the page stood,
    from what READ_PYTHON_START read, so that a hang in the browser says so rather than time out."""
    return PythonDidNotStart(
        f"Python neither started nor gave up within {waited_s:.0f} s: <html data-python> is "
        f"{start['state']!r}, thread {start['thread']!r}, the page says {start['sentence']!r}"
    )

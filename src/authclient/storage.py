"""Where the session is kept between page loads: a string-only interface mirroring Web Storage."""

from __future__ import annotations

import logging
import sys
from typing import Any, Protocol

__all__ = [
    "Storage",
    "MemoryStorage",
    "WebStorage",
    "local_storage",
    "session_storage",
    "default_storage",
]

logger = logging.getLogger("authclient")


class Storage(Protocol):
    def get_item(self, key: str) -> str | None: ...

    def set_item(self, key: str, value: str) -> None: ...

    def remove_item(self, key: str) -> None: ...


class MemoryStorage:
    """Kept in this process only; the default outside the browser."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def get_item(self, key: str) -> str | None:
        return self._items.get(key)

    def set_item(self, key: str, value: str) -> None:
        self._items[key] = str(value)

    def remove_item(self, key: str) -> None:
        self._items.pop(key, None)

    def __repr__(self) -> str:
        # Values are session objects with secrets: names only.
        return f"MemoryStorage(keys={sorted(self._items)})"


class WebStorage:
    """Wraps an object with getItem/setItem/removeItem: `window.localStorage` via the JS bridge."""

    def __init__(self, js_storage: Any, name: str = "webStorage") -> None:
        self._js = js_storage
        self._name = name

    def get_item(self, key: str) -> str | None:
        value = self._js.getItem(key)
        # A missing key is JS null: None, or pyodide.ffi.jsnull in newer Pyodide.
        return value if isinstance(value, str) else None

    def set_item(self, key: str, value: str) -> None:
        self._js.setItem(key, value)

    def remove_item(self, key: str) -> None:
        self._js.removeItem(key)

    def __repr__(self) -> str:
        return f"WebStorage({self._name})"


def local_storage() -> WebStorage:
    """The page's `window.localStorage` (browser only; works in a PyScript worker too)."""
    from pyscript import window  # browser only

    return WebStorage(window.localStorage, "localStorage")


def session_storage() -> WebStorage:
    """The page's `window.sessionStorage`: one tab, gone when the tab closes (browser only)."""
    from pyscript import window  # browser only

    return WebStorage(window.sessionStorage, "sessionStorage")


def default_storage() -> Storage:
    """`local_storage()` in the browser, `MemoryStorage()` elsewhere."""
    if sys.platform == "emscripten":
        try:
            return local_storage()
        except Exception as exc:  # no PyScript, or storage blocked (private mode, sandboxed frame)
            logger.warning("localStorage is not available (%s); keeping the session in memory", exc)
    return MemoryStorage()

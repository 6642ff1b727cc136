"""Web Storage for a page: wraps `window.localStorage` (or `sessionStorage`) handed over by the page.

Imported only by browser code; it imports nothing itself, so the rest of the package stays free of
the browser::

    from pyscript import window
    from authclient.browser import WebStorage

    storage = WebStorage(window.localStorage, "localStorage")
"""

from __future__ import annotations

from typing import Any

__all__ = ["WebStorage"]


class WebStorage:
    """A `Storage` over an object with getItem/setItem/removeItem, such as a JS proxy of Web Storage.

    Its methods raise what the browser raises (storage disabled, quota exceeded); the client catches
    that and keeps the session in memory. This app's own page does not use it: from a worker, each
    call through a JS proxy costs many round trips to the page, so the app goes through its page
    functions instead (`webapp.browser.dom_page.PageStorage`, one round trip per call).
    """

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

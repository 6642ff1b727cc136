"""The real page, through PyScript: every touch of the DOM and `window` is here.

PyScript's `document` and `window` work in a worker and on the main thread alike, so this adapter
serves both. In a worker each access is a round trip to the main thread, and each page object
Python touches costs more of them (Pyodide looks up its type), so it does few, large operations:
every change is one call of `window.appPage` (the inline script in index.html), which does the DOM
work on the page's side; a form submission arrives as one JSON string (the same script collects
the fields).

The app's handlers run one at a time, each from a callback of the event loop, never inside the
browser's event dispatch. On the main thread that is what lets a request wait through JSPI without
freezing the page (`webapp.fetch_transport`), and one at a time keeps the order a worker gives by
itself: there a request blocks Python, and later events wait for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from pyscript import document, window
from pyscript.ffi import create_proxy

from authclient.browser import WebStorage

from .config import PageConfig
from .page import Action

__all__ = ["ConsoleHandler", "DomPage"]

logger = logging.getLogger("webapp")


class DomPage:
    """Implements `webapp.page.Page`, plus what only the start needs: the configuration, the
    address and the storage of the page."""

    def __init__(self) -> None:
        # index.html's inline script: each of its functions makes one change to the page in one
        # call (from a worker, far fewer round trips than the same steps made from here).
        self._page = window.appPage
        # Proxies handed to JavaScript must live as long as the page listens.
        self._listeners: list[Any] = []
        # Pyodide's event loop, which schedules its callbacks with the browser's setTimeout.
        self._loop = asyncio.get_event_loop()
        self._pending: deque[Callable[[], None]] = deque()
        self._running = False

    def __repr__(self) -> str:
        return f"DomPage(view={self.initial_view()!r})"

    def read_config(self) -> PageConfig:
        return PageConfig.from_json(document.getElementById("app-config").textContent)

    def location(self) -> str:
        return str(window.location.href)

    def local_storage(self) -> WebStorage:
        """The page's `localStorage`; raises what the browser raises where storage is blocked."""
        return WebStorage(window.localStorage, "localStorage")

    def session_storage(self) -> WebStorage:
        """The tab's `sessionStorage` (for a session not kept: "Keep me signed in" unchecked)."""
        return WebStorage(window.sessionStorage, "sessionStorage")

    def initial_view(self) -> str:
        return str(document.documentElement.dataset.view)

    def show(self, view: str, html: str) -> None:
        self._page.show(view, html)

    def mark_busy(self, form: str) -> None:
        self._page.markBusy(form, True)

    def mark_done(self, form: str) -> None:
        self._page.markBusy(form, False)

    def set_field(self, form: str, name: str, value: str) -> None:
        self._page.setField(form, name, value)

    def mark_ready(self) -> None:
        document.documentElement.dataset.python = "ready"

    def on_action(self, handler: Callable[[Action], None]) -> list[Action]:
        def on_app_action(event: Any) -> None:
            action = Action.from_json(event.detail)
            self._run_in_turn(lambda: handler(action))

        self._listen(document, "app-action", on_app_action)
        return [Action.from_json(text) for text in json.loads(window.appActions.take())]

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        def on_storage(event: Any) -> None:
            # A null key means the other tab cleared all of storage.
            if event.key is None or str(event.key) == key:
                self._run_in_turn(handler)

        self._listen(window, "storage", on_storage)

    def on_online(self, handler: Callable[[], None]) -> None:
        self._listen(window, "online", lambda _event: self._run_in_turn(handler))

    def on_visible(self, handler: Callable[[], None]) -> None:
        def on_change(_event: Any) -> None:
            if str(document.visibilityState) == "visible":
                self._run_in_turn(handler)

        self._listen(document, "visibilitychange", on_change)

    def fill(self, region: str, html: str) -> None:
        self._page.fill(region, html)

    def announce(self, detail: dict[str, Any]) -> None:
        # index.html's inline script turns it into the DOM event "app-session".
        window.appSession.announce(json.dumps(detail))

    def _run_in_turn(self, call: Callable[[], None]) -> None:
        """Run `call` from the event loop, after every call handed over before it has ended."""
        self._pending.append(call)
        if not self._running:
            self._running = True
            self._loop.call_soon(self._run_pending)

    def _run_pending(self) -> None:
        try:
            while self._pending:
                call = self._pending.popleft()
                try:
                    call()
                except Exception:
                    logger.exception("A handler of the page failed")
        finally:
            self._running = False

    def _listen(self, target: Any, event_name: str, handler: Callable[[Any], None]) -> None:
        proxy = create_proxy(handler)
        self._listeners.append(proxy)
        target.addEventListener(event_name, proxy)


class ConsoleHandler(logging.Handler):
    """Logging to the browser console, at the matching level (Python's stderr would all be errors)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            method = window.console.error
        elif record.levelno >= logging.WARNING:
            method = window.console.warn
        else:
            method = window.console.info
        method(self.format(record))

"""The real page, through PyScript: every touch of the DOM and `window` is here.

PyScript's `document` and `window` work in a worker and on the main thread alike, so this adapter
serves both. In a worker each access is a round trip to the main thread, so it does few, large
operations: a whole view is one `innerHTML` assignment, a form submission arrives as one JSON string
(the inline script in index.html collects the fields).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pyscript import document, window
from pyscript.ffi import create_proxy

from authclient.browser import WebStorage

from .config import PageConfig
from .page import Action

__all__ = ["ConsoleHandler", "DomPage"]


class DomPage:
    """Implements `webapp.page.Page`, plus what only the start needs: the configuration, the
    address and the storage of the page."""

    def __init__(self) -> None:
        self._app = document.getElementById("app")
        # Proxies handed to JavaScript must live as long as the page listens.
        self._listeners: list[Any] = []

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
        self._app.innerHTML = f'<div data-view="{view}">{html}</div>'
        document.documentElement.dataset.view = view

    def mark_busy(self, form: str) -> None:
        element = self._app.querySelector(f'form[data-form="{form}"]')
        if element:
            element.setAttribute("aria-busy", "true")

    def mark_ready(self) -> None:
        document.documentElement.dataset.python = "ready"

    def on_action(self, handler: Callable[[Action], None]) -> list[Action]:
        self._listen(document, "app-action", lambda event: handler(Action.from_json(event.detail)))
        return [Action.from_json(text) for text in json.loads(window.appActions.take())]

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        def on_storage(event: Any) -> None:
            # A null key means the other tab cleared all of storage.
            if event.key is None or str(event.key) == key:
                handler()

        self._listen(window, "storage", on_storage)

    def on_online(self, handler: Callable[[], None]) -> None:
        self._listen(window, "online", lambda _event: handler())

    def on_visible(self, handler: Callable[[], None]) -> None:
        def on_change(_event: Any) -> None:
            if str(document.visibilityState) == "visible":
                handler()

        self._listen(document, "visibilitychange", on_change)

    def fill(self, region: str, html: str) -> None:
        element = self._app.querySelector(f'[data-region="{region}"]')
        if element:
            element.innerHTML = html

    def announce(self, detail: dict[str, Any]) -> None:
        # index.html's inline script turns it into the DOM event "app-session".
        window.appSession.announce(json.dumps(detail))

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

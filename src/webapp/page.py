"""The page, seen from Python: every touch of the DOM and `window` is here.

In a PyScript worker each access to `document` or `window` is a round trip to the main thread, so
this module does few, large operations: a whole view is one `innerHTML` assignment, a form submission
arrives as one JSON string (the inline script in index.html collects the fields).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyscript import document, window
from pyscript.ffi import create_proxy


@dataclass(frozen=True)
class Action:
    """A form submission: which button (`name`), on which form, with which fields."""

    name: str
    form: str
    fields: dict[str, str] = field(repr=False)

    @classmethod
    def from_json(cls, text: str) -> Action:
        data = json.loads(text)
        fields = {str(key): str(value) for key, value in dict(data.get("fields") or {}).items()}
        return cls(name=str(data.get("action", "")), form=str(data.get("form", "")), fields=fields)


class Page:
    def __init__(self) -> None:
        self._app = document.getElementById("app")
        # Proxies handed to JavaScript must live as long as the page listens.
        self._listeners: list[Any] = []

    def read_config(self) -> dict[str, Any]:
        return json.loads(document.getElementById("app-config").textContent)

    def location(self) -> str:
        return str(window.location.href)

    def initial_view(self) -> str:
        """The view the inline script showed before Python was ready."""
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
        """Send every later form submission to `handler`; return those made while Python loaded."""
        self._listen(document, "app-action", lambda event: handler(Action.from_json(event.detail)))
        return [Action.from_json(text) for text in json.loads(window.appActions.take())]

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        """Call `handler` when another tab changes `key` in localStorage."""

        def on_storage(event: Any) -> None:
            # A null key means the other tab cleared all of storage.
            if event.key is None or str(event.key) == key:
                handler()

        self._listen(window, "storage", on_storage)

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

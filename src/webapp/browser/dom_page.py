"""The real page, through PyScript: every touch of the DOM and `window` is here.

It serves a worker and the main thread alike. In a worker each access to a page object through
PyScript's `document` and `window` is a round trip to the main thread, and Pyodide makes dozens more
to learn the type of each object it is handed (reading one attribute cost 40 to 160 ms on a busy
machine). So what the app does on the page goes through the page's own functions
(static/page-bridge.mjs), one call each, with strings in and out: everything the start needs is
read in one call, a whole view is one call. A form submission arrives as one JSON string (the inline
script in index.html collects the fields). Only the event listeners use `document` and `window`.

The app's handlers run one at a time, each from a callback of the event loop, never inside the
browser's event dispatch. On the main thread that is what lets a request wait through JSPI without
freezing the page (`fetch_transport`), and one at a time keeps the order a worker gives by
itself: there a request blocks Python, and later events wait for it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from pyscript import document, window
from pyscript.ffi import create_proxy

from ..config import PageConfig
from ..page import Action
from .timeline import mark

__all__ = ["ConsoleHandler", "DomPage", "PageFunctions", "PageStorage"]

logger = logging.getLogger("webapp")


class PageFunctions(Protocol):
    """static/page-bridge.mjs: on PyScript's `sync` in a worker, `window.appPage` on the main
    thread."""

    def pageStart(self) -> str: ...

    def pageShow(self, view: str, html: str) -> None: ...

    def pageFill(self, region: str, html: str) -> None: ...

    def pageMarkBusy(self, form: str, busy: bool) -> None: ...

    def pageSetField(self, form: str, name: str, value: str) -> None: ...

    def pageTakeActions(self) -> str: ...

    def pageMarkReady(self) -> None: ...

    def pageAnnounce(self, json_text: str) -> None: ...

    def pageTakeRequests(self) -> str: ...

    def pageAnswer(self, request_id: int, json_text: str) -> None: ...

    def pageLog(self, level: str, text: str) -> None: ...

    def storageGet(self, area: str, key: str) -> Any: ...

    def storageSet(self, area: str, key: str, value: str) -> None: ...

    def storageRemove(self, area: str, key: str) -> None: ...


class DomPage:
    """Implements `webapp.page.Page`, plus what only the start needs: the configuration, the
    address and the storage of the page."""

    def __init__(self, functions: PageFunctions) -> None:
        self._page = functions
        start = json.loads(functions.pageStart())
        self._config = str(start["config"])
        self._location = str(start["location"])
        self._initial_view = str(start["view"])
        self._blocked: dict[str, str | None] = start["blocked"]
        # Proxies handed to JavaScript must live as long as the page listens.
        self._listeners: list[Any] = []
        # Pyodide's event loop, which schedules its callbacks with the browser's setTimeout.
        self._loop = asyncio.get_event_loop()
        self._pending: deque[Callable[[], None]] = deque()
        self._running = False

    def __repr__(self) -> str:
        return f"DomPage(view={self.initial_view()!r})"

    def read_config(self) -> PageConfig:
        return PageConfig.from_json(self._config)

    def location(self) -> str:
        return self._location

    def local_storage(self) -> PageStorage:
        """The page's `localStorage`; raises where the browser blocks it."""
        return self._storage("localStorage")

    def session_storage(self) -> PageStorage:
        """The tab's `sessionStorage` (for a session not kept: "Keep me signed in" unchecked)."""
        return self._storage("sessionStorage")

    def initial_view(self) -> str:
        return self._initial_view

    def show(self, view: str, html: str) -> None:
        self._page.pageShow(view, html)
        mark(f"view {view}")

    def mark_busy(self, form: str) -> None:
        self._page.pageMarkBusy(form, True)

    def mark_done(self, form: str) -> None:
        self._page.pageMarkBusy(form, False)

    def set_field(self, form: str, name: str, value: str) -> None:
        self._page.pageSetField(form, name, value)

    def mark_ready(self) -> None:
        self._page.pageMarkReady()
        mark("ready")

    def on_action(self, handler: Callable[[Action], None]) -> list[Action]:
        def on_app_action(event: Any) -> None:
            action = Action.from_json(event.detail)
            self._run_in_turn(lambda: handler(action))

        self._listen(document, "app-action", on_app_action)
        return [Action.from_json(text) for text in json.loads(self._page.pageTakeActions())]

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        def on_storage(event: Any) -> None:
            # A null key means the other tab cleared all of storage.
            if event.key is None or str(event.key) == key:
                self._run_in_turn(handler)

        self._listen(window, "storage", on_storage)

    def on_online(self, handler: Callable[[], None]) -> None:
        self._listen(window, "online", lambda _event: self._run_in_turn(handler))

    def on_visible(self, handler: Callable[[], None]) -> None:
        # Dispatched by the page only when it becomes visible (static/page-bridge.mjs): a handler of
        # "visibilitychange" would run, in a worker, as the page unloads too.
        self._listen(document, "app-visible", lambda _event: self._run_in_turn(handler))

    def fill(self, region: str, html: str) -> None:
        self._page.pageFill(region, html)

    def on_script_request(self, handler: Callable[[dict[str, Any]], Any]) -> None:
        def answer(text: str) -> None:
            request = json.loads(text)
            try:
                value = handler(request)
            except Exception:
                logger.exception("A request of the page's scripts failed")
                value = None
            self._page.pageAnswer(int(request["id"]), json.dumps(value))

        def on_app_request(event: Any) -> None:
            text = str(event.detail)
            self._run_in_turn(lambda: answer(text))

        self._listen(document, "app-request", on_app_request)
        for text in json.loads(self._page.pageTakeRequests()):
            self._run_in_turn(functools.partial(answer, str(text)))

    def announce(self, detail: dict[str, Any]) -> None:
        # index.html's inline script turns it into the DOM event "app-session".
        self._page.pageAnnounce(json.dumps(detail))

    def _storage(self, area: str) -> PageStorage:
        blocked = self._blocked.get(area)
        if blocked:
            raise PermissionError(f"{area} is blocked: {blocked}")
        return PageStorage(self._page, area)

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


class PageStorage:
    """A `Storage` (authclient) over the page's `localStorage` or `sessionStorage` (`area`): one
    call of the page's functions each. Its methods raise what the browser raises (storage disabled,
    quota exceeded); the client catches that and keeps the session in memory. The client library's
    own adapter, `authclient.browser.WebStorage`, takes a JS `Storage` instead, for pages without
    these functions."""

    def __init__(self, functions: PageFunctions, area: str) -> None:
        self._page = functions
        self._area = area

    def __repr__(self) -> str:
        return f"PageStorage({self._area})"

    def get_item(self, key: str) -> str | None:
        value = self._page.storageGet(self._area, key)
        # A missing key is JS null: None, or pyodide.ffi.jsnull in newer Pyodide.
        return value if isinstance(value, str) else None

    def set_item(self, key: str, value: str) -> None:
        self._page.storageSet(self._area, key, value)

    def remove_item(self, key: str) -> None:
        self._page.storageRemove(self._area, key)


class ConsoleHandler(logging.Handler):
    """Logging to the page's console, at the matching level (Python's stderr would all be errors)."""

    def __init__(self, functions: PageFunctions) -> None:
        super().__init__()
        self._page = functions

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            level = "error"
        elif record.levelno >= logging.WARNING:
            level = "warning"
        else:
            level = "info"
        self._page.pageLog(level, self.format(record))

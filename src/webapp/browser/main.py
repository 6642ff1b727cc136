"""Start the app in the page: called by the PyScript entry script (static/main.py).

The one place that picks the browser's adapters: the page (`DomPage`), its storage and the
transport. Python runs in a worker where the browser lets a worker reach the page, and on the
page's main thread elsewhere (static/boot.mjs decides); the two differ here, in the transport and
in how Python reaches the device key (`_signer`):

- in a worker, `PyodideHttpTransport`: pyodide-http's synchronous XHR blocks only Python, and it
  has a timeout;
- on the main thread with JSPI (Chromium, Firefox), `FetchTransport`: Python waits for `fetch()`
  without freezing the page, with a timeout;
- on the main thread without JSPI (WebKitGTK 2.50), `PyodideHttpTransport` again, at a cost: the
  page freezes while each request waits, and the request cannot time out; and Python cannot wait
  for WebCrypto, so sessions signed in there are not bound to the device.

The message stream is the same everywhere: `fetch()` awaited from an asyncio task
(`fetch_stream`), which needs no JSPI and never holds Python.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable

import js
from pyscript import RUNNING_IN_WORKER

from authclient import DeviceSigner, MemoryStorage, SessionClient, Storage, Transport

from ..app import App
from ..backend_panel import BackendPanel
from .device_key import AwaitedKeyFunctions, BrowserDeviceSigner
from .dom_page import ConsoleHandler, DomPage, PageFunctions
from .fetch_stream import FetchStreamOpener
from .fetch_transport import FetchTransport, jspi_available
from .pyodide_http_transport import PyodideHttpTransport
from .timeline import TimedSigner, TimedTransport, mark

__all__ = ["main"]

logger = logging.getLogger("webapp")


def main() -> App:
    functions = _page_functions()
    logging.basicConfig(level=logging.INFO, handlers=[ConsoleHandler(functions)], force=True)
    page = DomPage(functions)
    config = page.read_config()
    transport = TimedTransport(_transport(config.request_timeout_s))
    client = SessionClient(
        config.application_key,
        urllib.parse.urljoin(page.location(), config.auth_url),
        storage=_storage(page.local_storage),
        tab_storage=_storage(page.session_storage),
        storage_key=config.storage_key,
        transport=transport,
        signer=_timed(_signer(config.application_key)),
    )
    backend_url = urllib.parse.urljoin(page.location(), config.backend_url)

    def backend(app: App) -> BackendPanel:
        return BackendPanel(client, page, transport, backend_url, on_rejected=app.on_rejected)

    app = App(client, page, FetchStreamOpener(config.request_timeout_s), backend=backend)
    mark("app start")
    app.start()
    return app


def _page_functions() -> PageFunctions:
    """The page's functions (static/page-bridge.mjs), which boot.mjs hands to Python."""
    if RUNNING_IN_WORKER:
        from pyscript import sync

        return sync  # type: ignore[no-any-return]
    return js.appPage  # type: ignore[no-any-return]


def _transport(timeout_s: float) -> Transport:
    if RUNNING_IN_WORKER:
        return PyodideHttpTransport(timeout_s)
    # PyScript runs the entry script through JSPI where the browser has it, so this call may wait.
    if jspi_available():
        return FetchTransport(timeout_s)
    logger.warning(
        "Python runs on the page's main thread without JSPI: each request to the auth service "
        "freezes the page until it is answered, with no timeout"
    )
    return PyodideHttpTransport(timeout_s)


def _timed(signer: DeviceSigner | None) -> DeviceSigner | None:
    return None if signer is None else TimedSigner(signer)


def _signer(application_key: str) -> DeviceSigner | None:
    """The device key that binds this page's sessions (`device_key`), where Python can wait for
    WebCrypto: in a worker through PyScript's `sync`, on the main thread through JSPI."""
    if RUNNING_IN_WORKER:
        from pyscript import sync

        return BrowserDeviceSigner(sync, application_key)
    if jspi_available():
        return BrowserDeviceSigner(AwaitedKeyFunctions(js.appDeviceKey), application_key)
    logger.warning(
        "Python runs on the page's main thread without JSPI: it cannot wait for WebCrypto, so "
        "this page's sessions are not bound to the device"
    )
    return None


def _storage(open_storage: Callable[[], Storage]) -> Storage:
    try:
        return open_storage()
    except Exception as exc:  # storage blocked: private mode, a sandboxed frame, a setting
        logger.warning("Web Storage is not available (%s); keeping the session in memory", exc)
        return MemoryStorage()

"""Start the app in the page: called by the PyScript entry script (static/main.py).

The one place that picks the browser's adapters: the page (`DomPage`), its storage and the
transport. A page whose Python runs on the main thread would differ here, in its transport, only.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable

from pyscript import sync

from authclient import MemoryStorage, SessionClient, Storage

from .app import App
from .device_key import BrowserDeviceSigner
from .dom_page import ConsoleHandler, DomPage
from .xhr_transport import XhrTransport

__all__ = ["main"]

logger = logging.getLogger("webapp")


def main() -> App:
    logging.basicConfig(level=logging.INFO, handlers=[ConsoleHandler()], force=True)
    page = DomPage()
    config = page.read_config()
    client = SessionClient(
        config.application_key,
        urllib.parse.urljoin(page.location(), config.auth_url),
        storage=_storage(page.local_storage),
        tab_storage=_storage(page.session_storage),
        storage_key=config.storage_key,
        # A synchronous XHR: fine in a worker, where it blocks only Python.
        transport=XhrTransport(config.request_timeout_s),
        signer=BrowserDeviceSigner(sync, config.application_key),
    )
    app = App(client, page)
    app.start()
    return app


def _storage(open_storage: Callable[[], Storage]) -> Storage:
    try:
        return open_storage()
    except Exception as exc:  # storage blocked: private mode, a sandboxed frame, a setting
        logger.warning("Web Storage is not available (%s); keeping the session in memory", exc)
        return MemoryStorage()

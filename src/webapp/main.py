"""Start the app in the page: called by the PyScript entry script (static/main.py)."""

from __future__ import annotations

import logging
import urllib.parse

from authclient import SessionClient, local_storage

from . import http
from .app import App
from .page import ConsoleHandler, Page


def main() -> App:
    logging.basicConfig(level=logging.INFO, handlers=[ConsoleHandler()], force=True)
    # urllib through synchronous XMLHttpRequest: fine in a worker, where it blocks only Python.
    http.install()
    page = Page()
    config = page.read_config()
    client = SessionClient(
        config["applicationKey"],
        urllib.parse.urljoin(page.location(), config["authUrl"]),
        capabilities={"messaging": True},
        storage=local_storage(),
        timeout_s=float(config["requestTimeoutS"]),
    )
    app = App(client, page)
    app.start()
    return app

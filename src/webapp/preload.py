"""What a Pyodide memory snapshot of the app holds: every module of the app that does not need the
page, with all they import (jinja2, markupsafe, authclient).

The snapshot is made in a plain worker, without PyScript's page (static/snapshot-loader.mjs calls
`import_modules()`), so a later visit starts with these imports done. `webapp.main` and
`webapp.dom_page` need the page, and are left out.
"""

from __future__ import annotations

import gc
import importlib

__all__ = ["MODULES", "import_modules"]

MODULES = (
    "authclient.browser",
    "webapp.app",
    "webapp.config",
    "webapp.device_key",
    "webapp.fetch_stream",
    "webapp.fetch_transport",
    "webapp.inbox",
    "webapp.messages_panel",
    "webapp.page",
    "webapp.streaming",
    "webapp.tasks",
    "webapp.views",
    "webapp.xhr_transport",
)


def import_modules() -> None:
    for name in MODULES:
        importlib.import_module(name)
    # What the imports left behind need not be in the snapshot.
    gc.collect()

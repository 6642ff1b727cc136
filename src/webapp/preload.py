"""What a Pyodide memory snapshot of the app holds: every module of the app that does not need the
page, with all they import (jinja2, markupsafe, pyodide-http, authclient), the app's templates
compiled, and the standard library modules that PyScript's own package imports; and, kept beside
it, bytecode for every source of the app archive.

The snapshot is made in a plain worker, without PyScript's page (static/snapshot-maker.mjs calls
`import_modules()` and `compile_sources()`), so a later visit starts with these imports done.
`webapp.browser.main` and `webapp.browser.dom_page` need the page, and PyScript's `pyscript`
package needs PyScript: they are left out, and imported from their bytecode.
"""

from __future__ import annotations

import gc
import importlib
import py_compile
from pathlib import Path

__all__ = ["MODULES", "PYSCRIPT_STDLIB", "compile_sources", "import_modules"]

MODULES = (
    "authclient.browser",
    "webapp.app",
    "webapp.backend_panel",
    "webapp.browser.device_key",
    "webapp.browser.fetch_stream",
    "webapp.browser.fetch_transport",
    "webapp.browser.js_errors",
    "webapp.browser.pyodide_http_transport",
    "webapp.browser.timeline",
    "webapp.config",
    "webapp.inbox",
    "webapp.messages_panel",
    "webapp.page",
    "webapp.streaming",
    "webapp.tasks",
    "webapp.views",
)
# What PyScript's `pyscript` package imports of the standard library (its sources are in the app
# archive; tests/build checks this list against them).
PYSCRIPT_STDLIB = (
    "asyncio",
    "base64",
    "collections",
    "functools",
    "html",
    "inspect",
    "io",
    "json",
    "sys",
)


def import_modules() -> None:
    for name in (*MODULES, *PYSCRIPT_STDLIB):
        importlib.import_module(name)
    # Jinja2 compiles a template to Python at its first use: tens of ms of a first view otherwise.
    importlib.import_module("webapp.views").compile_templates()
    # What the imports left behind need not be in the snapshot.
    gc.collect()


def compile_sources(root: Path | None = None) -> int:
    """Write bytecode beside every module under `root` (the working directory, where the app
    archive is unpacked); how many. Each is checked against its source's hash when imported, not
    its time: the files are written again at every start."""
    sources = sorted((root or Path.cwd()).rglob("*.py"))
    for source in sources:
        py_compile.compile(
            str(source),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    return len(sources)

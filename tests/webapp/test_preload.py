"""The snapshot's warm-up list (webapp/preload.py) is the app's own modules, less the page's."""

from __future__ import annotations

import os
import pkgutil
from pathlib import Path

import webapp
from webapp import views
from webapp.preload import MODULES, compile_sources
from webapp.views import TEMPLATES, compile_templates

# They need PyScript's page, which the worker that makes the snapshot does not have.
NEED_THE_PAGE = {"webapp.browser.dom_page", "webapp.browser.main"}
# The flags of a .pyc's header (PEP 552).
HASH_BASED = 0b01
CHECK_SOURCE = 0b10


def test_the_warm_up_imports_every_module_of_the_app_that_does_not_need_the_page() -> None:
    modules = {
        info.name for info in pkgutil.walk_packages(webapp.__path__, "webapp.") if not info.ispkg
    }

    assert set(MODULES) | NEED_THE_PAGE | {"webapp.preload"} == modules | {"authclient.browser"}
    assert not NEED_THE_PAGE & set(MODULES)


def test_the_bytecode_kept_beside_the_snapshot_is_checked_against_its_sources_hash(
    tmp_path: Path,
) -> None:
    """The files are written again at every start, so their times change; their content does not."""
    package = tmp_path / "package"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "module.py").write_text("OTHER = 2\n")

    assert compile_sources(tmp_path) == 2
    pycs = sorted((package / "__pycache__").glob("*.pyc"))
    assert len(pycs) == 2
    for pyc in pycs:
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == HASH_BASED | CHECK_SOURCE


def test_the_templates_compiled_into_the_snapshot_stay_in_use_when_their_files_are_written_again() -> (
    None
):
    """A start from the snapshot writes the app's files anew: a first view must still compile
    nothing."""
    assert compile_templates() == len(list(TEMPLATES.glob("*.html")))
    compiled = views._environment.get_template("signed_in.html")
    times = {
        path: (path.stat().st_atime_ns, path.stat().st_mtime_ns) for path in TEMPLATES.iterdir()
    }
    try:
        for path, (accessed, modified) in times.items():
            # As the loader writes them back: the same content, a newer time.
            os.utime(path, ns=(accessed, modified + 60 * 10**9))

        assert views._environment.get_template("signed_in.html") is compiled
    finally:
        for path, (accessed, modified) in times.items():
            os.utime(path, ns=(accessed, modified))

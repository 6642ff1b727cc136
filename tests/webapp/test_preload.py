"""The snapshot's warm-up list (webapp/preload.py) is the app's own modules, less the page's."""

from __future__ import annotations

import pkgutil

import webapp
from webapp.preload import MODULES

# They need PyScript's page, which the worker that makes the snapshot does not have.
NEED_THE_PAGE = {"webapp.dom_page", "webapp.main"}


def test_the_warm_up_imports_every_module_of_the_app_that_does_not_need_the_page() -> None:
    modules = {f"webapp.{info.name}" for info in pkgutil.iter_modules(webapp.__path__)}

    assert set(MODULES) | NEED_THE_PAGE | {"webapp.preload"} == modules | {"authclient.browser"}
    assert not NEED_THE_PAGE & set(MODULES)

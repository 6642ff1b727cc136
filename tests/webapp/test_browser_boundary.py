"""The app's logic stays apart from the browser: no module of `webapp` outside `webapp.browser`
imports that package, or what only a browser has (PyScript, Pyodide, `js`). So the logic runs, and
is tested, in CPython, and one `--ignore` of pytest's doctest run covers every browser module.

Type-only imports count too: they are read from the source, not from what runs."""

from __future__ import annotations

import ast
from pathlib import Path

import webapp

WEBAPP = Path(webapp.__file__).parent
BROWSER = WEBAPP / "browser"
# Modules, and the packages whose every module, only the browser may import.
BROWSER_ONLY = ("js", "pyodide", "pyodide_http", "pyscript", "webapp.browser")


def imported_modules(source: str, module: str) -> set[str]:
    """Every module that the source of `module` ("webapp.app") imports, relative imports resolved;
    for `from x import y`, both x and x.y (y may be a module)."""
    package = module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def browser_only(names: set[str]) -> set[str]:
    return {
        name
        for name in names
        if any(name == root or name.startswith(root + ".") for root in BROWSER_ONLY)
    }


def logic_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(WEBAPP.rglob("*.py")):
        if BROWSER in path.parents:
            continue
        # A package's __init__ keeps its name here: relative imports then resolve in the package.
        modules[".".join(path.relative_to(WEBAPP.parent).with_suffix("").parts)] = path
    return modules


def test_no_module_of_the_app_s_logic_imports_the_browser_or_its_adapters() -> None:
    modules = logic_modules()
    assert "webapp.app" in modules and "webapp.preload" in modules

    found = {
        module: sorted(browser_only(imported_modules(path.read_text(), module)))
        for module, path in modules.items()
    }

    assert {module: names for module, names in found.items() if names} == {}


def test_the_adapters_do_import_what_only_the_browser_has() -> None:
    """Else the boundary above would hold by accident: the check must see these imports."""
    source = (BROWSER / "main.py").read_text()

    found = browser_only(imported_modules(source, "webapp.browser.main"))

    assert {"js", "pyscript", "webapp.browser.dom_page"} <= found


def test_the_check_catches_each_way_to_import_the_browser() -> None:
    sources = {
        "import js": "js",
        "from pyodide.ffi import to_js": "pyodide.ffi",
        "from pyscript import window": "pyscript",
        "from .browser import dom_page": "webapp.browser.dom_page",
        "from . import browser": "webapp.browser",
        "import webapp.browser.timeline": "webapp.browser.timeline",
        "if TYPE_CHECKING:\n    from webapp.browser.main import main": "webapp.browser.main",
    }
    for source, expected in sources.items():
        assert expected in browser_only(imported_modules(source, "webapp.app")), source
    assert browser_only(imported_modules("from .page import Action", "webapp.app")) == set()

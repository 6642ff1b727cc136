"""The app archive: every Python source the page runs, in one zip that the runtime loader unpacks
(static/snapshot-loader.mjs).

Pyodide's own packages are not vendored by the npm package, and micropip would fetch from the
network, so the pure-Python dependencies are taken from the venv (the versions locked in
requirements/dev.txt) and zipped with our packages. PyScript's own Python package is in it too, as
PyScript writes it at every start: the snapshot maker compiles it with the rest, so that a start
from the snapshot finds its bytecode (PyScript then writes the same sources over it).
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

from .paths import NODE_MODULES, SRC

# Packages that run in the browser: ours from src/, the rest from the venv.
OUR_PACKAGES = ("authclient", "webapp")
THIRD_PARTY_PACKAGES = ("jinja2", "markupsafe", "pyodide_http")
# Parts of our packages that no page runs: the access-token verifier is for an application's
# backend (and needs `cryptography`, which the page has not).
LEFT_OUT = ("authclient/verifier/",)
SOURCE_SUFFIXES = (".py", ".html", ".txt")
# What PyScript writes as its `pyscript` package before a script runs: the JSON of its sources (PyScript
# builds its dist/ from this file).
PYSCRIPT_PACKAGE = NODE_MODULES / "@pyscript" / "core" / "src" / "stdlib" / "pyscript.js"
# A fixed timestamp makes the archive, and so its content hash, depend on the sources alone.
EPOCH = (1980, 1, 1, 0, 0, 0)


def build_archive() -> bytes:
    buffer = io.BytesIO()
    # Stored: on the wire the archive is compressed as a whole (the build's brotli and gzip copies),
    # which packs it tighter than the zip's own compression, file by file; and it unpacks faster.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in OUR_PACKAGES:
            _add_package(archive, SRC / name)
        for name in THIRD_PARTY_PACKAGES:
            _add_package(archive, _installed_package_dir(name))
        for name, source in pyscript_sources().items():
            _add_file(archive, name, source.encode())
    return buffer.getvalue()


def pyscript_sources() -> dict[str, str]:
    """PyScript's `pyscript` package as PyScript writes it: {"pyscript/web.py": source, ...}."""
    text = PYSCRIPT_PACKAGE.read_text()
    tree = json.loads(text[text.index("export default") + len("export default") :].rstrip("; \n"))
    return _flatten(tree)


def _flatten(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    files: dict[str, str] = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            files |= _flatten(value, f"{prefix}{name}/")
        else:
            files[prefix + name] = str(value)
    return files


def _installed_package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"{name} is not installed in this Python: run `python3 build.py` to install it"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _add_package(archive: zipfile.ZipFile, package_dir: Path) -> None:
    # Only sources: markupsafe's compiled _speedups are left out and it falls back to pure Python.
    files = sorted(
        path
        for path in package_dir.rglob("*")
        if path.is_file() and path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts
    )
    for path in files:
        name = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
        if not name.startswith(LEFT_OUT):
            _add_file(archive, name, path.read_bytes())


def _add_file(archive: zipfile.ZipFile, name: str, content: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.external_attr = 0o644 << 16
    archive.writestr(info, content)

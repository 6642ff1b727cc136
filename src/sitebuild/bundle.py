"""The app archive: every Python source the page needs, in one zip that PyScript unpacks.

Pyodide's own packages are not vendored by the npm package, and micropip would fetch from the
network, so the pure-Python dependencies are taken from the venv (the versions pinned in
requirements.txt) and zipped with our packages.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

from .paths import SRC

# Packages that run in the browser: ours from src/, the rest from the venv.
OUR_PACKAGES = ("authclient", "webapp")
THIRD_PARTY_PACKAGES = ("jinja2", "markupsafe")
SOURCE_SUFFIXES = (".py", ".html", ".txt")
# A fixed timestamp makes the archive, and so its content hash, depend on the sources alone.
EPOCH = (1980, 1, 1, 0, 0, 0)


def build_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in OUR_PACKAGES:
            _add_package(archive, SRC / name)
        for name in THIRD_PARTY_PACKAGES:
            _add_package(archive, _installed_package_dir(name))
    return buffer.getvalue()


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
        arcname = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
        info = zipfile.ZipInfo(arcname, date_time=EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, path.read_bytes())

"""Copies of the built site broken on purpose, to see what the page says when Python cannot start.

Each takes the session's build (the `dist` fixture) and writes a changed copy into `folder`.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from sitebuild.assets import ASSETS_DIR

__all__ = ["site_with_app_module", "site_with_entry", "site_without"]


def site_with_entry(dist: Path, folder: Path, source: str) -> Path:
    """The site with `source` as its Python entry script (static/main.py)."""
    site = _copy(dist, folder)
    (entry,) = (site / ASSETS_DIR).glob("main-*.py")
    entry.write_text(source)
    _drop_compressed_copy(entry)
    return site


def site_with_app_module(dist: Path, folder: Path, name: str, source: str) -> Path:
    """The site with `source` as the module file `name` ("webapp/main.py") of its app archive."""
    site = _copy(dist, folder)
    (archive,) = (site / ASSETS_DIR).glob("app-*.zip")
    with zipfile.ZipFile(archive) as original:
        files = {info.filename: original.read(info) for info in original.infolist()}
    if name not in files:
        raise ValueError(f"the app archive holds no {name}")
    files[name] = source.encode()
    with zipfile.ZipFile(archive, "w") as changed:
        for filename, content in files.items():
            changed.writestr(filename, content)
    _drop_compressed_copy(archive)
    return site


def site_without(dist: Path, folder: Path, pattern: str) -> Path:
    """The site without its assets named like `pattern` (a glob), as after a failed upload."""
    site = _copy(dist, folder)
    missing = list((site / ASSETS_DIR).glob(pattern))
    if not missing:
        raise ValueError(f"no asset matches {pattern!r}")
    for path in missing:
        path.unlink()
        _drop_compressed_copy(path)
    return site


def _copy(dist: Path, folder: Path) -> Path:
    return Path(shutil.copytree(dist, folder / "dist"))


def _drop_compressed_copy(path: Path) -> None:
    # The server would send the original's gzipped copy to any browser that takes gzip.
    path.with_name(path.name + ".gz").unlink(missing_ok=True)

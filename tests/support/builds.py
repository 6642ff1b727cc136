"""Copies of the built site broken on purpose, to see what the page says when Python cannot start.

Each takes the session's build (the `dist` fixture) and writes a changed copy into `folder`.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from sitebuild.assets import ASSETS_DIR, content_hash
from sitebuild.compression import ENCODINGS

__all__ = [
    "site_with_app_module",
    "site_with_changed_app_archive",
    "site_with_entry",
    "site_without",
]


def site_with_entry(dist: Path, folder: Path, source: str) -> Path:
    """The site with `source` as its Python entry script (static/main.py)."""
    site = _copy(dist, folder)
    (entry,) = (site / ASSETS_DIR).glob("main-*.py")
    entry.write_text(source)
    _drop_compressed_copy(entry)
    return site


def site_with_app_module(dist: Path, folder: Path, name: str, source: str) -> Path:
    """The site with `source` as the app archive's module file `name` ("webapp/browser/main.py")."""
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


def site_with_changed_app_archive(dist: Path, folder: Path) -> Path:
    """The site as the next build of a changed app would be: one more file in its app archive,
    which so gets a new hashed name, as does every module that names it, and so on up to the page."""
    site = _copy(dist, folder)
    assets = site / ASSETS_DIR
    (archive,) = assets.glob("app-*.zip")
    with zipfile.ZipFile(archive, "a") as changed:
        changed.writestr("webapp/NEXT_BUILD.txt", "a change\n")
    # Each earlier name of a renamed asset, and its name now.
    names = {archive.name: _rename_after_content(archive)}
    while True:
        renamed = False
        for path in [site / "index.html", *assets.glob("*.mjs")]:
            text = path.read_text()
            updated = text
            for old, new in names.items():
                updated = updated.replace(old, new)
            if updated == text:
                continue
            path.write_text(updated)
            _drop_compressed_copy(path)
            if path.parent == assets:
                new_name = _rename_after_content(path)
                names = {old: new_name if new == path.name else new for old, new in names.items()}
                names[path.name] = new_name
                renamed = True
        if not renamed:
            return site


def _rename_after_content(path: Path) -> str:
    """Give a hashed asset the name its content now calls for; the new name."""
    stem, _, rest = path.name.rpartition("-")
    suffix = rest.partition(".")[2]
    return path.rename(path.with_name(f"{stem}-{content_hash(path.read_bytes())}.{suffix}")).name


def _copy(dist: Path, folder: Path) -> Path:
    return Path(shutil.copytree(dist, folder / "dist"))


def _drop_compressed_copy(path: Path) -> None:
    # The server would send the original's compressed copy to any browser that takes it.
    for suffix in ENCODINGS:
        path.with_name(path.name + suffix).unlink(missing_ok=True)

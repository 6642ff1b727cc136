"""Content-hashed assets: the only files that may be cached for a year.

Every asset lands under `dist/assets/` with a hash of its content in its name (a runtime folder gets
the hash in the folder's name, since Pyodide loads its siblings by fixed names). A new version is a
new URL, so browsers never hold on to a stale one; index.html, which names them, is revalidated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ASSETS_DIR = "assets"
HASH_LENGTH = 12


def content_hash(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()[:HASH_LENGTH]


class Assets:
    """Writes assets into `dist/assets/` and maps their logical names to URLs relative to the page."""

    def __init__(self, dist: Path) -> None:
        self._dir = dist / ASSETS_DIR
        self._dir.mkdir(parents=True, exist_ok=True)
        self._urls: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Assets({len(self._urls)} files in {self._dir})"

    def add_bytes(self, name: str, content: bytes) -> str:
        """Add one file; `name` like "style.css" becomes "assets/style-<hash>.css"."""
        stem, dot, suffix = name.partition(".")
        hashed = f"{stem}-{content_hash(content)}{dot}{suffix}"
        (self._dir / hashed).write_bytes(content)
        self._urls[name] = f"./{ASSETS_DIR}/{hashed}"
        return self._urls[name]

    def add_file(self, name: str, path: Path) -> str:
        return self.add_bytes(name, path.read_bytes())

    def add_folder(self, name: str, files: dict[str, bytes]) -> str:
        """Add files (by name, their contents) that must stay siblings under their own names; the
        folder name holds the hash."""
        names = sorted(files)
        digest = content_hash(*(file.encode() + files[file] for file in names))
        folder = self._dir / f"{name}-{digest}"
        folder.mkdir()
        for file in names:
            (folder / file).write_bytes(files[file])
            self._urls[f"{name}/{file}"] = f"./{ASSETS_DIR}/{folder.name}/{file}"
        return f"./{ASSETS_DIR}/{folder.name}"

    def url(self, name: str) -> str:
        """The URL of an added asset, relative to the page (index.html)."""
        try:
            return self._urls[name]
        except KeyError:
            raise KeyError(f"no asset named {name!r}; known: {sorted(self._urls)}") from None

    def url_from_assets(self, name: str) -> str:
        """The URL of an added asset relative to another asset (PyScript resolves from its config)."""
        return self.url(name).replace(f"/{ASSETS_DIR}/", "/", 1)

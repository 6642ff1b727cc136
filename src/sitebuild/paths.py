"""Where things are in the repository."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"
DIST = ROOT / "dist"
# The dev server's database and its development application live here.
DATA = ROOT / ".data"
INDEX_TEMPLATE = ROOT / "index.html"
PYSCRIPT_CONFIG = ROOT / "pyscript.toml"
# The client library's own project, for its wheel.
AUTHCLIENT_PROJECT = ROOT / "publish" / "authclient"

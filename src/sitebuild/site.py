"""`build`: the static site in `dist/`, self-contained, ready for any static host."""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from authclient import DEFAULT_STORAGE_KEY_PREFIX
from webapp import views

from .assets import Assets
from .bundle import build_archive
from .headers import static_host_headers_file
from .paths import INDEX_TEMPLATE, NODE_MODULES, PYSCRIPT_CONFIG, ROOT, STATIC

# What the page loads of the runtime; the rest of the npm packages (source maps, docs, other
# builds) stays out of the site.
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
PYSCRIPT_DIST = NODE_MODULES / "@pyscript" / "core" / "dist"
SERVICE_WORKER = "coi-serviceworker.js"
SNAPSHOT_LOADER = "snapshot-loader.mjs"
SNAPSHOT_MAKER = "snapshot-maker.mjs"
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".toml", ".wasm", ".zip", ".svg")
# Smaller gains are not worth a second file.
MIN_COMPRESSION_GAIN = 0.9


@dataclass(frozen=True)
class PageConfig:
    """What the page's Python needs to know; rendered into index.html as JSON."""

    application_key: str
    auth_url: str = "/v1"
    request_timeout_s: float = 10.0

    def to_json(self) -> dict[str, str | float]:
        return {
            "applicationKey": self.application_key,
            "authUrl": self.auth_url,
            "requestTimeoutS": self.request_timeout_s,
        }


def build(dist: Path, config: PageConfig) -> Path:
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir(parents=True)
    assets = Assets(dist)
    assets.add_folder("pyodide", [NODE_MODULES / "pyodide" / name for name in PYODIDE_FILES])
    assets.add_folder(
        "pyscript", sorted(PYSCRIPT_DIST.glob("*.js")) + sorted(PYSCRIPT_DIST.glob("*.css"))
    )
    assets.add_bytes("app.zip", build_archive())
    assets.add_file("style.css", STATIC / "style.css")
    assets.add_file("main.py", STATIC / "main.py")
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    # The interpreter module PyScript loads (Pyodide from a memory snapshot when there is one) names the
    # runtime and the app archive by their hashed URLs; the worker that makes the snapshot is plain.
    loader = templates.get_template(f"{STATIC.name}/{SNAPSHOT_LOADER}").render(
        asset=assets.url_from_assets
    )
    assets.add_bytes(SNAPSHOT_LOADER, loader.encode())
    assets.add_file(SNAPSHOT_MAKER, STATIC / SNAPSHOT_MAKER)
    toml = templates.get_template(PYSCRIPT_CONFIG.name).render(asset=assets.url_from_assets)
    assets.add_bytes("pyscript.toml", toml.encode())
    page = templates.get_template(INDEX_TEMPLATE.name).render(
        asset=assets.url,
        config=config.to_json(),
        storage_key_prefix=DEFAULT_STORAGE_KEY_PREFIX,
        login_view=views.render_login(),
        resuming_view=views.render_resuming(),
    )
    (dist / "index.html").write_text(page)
    shutil.copyfile(STATIC / SERVICE_WORKER, dist / SERVICE_WORKER)
    (dist / "_headers").write_text(static_host_headers_file())
    (dist / "build.json").write_text(json.dumps(config.to_json(), indent=2) + "\n")
    _precompress(dist)
    return dist


def _precompress(dist: Path) -> None:
    """Write `name.gz` beside each file worth it, for servers that send precompressed files."""
    for path in sorted(dist.rglob("*")):
        if not path.is_file() or path.suffix not in COMPRESSIBLE:
            continue
        content = path.read_bytes()
        compressed = gzip.compress(content, compresslevel=9, mtime=0)
        if len(compressed) < len(content) * MIN_COMPRESSION_GAIN:
            path.with_name(path.name + ".gz").write_bytes(compressed)


def read_page_config(dist: Path) -> PageConfig:
    """The configuration a built site was made with."""
    path = dist / "build.json"
    if not path.exists():
        raise SystemExit(f"{dist} holds no build: run `python3 build.py build` first")
    data = json.loads(path.read_text())
    return PageConfig(data["applicationKey"], data["authUrl"], data["requestTimeoutS"])

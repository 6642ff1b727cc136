"""`build`: the static site in `dist/`, self-contained, ready for any static host."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path, PurePosixPath

import jinja2

from webapp import views
from webapp.config import PageConfig

from .assets import Assets
from .bundle import build_archive
from .compression import precompress
from .headers import content_security_policy, static_host_headers_file
from .paths import AUTHCLIENT_PROJECT, INDEX_TEMPLATE, NODE_MODULES, PYSCRIPT_CONFIG, ROOT, STATIC
from .stdlib import page_stdlib

__all__ = [
    "SNAPSHOT_DATABASE",
    "WHEELS_DIR",
    "build",
    "build_client_wheel",
    "page_policy",
    "pyscript_start_modules",
    "read_page_config",
]

# What the page loads of the runtime; the rest of the npm packages (source maps, docs, other
# builds, PyScript's CSS) stays out of the site.
PYODIDE_DIR = NODE_MODULES / "pyodide"
STDLIB = "python_stdlib.zip"
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    STDLIB,
    "pyodide-lock.json",
)
PYSCRIPT_DIST = NODE_MODULES / "@pyscript" / "core" / "dist"
SERVICE_WORKER = "coi-serviceworker.js"
# Modules rendered by Jinja2 so that they name other assets by their hashed URLs.
BOOT = "boot.mjs"
SNAPSHOT_LOADER = "snapshot-loader.mjs"
SNAPSHOT_MAKER = "snapshot-maker.mjs"
SNAPSHOT_STORE = "snapshot-store.mjs"
# The device key's WebCrypto and IndexedDB side, on the page's main thread.
DEVICE_KEY = "device-key.mjs"
# What Python asks of the page, one call each.
PAGE_BRIDGE = "page-bridge.mjs"
# "Show password" and the new password's hint, before Python is ready.
PASSWORD_FIELDS = "password-fields.mjs"
# The IndexedDB database that keeps Pyodide memory snapshots in the browser
# (static/snapshot-loader.mjs).
SNAPSHOT_DATABASE = "pyodide-snapshots"
# The client library as a wheel, for other pages to install with micropip.
WHEELS_DIR = "wheels"
BUILD_RECORD = "build.json"


def build(dist: Path, config: PageConfig) -> Path:
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir(parents=True)
    assets = Assets(dist)
    runtime = assets.add_folder("pyodide", runtime_files())
    assets.add_folder(
        "pyscript", {path.name: path.read_bytes() for path in PYSCRIPT_DIST.glob("*.js")}
    )
    app_archive = assets.add_bytes("app.zip", build_archive())
    assets.add_file("style.css", STATIC / "style.css")
    assets.add_file("main.py", STATIC / "main.py")
    assets.add_file(DEVICE_KEY, STATIC / DEVICE_KEY)
    assets.add_file(PAGE_BRIDGE, STATIC / PAGE_BRIDGE)
    assets.add_file(PASSWORD_FIELDS, STATIC / PASSWORD_FIELDS)
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )

    def render(path: Path, **context: object) -> str:
        """Render a file of the repository with asset() giving URLs relative to dist/assets/."""
        template = templates.get_template(path.relative_to(ROOT).as_posix())
        return template.render(asset=assets.url_from_assets, **context)

    # A snapshot is bound to the runtime and the app archive it was made with.
    snapshot_key = f"{PurePosixPath(runtime).name}/{PurePosixPath(app_archive).name}"
    assets.add_bytes(
        SNAPSHOT_STORE,
        render(
            STATIC / SNAPSHOT_STORE, snapshot_database=SNAPSHOT_DATABASE, snapshot_key=snapshot_key
        ).encode(),
    )
    # The interpreter module PyScript loads: Pyodide, from a memory snapshot when there is one; and
    # the worker that makes the snapshot.
    for module in (SNAPSHOT_LOADER, SNAPSHOT_MAKER):
        assets.add_bytes(module, render(STATIC / module).encode())
    # boot.mjs hands PyScript its configuration inline.
    pyscript_config = tomllib.loads(render(PYSCRIPT_CONFIG))
    assets.add_bytes(BOOT, render(STATIC / BOOT, pyscript_config=pyscript_config).encode())
    page = templates.get_template(INDEX_TEMPLATE.name).render(
        asset=assets.url,
        # The inline script loads boot.mjs, with what it imports as it starts, once the page has
        # painted.
        modules={
            "boot": assets.url(BOOT),
            "preload": [
                assets.url(module)
                for module in (PAGE_BRIDGE, PASSWORD_FIELDS, *pyscript_start_modules(), DEVICE_KEY)
            ],
        },
        config=config.to_dict(),
        login_view=views.render_login(),
        resuming_view=views.render_resuming(),
    )
    (dist / "index.html").write_text(page)
    shutil.copyfile(STATIC / SERVICE_WORKER, dist / SERVICE_WORKER)
    build_client_wheel(dist / WHEELS_DIR)
    (dist / "_headers").write_text(
        static_host_headers_file(content_security_policy(page, config.auth_url, config.backend_url))
    )
    (dist / BUILD_RECORD).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    precompress(dist)
    return dist


def runtime_files() -> dict[str, bytes]:
    """Pyodide's files as the page loads them: the standard library less what a page cannot use
    (sitebuild/stdlib.py)."""
    files = {name: (PYODIDE_DIR / name).read_bytes() for name in PYODIDE_FILES}
    files[STDLIB] = page_stdlib(PYODIDE_DIR / STDLIB)
    return files


def pyscript_start_modules() -> list[str]:
    """The modules of PyScript that the page imports as it starts: core.js, the chunk it re-exports,
    and the error plugin's chunk (loaded even when the plugin is turned off, to quiet it)."""
    core = (PYSCRIPT_DIST / "core.js").read_text()
    chunks = re.findall(r'from\s*"\./([\w-]+\.js)"', core)
    errors = [path.name for path in PYSCRIPT_DIST.glob("error-*.js")]
    if len(chunks) != 1 or len(errors) != 1:
        raise RuntimeError(
            f"PyScript's dist/ is not laid out as this build expects: {PYSCRIPT_DIST}"
        )
    return [f"pyscript/{name}" for name in ("core.js", *chunks, *errors)]


def build_client_wheel(folder: Path) -> Path:
    """The client library as a pure-Python wheel (publish/authclient/pyproject.toml), by pip."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        command += ["--wheel-dir", scratch, str(AUTHCLIENT_PROJECT)]
        built = subprocess.run(command, capture_output=True, text=True)
        if built.returncode != 0:
            raise RuntimeError(
                f"Building the authclient wheel failed:\n{built.stdout}{built.stderr}"
            )
        (wheel,) = Path(scratch).glob("*.whl")
        return Path(shutil.copy2(wheel, folder / wheel.name))


def page_policy(dist: Path) -> str:
    """The Content-Security-Policy of a built site (the one its `_headers` file carries)."""
    page = (dist / "index.html").read_text()
    config = read_page_config(dist)
    return content_security_policy(page, config.auth_url, config.backend_url)


def read_page_config(dist: Path) -> PageConfig:
    """The configuration a built site was made with."""
    path = dist / BUILD_RECORD
    if not path.exists():
        raise SystemExit(f"{dist} holds no build: run `python3 build.py build` first")
    return PageConfig.from_json(path.read_text())

"""The build: a self-contained dist/ with content-hashed assets, from pinned sources only."""

from __future__ import annotations

import ast
import base64
import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sys
import tomllib
import zipfile
from pathlib import Path

import brotli

from sitebuild.assets import HASH_LENGTH
from sitebuild.compression import ENCODINGS
from sitebuild.paths import ROOT
from sitebuild.site import SNAPSHOT_DATABASE, build, page_policy
from sitebuild.stdlib import LEFT_OUT
from webapp.config import PageConfig
from webapp.preload import PYSCRIPT_STDLIB

HASHED_FILE = re.compile(rf"^(?P<stem>.+)-(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})\.(?P<suffix>[^/]+)$")


def pinned_versions() -> dict[str, str]:
    """The versions the build and tests run with: requirements/dev.txt."""
    return locked_versions(ROOT / "requirements" / "dev.txt")


def locked_versions(lock: Path) -> dict[str, str]:
    pins = {}
    for match in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", lock.read_text(), re.MULTILINE):
        pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_every_asset_file_is_named_after_its_content(site: Path) -> None:
    files = [
        path
        for path in (site / "assets").iterdir()
        if path.is_file() and path.suffix not in ENCODINGS
    ]
    assert files
    for path in files:
        match = HASHED_FILE.match(path.name)
        assert match, path.name
        assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(match["hash"])


def test_the_runtime_is_the_pinned_one_and_only_what_the_page_needs(site: Path) -> None:
    (pyodide,) = (site / "assets").glob("pyodide-*")
    assert sorted(
        path.name for path in pyodide.iterdir() if path.suffix not in ENCODINGS
    ) == sorted(
        [
            "pyodide.mjs",
            "pyodide.asm.mjs",
            "pyodide.asm.wasm",
            "python_stdlib.zip",
            "pyodide-lock.json",
        ]
    )
    npm_package = ROOT / "node_modules" / "pyodide"
    assert json.loads((npm_package / "package.json").read_text())["version"] == "314.0.7"
    assert (pyodide / "pyodide.asm.wasm").read_bytes() == (
        npm_package / "pyodide.asm.wasm"
    ).read_bytes()
    (pyscript,) = [path for path in (site / "assets").glob("pyscript-*") if path.is_dir()]
    assert (pyscript / "core.js").exists() and not list(pyscript.glob("*.map"))


def test_the_standard_library_is_pyodides_less_what_a_page_cannot_use_and_stored(
    site: Path,
) -> None:
    (pyodide,) = (site / "assets").glob("pyodide-*")
    with (
        zipfile.ZipFile(ROOT / "node_modules" / "pyodide" / "python_stdlib.zip") as original,
        zipfile.ZipFile(pyodide / "python_stdlib.zip") as shipped,
    ):
        kept = {
            info.filename: original.read(info)
            for info in original.infolist()
            if info.filename.split("/")[0].removesuffix(".py") not in LEFT_OUT
        }
        assert {info.filename: shipped.read(info) for info in shipped.infolist()} == kept
        assert {info.compress_type for info in shipped.infolist()} == {zipfile.ZIP_STORED}
    assert "unittest/__init__.py" not in kept and "json/__init__.py" in kept


def test_what_the_page_fetches_has_a_brotli_and_a_gzip_copy(site: Path) -> None:
    (pyodide,) = (site / "assets").glob("pyodide-*")
    for path in [site / "index.html", *pyodide.iterdir()]:
        if path.suffix in ENCODINGS:
            continue
        content = path.read_bytes()
        brotli_copy = path.with_name(path.name + ".br").read_bytes()
        gzip_copy = path.with_name(path.name + ".gz").read_bytes()
        assert brotli.decompress(brotli_copy) == content == gzip.decompress(gzip_copy)
        assert len(brotli_copy) < len(gzip_copy) < len(content)


def test_the_app_archive_holds_python_sources_at_the_pinned_versions(site: Path) -> None:
    (archive_path,) = (site / "assets").glob("app-*.zip")
    with zipfile.ZipFile(archive_path) as archive:
        names = archive.namelist()
        contents = {name: archive.read(name) for name in names}
    assert {name.split("/")[0] for name in names} == {
        "authclient",
        "webapp",
        "jinja2",
        "markupsafe",
        "pyodide_http",
        "pyscript",
    }
    assert "webapp/templates/login.html" in names
    # Sources only: no compiled speedups, no bytecode.
    assert not [name for name in names if name.endswith((".so", ".pyd", ".pyc", ".c"))]
    pins = pinned_versions()
    for package, distribution in [
        ("jinja2", "jinja2"),
        ("markupsafe", "markupsafe"),
        ("pyodide_http", "pyodide-http"),
    ]:
        assert importlib.metadata.version(distribution) == pins[distribution]
        installed = Path(importlib.util.find_spec(package).origin).parent
        for name in (name for name in names if name.startswith(package + "/")):
            assert contents[name] == (installed / name.removeprefix(package + "/")).read_bytes(), (
                name
            )


def pyodide_http_api() -> dict[str, object]:
    """What webapp.browser.pyodide_http_transport uses of pyodide-http's private `_core`, read from
    the installed (locked, bundled) source: `_core` runs only in Pyodide."""
    spec = importlib.util.find_spec("pyodide_http._core")
    module = ast.parse(Path(spec.origin).read_text())
    api: dict[str, object] = {}
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            api[f"imports from .{node.module or ''}"] = [alias.name for alias in node.names]
        elif isinstance(node, ast.ClassDef) and node.name in ("Request", "Response"):
            fields = [
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            ]
            api[node.name] = fields
        elif isinstance(node, ast.FunctionDef) and node.name == "send":
            arguments = node.args.args
            defaults = [None] * (len(arguments) - len(node.args.defaults)) + node.args.defaults
            api["send"] = [
                (argument.arg, ast.literal_eval(default) if default else None)
                for argument, default in zip(arguments, defaults, strict=True)
            ]
            api["send reads"] = sorted(
                {
                    attribute.attr
                    for attribute in ast.walk(node)
                    if isinstance(attribute, ast.Attribute)
                    and isinstance(attribute.value, ast.Name)
                    and attribute.value.id == "request"
                }
            )
    return api


def test_the_locked_pyodide_http_has_the_private_api_the_app_sends_through() -> None:
    """The app's transport calls `_core.send(_core.Request(...))` and stands in for `_streaming`
    (whose import starts a worker): a new pyodide-http that changes either must fail here, not in
    a visitor's browser."""
    assert importlib.metadata.version("pyodide-http") == pinned_versions()["pyodide-http"]

    assert pyodide_http_api() == {
        # All that the stand-in for `_streaming` provides.
        "imports from ._streaming": ["send_streaming_request"],
        "Request": ["method", "url", "params", "body", "headers", "timeout"],
        "Response": ["status_code", "headers", "body"],
        # Not streamed unless asked: the stand-in is then never called.
        "send": [("request", None), ("stream", False)],
        "send reads": ["body", "headers", "method", "params", "timeout", "url"],
    }


def test_the_app_archive_holds_pyscripts_package_as_pyscript_writes_it(site: Path) -> None:
    """The snapshot maker compiles it, and a start from the snapshot finds that bytecode valid only
    if PyScript writes the very same sources."""
    (archive_path,) = (site / "assets").glob("app-*.zip")
    (pyscript,) = [path for path in (site / "assets").glob("pyscript-*") if path.is_dir()]
    bundled = "".join(path.read_text() for path in pyscript.glob("core-*.js"))
    with zipfile.ZipFile(archive_path) as archive:
        sources = {
            name: archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith("pyscript/")
        }
    assert "pyscript/__init__.py" in sources and "pyscript/context.py" in sources
    for name, source in sources.items():
        assert json.dumps(source, ensure_ascii=False)[1:-1] in bundled, name


def test_the_snapshot_holds_the_standard_library_that_pyscripts_package_imports(
    site: Path,
) -> None:
    (archive_path,) = (site / "assets").glob("app-*.zip")
    imported = set()
    with zipfile.ZipFile(archive_path) as archive:
        for name in archive.namelist():
            if name.startswith("pyscript/"):
                for node in ast.walk(ast.parse(archive.read(name))):
                    if isinstance(node, ast.Import):
                        imported |= {alias.name.split(".")[0] for alias in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        imported.add(node.module.split(".")[0])
    assert imported & set(sys.stdlib_module_names) == set(PYSCRIPT_STDLIB)


def test_the_page_and_its_pyscript_configuration_point_only_at_our_own_files(site: Path) -> None:
    page = (site / "index.html").read_text()
    (boot,) = (site / "assets").glob("boot-*.mjs")
    for text in (page, boot.read_text()):
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text)
        assert not re.search(r"\"(?:https?:)?//", text)
    # boot.mjs hands PyScript pyscript.toml inline, as JSON: PyScript fetches no configuration.
    parsed = json.loads(
        re.search(r"^const PYSCRIPT_CONFIG = (.*);$", boot.read_text(), re.MULTILINE)[1]
    )
    assert parsed == tomllib.loads(
        (ROOT / "pyscript.toml").read_text().replace("{{ ", "").replace(" }}", "")
    ) | {"interpreter": parsed["interpreter"]}
    assert parsed["interpreter"].startswith("./snapshot-loader-")
    # A `packages` key would make PyScript fetch micropip from the network; the interpreter module
    # unpacks the app archive itself.
    assert "packages" not in parsed
    assert "files" not in parsed
    assert not list((site / "assets").glob("*.toml"))


def test_the_page_carries_its_configuration_and_both_prerendered_views(site: Path) -> None:
    page = (site / "index.html").read_text()
    config = json.loads(re.search(r'id="app-config">(.*?)</script>', page)[1])
    assert config == {
        "applicationKey": "app_build_test",
        "authUrl": "/v1",
        "requestTimeoutS": 10.0,
        "startTimeoutS": 90.0,
        "backendUrl": "/api",
        "storageKey": "sinchSession-app_build_test",
        "newPassword": {"minChars": 12, "maxChars": 128},
    }
    assert PageConfig.from_json(json.dumps(config)) == PageConfig("app_build_test")
    assert '<label for="username">Username</label>' in page
    assert "Resuming your session" in page
    assert '<meta name="description" content="' in page


def test_the_build_is_reproducible(site: Path, tmp_path: Path) -> None:
    again = build(tmp_path / "dist", PageConfig(application_key="app_build_test"))
    names = lambda root: sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    assert names(again) == names(site)


def test_static_hosts_get_the_isolation_and_cache_headers(site: Path) -> None:
    headers = (site / "_headers").read_text()
    assert "Cross-Origin-Opener-Policy: same-origin" in headers
    assert "Cross-Origin-Embedder-Policy: require-corp" in headers
    assert "/assets/*\n  Cache-Control: public, max-age=31536000, immutable" in headers


def test_static_hosts_are_told_of_the_precompressed_copies(site: Path) -> None:
    headers = (site / "_headers").read_text()
    assert "NAME.br (brotli) and NAME.gz (gzip)" in headers
    assert "  Vary: Accept-Encoding\n" in headers
    # Every rule line that is not a comment is a path or a header.
    for line in headers.splitlines():
        assert line.startswith(("#", "/", "  ")), line


def test_static_hosts_get_the_content_security_policy_and_hsts(site: Path) -> None:
    headers = (site / "_headers").read_text()
    assert f"  Content-Security-Policy: {page_policy(site)}\n" in headers
    assert "  Strict-Transport-Security: max-age=63072000; includeSubDomains\n" in headers


def test_the_policy_allows_exactly_the_pages_inline_scripts_by_hash(site: Path) -> None:
    page = (site / "index.html").read_text()
    policy = directives(page_policy(site))
    runnable = [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
        if "src=" not in attrs
        and 'type="application/json"' not in attrs
        and 'type="py"' not in attrs
    ]
    expected = {
        f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
        for b in runnable
    }
    assert runnable, "the page keeps one inline script (the view guess and action queue)"
    assert {source for source in policy["script-src"] if source.startswith("'sha256-")} == expected
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]


def test_an_auth_service_on_another_origin_is_the_only_other_place_the_page_may_connect_to(
    tmp_path: Path,
) -> None:
    built = build(tmp_path / "dist", PageConfig("app_build_test", "https://auth.example.com/v1"))
    assert directives(page_policy(built))["connect-src"] == ["'self'", "https://auth.example.com"]


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_the_npm_lockfile_pins_versions_without_download_urls() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/pyodide"]["version"] == "314.0.7"
    assert lock["packages"]["node_modules/@pyscript/core"]["version"] == "0.7.31"
    assert all("resolved" not in entry for entry in lock["packages"].values())
    assert all(entry.get("integrity") for name, entry in lock["packages"].items() if name)


def test_the_only_inline_script_guesses_the_view_queues_actions_and_loads_the_modules(
    site: Path,
) -> None:
    page = (site / "index.html").read_text()
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)

    assert len(inline) == 1
    assert "localStorage.getItem(config.storageKey)" in inline[0]
    assert "appActions" in inline[0]
    assert 'getElementById("app-modules")' in inline[0]
    # No module is in the page itself: the inline script loads them once the page has painted.
    markup = page.replace(inline[0], "")
    assert '<script type="module"' not in markup and "modulepreload" not in markup
    modules = json.loads(
        re.search(r'<script type="application/json" id="app-modules">(.*?)</script>', page)[1]
    )
    urls = [modules["boot"], *modules["preload"]]
    assert modules["boot"].rsplit("/", 1)[1].startswith("boot-")
    assert all((site / url).is_file() for url in urls)
    # Ours are content-hashed; PyScript's keep their names in a content-hashed folder.
    ours = [url for url in urls if "/pyscript-" not in url]
    assert len(ours) == 4 and all(HASHED_FILE.match(url.rsplit("/", 1)[1]) for url in ours)


def test_the_modules_name_the_snapshot_database_and_warm_up_list_from_python(site: Path) -> None:
    (store,) = (site / "assets").glob("snapshot-store-*.mjs")
    (maker,) = (site / "assets").glob("snapshot-maker-*.mjs")
    (runtime,) = [path for path in (site / "assets").glob("pyodide-*") if path.is_dir()]
    (archive,) = (site / "assets").glob("app-*.zip")
    rendered = [
        path.read_text()
        for pattern in ("boot-*.mjs", "snapshot-*.mjs")
        for path in (site / "assets").glob(pattern)
    ]

    assert f'DATABASE = "{SNAPSHOT_DATABASE}"' in store.read_text()
    # A snapshot is bound to the runtime and the app archive it was made with.
    assert f'SNAPSHOT_KEY = "{runtime.name}/{archive.name}"' in store.read_text()
    assert "preload.compile_sources(); preload.import_modules()" in maker.read_text()
    assert len(rendered) == 4
    for module in rendered:
        assert "{{" not in module
        assert not re.search(r"[\"'](?:https?:)?//", module)

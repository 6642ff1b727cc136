"""The dev server (`python3 build.py serve`) over real HTTP: types, headers, caching, compression."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

from harness.processes import Stack
from sitebuild.compression import ENCODINGS
from sitebuild.site import page_policy


@pytest.fixture(scope="module")
def stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(site, tmp_path_factory.mktemp("data")) as running:
        yield running


@pytest.fixture(scope="module")
def headerless(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Also the one served by several worker processes (`build.py serve --workers 2`)."""
    with Stack(site, tmp_path_factory.mktemp("data"), isolation=False, workers=2) as running:
        yield running


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def asset(site: Path, pattern: str) -> str:
    (path,) = [path for path in site.glob("assets/" + pattern) if path.suffix not in ENCODINGS]
    return "/" + path.relative_to(site).as_posix()


@pytest.mark.parametrize(
    ("pattern", "content_type"),
    [
        ("pyodide-*/pyodide.asm.wasm", "application/wasm"),
        ("pyodide-*/pyodide.mjs", "text/javascript; charset=utf-8"),
        ("pyscript-*/core.js", "text/javascript; charset=utf-8"),
        ("app-*.zip", "application/zip"),
    ],
)
def test_assets_are_served_with_the_types_pyodide_needs(
    stack: Stack, site: Path, pattern: str, content_type: str
) -> None:
    status, headers, _ = fetch(stack.url + asset(site, pattern), "HEAD")
    assert status == 200
    assert headers["content-type"] == content_type


def test_every_response_carries_the_isolation_headers(stack: Stack, site: Path) -> None:
    for path in ["/", asset(site, "pyodide-*/pyodide.asm.wasm"), "/coi-serviceworker.js"]:
        _, headers, _ = fetch(stack.url + path, "HEAD")
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert headers["cross-origin-embedder-policy"] == "require-corp"


def test_every_response_carries_the_content_security_policy_of_the_build(
    stack: Stack, site: Path
) -> None:
    for path in ["/", asset(site, "pyscript-*/core.js"), "/coi-serviceworker.js", "/missing"]:
        _, headers, _ = fetch(stack.url + path, "HEAD")
        assert headers["content-security-policy"] == page_policy(site)
    _, api_headers, _ = fetch(stack.url + "/v1/health")
    assert "content-security-policy" not in api_headers


def test_no_isolation_leaves_the_headers_out_as_a_plain_static_host(headerless: Stack) -> None:
    _, headers, _ = fetch(headerless.url + "/")
    assert "cross-origin-opener-policy" not in headers
    assert "cross-origin-embedder-policy" not in headers


def test_hashed_assets_are_immutable_and_the_page_is_revalidated(stack: Stack, site: Path) -> None:
    _, page_headers, _ = fetch(stack.url + "/")
    _, asset_headers, _ = fetch(stack.url + asset(site, "app-*.zip"))
    assert page_headers["cache-control"] == "no-cache"
    assert asset_headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_known_etag_gets_304_without_a_body(stack: Stack) -> None:
    _, headers, _ = fetch(stack.url + "/")
    status, _, body = fetch(stack.url + "/", **{"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        # What browsers send: brotli is the smaller.
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("gzip, br;q=0", "gzip"),
        ("", None),
    ],
)
def test_the_precompressed_file_the_client_accepts_is_sent(
    stack: Stack, site: Path, accept_encoding: str, coding: str | None
) -> None:
    path = asset(site, "pyodide-*/pyodide.asm.wasm")
    status, headers, body = fetch(stack.url + path, **{"Accept-Encoding": accept_encoding})
    assert status == 200 and headers.get("content-encoding") == coding
    assert headers["vary"] == "Accept-Encoding"
    decode = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding]
    assert decode(body) == (site / path.lstrip("/")).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/index.html.gz",
        "/index.html.br",
        "/nope.js",
    ],
)
def test_nothing_outside_the_site_is_served(stack: Stack, path: str) -> None:
    status, _, _ = fetch(stack.url + path)
    assert status == 404


def test_the_auth_service_answers_under_v1_on_the_same_origin(stack: Stack) -> None:
    status, _, body = fetch(stack.url + "/v1/health")
    assert status == 200 and b"ok" in body
    assert fetch(stack.url + "/", "POST")[0] == 405


def test_several_workers_serve_the_site_and_the_auth_service_on_a_database_they_migrated(
    headerless: Stack,
) -> None:
    client = headerless.client()
    credentials = {"username": "worker-user", "password": "correct horse battery"}

    client.new_user(credentials)
    client.start(credentials)

    assert fetch(headerless.url + "/")[0] == 200
    assert client.resume_stored().outcome == "resumed"
    assert headerless.output.count("Application startup complete.") == 2

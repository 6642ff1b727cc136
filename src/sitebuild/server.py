"""`serve`: the built site, the auth service and the application's example backend
(examples/app_backend) in one process, on one origin.

Static files come from Starlette's `StaticFiles` (streamed, ETag and 304, ranges); `SiteFiles` adds
what this site needs: the types Pyodide insists on, the isolation, security and cache headers from
`headers.py`, and the build's precompressed copies (`compression.py`): brotli for clients that
accept it, else gzip. Everything under the page's default auth URL (`/v1`) goes to the auth service,
everything under its default backend URL (`/api`) to the example backend, which verifies the
access tokens the page sends with the keys the auth service publishes (fetched over HTTP, as any
backend would).
"""

from __future__ import annotations

import importlib.util
import json
import os
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from webapp.config import DEFAULT_AUTH_URL, DEFAULT_BACKEND_URL

from .compression import ENCODINGS
from .headers import ISOLATION_HEADERS, SECURITY_HEADERS, cache_control
from .paths import ROOT
from .site import page_policy, read_page_config

if TYPE_CHECKING:
    from authservice import Settings

__all__ = [
    "CONTENT_TYPES",
    "SiteFiles",
    "accepted_codings",
    "combine",
    "create_stack_from_environment",
    "run",
]

CONTENT_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".py": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".whl": "application/zip",
}
AUTH_PREFIX = DEFAULT_AUTH_URL + "/"
BACKEND_PREFIX = DEFAULT_BACKEND_URL + "/"
# The example backend: its own folder, not a package of src/, so it is loaded from its file.
BACKEND_MODULE = ROOT / "examples" / "app_backend" / "app.py"
# Where `run` leaves the stack's configuration for its worker processes.
STACK_ENVIRONMENT = "SITEBUILD_STACK"


class SiteFiles(StaticFiles):
    """Serves a built `dist/` folder (GET and HEAD only)."""

    def __init__(self, root: Path, *, isolation: bool = True) -> None:
        super().__init__(directory=root, html=True)
        self.root = root
        self.isolation = isolation
        self.policy = page_policy(root)

    def __repr__(self) -> str:
        return f"SiteFiles({str(self.root)!r}, isolation={self.isolation})"

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            if path.endswith(tuple(ENCODINGS)):
                # The build's compressed copies are served as an encoding of their original only.
                raise HTTPException(status_code=404)
            response = await super().get_response(path, scope)
        except HTTPException as error:
            response = PlainTextResponse(
                f"{error.detail}\n", status_code=error.status_code, headers=error.headers
            )
        response.headers.update(self._site_headers(scope["path"]))
        return response

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        request_headers = Headers(scope=scope)
        media_type = _content_type(str(full_path))
        headers = {"Vary": "Accept-Encoding"}
        accepted = accepted_codings(request_headers.get("accept-encoding", ""))
        for suffix, coding in ENCODINGS.items():
            compressed = f"{full_path}{suffix}"
            if coding in accepted and os.path.isfile(compressed):
                full_path, stat_result = compressed, os.stat(compressed)
                headers["Content-Encoding"] = coding
                break
        # Each encoding has its own ETag, as the file's size and time differ.
        response = FileResponse(
            full_path,
            status_code=status_code,
            headers=headers,
            media_type=media_type,
            stat_result=stat_result,
        )
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response

    def _site_headers(self, url_path: str) -> dict[str, str]:
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": self.policy}
        if self.isolation:
            headers.update(ISOLATION_HEADERS)
        headers["Cache-Control"] = cache_control(url_path)
        return headers


def accepted_codings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header accepts (any with a q above 0).

    >>> sorted(accepted_codings("gzip, deflate, br;q=0.8, zstd;q=0"))
    ['br', 'deflate', 'gzip']
    """
    accepted = set()
    for part in header.split(","):
        coding, _, parameters = part.partition(";")
        quality = parameters.strip().removeprefix("q=") if "q=" in parameters else "1"
        try:
            if float(quality) > 0:
                accepted.add(coding.strip().lower())
        except ValueError:
            continue
    return accepted


def combine(site: ASGIApp, auth: ASGIApp, backend: ASGIApp | None = None) -> ASGIApp:
    """One ASGI app: the auth service and the application's backend where the page looks for them
    by default, the site elsewhere."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path == DEFAULT_AUTH_URL or path.startswith(AUTH_PREFIX):
            await auth(scope, receive, send)
        elif backend is not None and path.startswith(BACKEND_PREFIX):
            await backend(scope, receive, send)
        elif scope["type"] == "http":
            await site(scope, receive, send)

    return app


def create_backend(dist: Path, public_url: str) -> ASGIApp:
    """The example backend for the page built in `dist`, reached at `public_url`: it accepts the
    tokens of the auth service the page uses, for the page's application."""
    spec = importlib.util.spec_from_file_location("app_backend", BACKEND_MODULE)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the example backend from {BACKEND_MODULE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = read_page_config(dist)
    issuer = urllib.parse.urljoin(public_url + "/", config.auth_url)
    backend: ASGIApp = module.create_backend(
        issuer=issuer, audience=config.application_key, public_url=public_url
    )
    return backend


def run(
    dist: Path,
    settings: Settings,
    *,
    isolation: bool,
    host: str,
    port: int,
    workers: int = 1,
    quiet: bool = False,
) -> None:
    """Serve the site in `dist` and the auth service (`settings`) until Ctrl-C or SIGTERM, in
    `workers` processes; print the URL once listening (the real port when `port` is 0)."""
    # Here, not at the top: `build` imports this module and runs without the service's packages.
    from authservice.admin.serving import run_server

    os.environ[STACK_ENVIRONMENT] = json.dumps(
        {
            "dist": str(dist.resolve()),
            "isolation": isolation,
            "settings": settings.to_json(),
            "public_url": public_url(host, port),
        }
    )

    def announce(bound_host: str, bound_port: int) -> None:
        print(f"Serving on http://{bound_host}:{bound_port}/  (Ctrl-C stops)", flush=True)

    # proxy_headers=False: the auth service decides itself which proxy's X-Forwarded-For to believe.
    run_server(
        "sitebuild.server:create_stack_from_environment",
        host=host,
        port=port,
        workers=workers,
        announce=announce,
        log_level="warning" if quiet else "info",
        access_log=not quiet,
        proxy_headers=False,
    )


def create_stack_from_environment() -> ASGIApp:
    """uvicorn's factory in every process of `run`: the site and the auth service it configured.
    The service's security events (its audit log) go to the console, beside the access log."""
    from authservice import Settings, create_app
    from authservice.core.audit import configure_audit_log

    configure_audit_log(None)
    configuration = json.loads(os.environ[STACK_ENVIRONMENT])
    dist = Path(configuration["dist"])
    site = SiteFiles(dist, isolation=configuration["isolation"])
    auth = create_app(Settings.from_json(configuration["settings"]))
    return combine(site, auth, create_backend(dist, configuration["public_url"]))


def public_url(host: str, port: int) -> str:
    """Where the stack is reached: the address it listens on (no proxy fronts a dev server)."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _content_type(path: str) -> str | None:
    # None lets Starlette guess from the name.
    return CONTENT_TYPES.get(Path(path).suffix)

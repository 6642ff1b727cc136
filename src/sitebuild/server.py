"""`serve`: the built site and the auth service in one process, on one origin.

Static files come from Starlette's `StaticFiles` (streamed, ETag and 304, ranges); `SiteFiles` adds
what this site needs: the types Pyodide insists on, the isolation, security and cache headers from
`headers.py`, and the build's precompressed `.gz` copies for clients that accept gzip. Everything
under the page's default auth URL (`/v1`) goes to the auth service.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import uvicorn
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from webapp.config import DEFAULT_AUTH_URL

from .headers import ISOLATION_HEADERS, SECURITY_HEADERS, cache_control
from .site import page_policy

__all__ = ["CONTENT_TYPES", "SiteFiles", "combine", "run"]

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
COMPRESSED_SUFFIX = ".gz"
AUTH_PREFIX = DEFAULT_AUTH_URL + "/"


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
            if path.endswith(COMPRESSED_SUFFIX):
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
        compressed = f"{full_path}{COMPRESSED_SUFFIX}"
        if "gzip" in request_headers.get("accept-encoding", "") and os.path.isfile(compressed):
            full_path, stat_result = compressed, os.stat(compressed)
            headers["Content-Encoding"] = "gzip"
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


def combine(site: ASGIApp, auth: ASGIApp) -> ASGIApp:
    """One ASGI app: the auth service where the page looks for it by default, the site elsewhere."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path == DEFAULT_AUTH_URL or path.startswith(AUTH_PREFIX):
            await auth(scope, receive, send)
        elif scope["type"] == "http":
            await site(scope, receive, send)

    return app


def run(app: ASGIApp, *, host: str, port: int, quiet: bool = False) -> None:
    """Serve until Ctrl-C or SIGTERM; print the URL once listening (the real port when `port` is 0)."""
    # proxy_headers=False: the auth service decides itself which proxy's X-Forwarded-For to believe.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning" if quiet else "info",
        access_log=not quiet,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound_port = server.servers[0].sockets[0].getsockname()[1]
            print(f"Serving on http://{host}:{bound_port}/  (Ctrl-C stops)", flush=True)
        await serving

    asyncio.run(main())


def _content_type(path: str) -> str | None:
    # None lets Starlette guess from the name.
    return CONTENT_TYPES.get(Path(path).suffix)

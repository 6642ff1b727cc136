"""`serve`: the built site and the auth service in one process, on one origin.

Static files get the types Pyodide insists on, the isolation and cache headers from `headers.py`,
ETags (so a warm reload answers 304) and the build's precompressed `.gz` files. Everything under
`/v1` goes to the auth service.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
from email.utils import formatdate
from pathlib import Path
from typing import Any, Awaitable, Callable

import uvicorn

from .headers import ISOLATION_HEADERS, SECURITY_HEADERS, cache_control

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTH_PREFIX = "/v1"
CONTENT_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".toml": "text/plain; charset=utf-8",
    ".py": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}


class StaticSite:
    """Serves a built `dist/` folder (GET and HEAD only)."""

    def __init__(self, root: Path, *, isolation: bool = True) -> None:
        self.root = root.resolve()
        self.isolation = isolation
        self._etags: dict[tuple[Path, int, int], str] = {}

    def __repr__(self) -> str:
        return f"StaticSite({str(self.root)!r}, isolation={self.isolation})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"Method not allowed\n", {"Allow": "GET, HEAD"})
            return
        path = self._resolve(scope["path"])
        if path is None:
            await _respond(send, 404, b"Not found\n", self._base_headers(scope["path"]))
            return
        request_headers = _headers(scope)
        headers = self._base_headers(scope["path"])
        headers["Content-Type"] = _content_type(path)
        headers["Vary"] = "Accept-Encoding"
        stat = path.stat()
        etag = self._etag(path, stat)
        headers["ETag"] = etag
        headers["Last-Modified"] = formatdate(stat.st_mtime, usegmt=True)
        if request_headers.get("if-none-match") == etag:
            await _respond(send, 304, b"", headers)
            return
        body_path = path
        compressed = path.with_name(path.name + ".gz")
        if "gzip" in request_headers.get("accept-encoding", "") and compressed.is_file():
            body_path = compressed
            headers["Content-Encoding"] = "gzip"
        body = b"" if scope["method"] == "HEAD" else body_path.read_bytes()
        headers["Content-Length"] = str(body_path.stat().st_size)
        await _respond(send, 200, body, headers)

    def _resolve(self, url_path: str) -> Path | None:
        relative = url_path.lstrip("/") or "index.html"
        if relative.endswith("/"):
            relative += "index.html"
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file() or candidate.suffix == ".gz":
            return None
        return candidate

    def _base_headers(self, url_path: str) -> dict[str, str]:
        headers = dict(SECURITY_HEADERS)
        if self.isolation:
            headers.update(ISOLATION_HEADERS)
        headers["Cache-Control"] = cache_control(url_path)
        return headers

    def _etag(self, path: Path, stat: os.stat_result) -> str:
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._etags:
            self._etags[key] = '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:32] + '"'
        return self._etags[key]


def combine(site: ASGIApp, auth: ASGIApp) -> ASGIApp:
    """One ASGI app: `/v1/...` to the auth service, the rest to the static site."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await auth(scope, receive, send)
        elif scope["type"] == "http" and (
            scope["path"] == AUTH_PREFIX or scope["path"].startswith(AUTH_PREFIX + "/")
        ):
            await auth(scope, receive, send)
        elif scope["type"] == "http":
            await site(scope, receive, send)

    return app


def run(app: ASGIApp, *, host: str, port: int, quiet: bool = False) -> None:
    """Serve until Ctrl-C or SIGTERM; print the URL once listening (the real port when `port` is 0)."""
    # proxy_headers=False: the auth service decides itself which proxy's X-Forwarded-For to believe.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning" if quiet else "info", access_log=not quiet, proxy_headers=False
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


def _content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    if status != 304:
        # A HEAD response carries the length of the body it leaves out.
        headers = {"Content-Length": str(len(body)), **headers}
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})

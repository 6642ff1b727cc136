"""The HTTP headers the site needs, in one place: the dev server sends them and the build writes them
into `dist/_headers` (the format Netlify and Cloudflare Pages read) for static hosts."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse

from .assets import ASSETS_DIR

__all__ = [
    "HSTS",
    "IMMUTABLE",
    "ISOLATION_HEADERS",
    "REVALIDATE",
    "SECURITY_HEADERS",
    "cache_control",
    "content_security_policy",
    "static_host_headers_file",
]

# A PyScript worker reaches the page's DOM through SharedArrayBuffer, which needs cross-origin isolation.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Two years, the preload list's minimum. Browsers ignore it over plain HTTP, so the dev server on
# http://127.0.0.1 leaves it out; static hosts serve HTTPS and get it from `_headers`.
HSTS = "max-age=63072000; includeSubDomains"
# Hashed names change with their content, so they may be kept for a year; anything else is revalidated
# (ETag, 304) on every load.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Inline <script> elements that the browser runs: not those with a src, nor data blocks (JSON) or
# PyScript's own type="py" tags, which the browser does not execute as JavaScript.
_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)
_DATA_TYPES = re.compile(r'\btype="(?!module"|text/javascript")[^"]*"')


def content_security_policy(page_html: str, *connect_urls: str) -> str:
    """The page's policy: our own origin only, the inline scripts by hash, and the origins of
    `connect_urls` (the auth service's, the application's backend's) where they are absolute.

    Beyond `default-src 'self'` it allows only what the runtime needs, each for a reason:
    - 'wasm-unsafe-eval': Pyodide compiles WebAssembly.
    - 'unsafe-eval': PyScript 0.7's worker bootstrap calls `window.Function(...)` on the page (its
      `js_import`), and builds its hooks with `Function`; refused, PyScript leaves the worker without
      `window` and `document` and the app cannot start. Scripts still come only from this origin or
      the hashed inline ones, so no injected markup can run.
    - worker-src blob:: PyScript starts its worker from a blob: URL.
    - img-src data:: the empty favicon (`data:,`) that spares a request.
    Python on the page's main thread (static/boot.mjs's fallback where no worker can reach the page)
    needs nothing more: PyScript's main-thread bootstrap uses `Function` too, and `FetchTransport`
    connects to the same origins (tests/browser/test_browser_main_thread.py runs it under this policy).

    >>> policy = content_security_policy("<script>go()</script>", "https://auth.example/v1", "/api")
    >>> "connect-src 'self' https://auth.example;" in policy
    True
    """
    hashes = " ".join(f"'sha256-{_digest(body)}'" for body in inline_scripts(page_html))
    origins = dict.fromkeys(origin for url in connect_urls if (origin := _origin(url)))
    connect = " ".join(["'self'", *origins])
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval' {hashes}".rstrip(),
        "worker-src 'self' blob:",
        "img-src 'self' data:",
        f"connect-src {connect}",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    return "; ".join(directives)


def inline_scripts(page_html: str) -> list[str]:
    """The bodies of the page's inline scripts that a browser executes."""
    return [
        match["body"]
        for match in _INLINE_SCRIPT.finditer(page_html)
        if " src=" not in match["attrs"] and not _DATA_TYPES.search(match["attrs"])
    ]


def cache_control(path: str) -> str:
    return IMMUTABLE if path.lstrip("/").startswith(ASSETS_DIR + "/") else REVALIDATE


# Static hosts read `#` lines of `_headers` as comments.
PRECOMPRESSED_NOTE = """\
# Beside each file worth it, this folder holds NAME.br (brotli) and NAME.gz (gzip). A server that
# sends precompressed files (nginx: brotli_static and gzip_static on; Caddy: file_server with
# precompressed br gzip) sends the one the browser accepts, brotli first, with its Content-Encoding;
# hosts that compress by themselves can leave them. Either way the answer varies with
# Accept-Encoding.
"""


def static_host_headers_file(csp: str) -> str:
    every_response = {
        **ISOLATION_HEADERS,
        **SECURITY_HEADERS,
        "Content-Security-Policy": csp,
        "Strict-Transport-Security": HSTS,
        "Vary": "Accept-Encoding",
    }
    lines = [PRECOMPRESSED_NOTE + "/*"]
    lines += [f"  {name}: {value}" for name, value in every_response.items()]
    # Hosts merge the headers of every matching rule, so only the hashed assets get a Cache-Control.
    lines += [f"/{ASSETS_DIR}/*", f"  Cache-Control: {IMMUTABLE}"]
    return "\n".join(lines) + "\n"


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _origin(url: str) -> str | None:
    """The origin of an absolute URL; None for a path on the page's own origin."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None

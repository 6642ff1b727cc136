"""The HTTP headers the site needs, in one place: the dev server sends them and the build writes them
into `dist/_headers` (the format Netlify and Cloudflare Pages read) for static hosts."""

from __future__ import annotations

from .assets import ASSETS_DIR

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
# Hashed names change with their content, so they may be kept for a year; anything else is revalidated
# (ETag, 304) on every load.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def cache_control(path: str) -> str:
    return IMMUTABLE if path.lstrip("/").startswith(ASSETS_DIR + "/") else REVALIDATE


def static_host_headers_file() -> str:
    lines = ["/*"]
    lines += [
        f"  {name}: {value}" for name, value in {**ISOLATION_HEADERS, **SECURITY_HEADERS}.items()
    ]
    # Hosts merge the headers of every matching rule, so only the hashed assets get a Cache-Control.
    lines += [f"/{ASSETS_DIR}/*", f"  Cache-Control: {IMMUTABLE}"]
    return "\n".join(lines) + "\n"

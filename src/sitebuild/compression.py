"""Precompressed copies of the site's files, for servers that send them as they are: `name.br`
(brotli) and `name.gz` (gzip) beside each file worth it. The dev server picks one by the request's
`Accept-Encoding` (sitebuild/server.py); `_headers` tells static hosts (sitebuild/headers.py).

Brotli at its best setting takes the better part of a minute for the runtime's 9.6 MB of wasm, which
never changes from one build to the next: each brotli copy is kept in a cache of the repository
(`.cache/brotli/`, named after the content's hash), so a build compresses only what changed.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

import brotli

from .paths import ROOT

__all__ = ["COMPRESSIBLE", "ENCODINGS", "precompress"]

COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".wasm", ".zip", ".svg", ".py")
# Each copy's suffix and the Content-Encoding it is sent with, the server's preference first.
ENCODINGS = {".br": "br", ".gz": "gzip"}
# Smaller gains are not worth a second file.
MIN_COMPRESSION_GAIN = 0.9
CACHE = ROOT / ".cache" / "brotli"


def precompress(dist: Path, cache: Path = CACHE) -> None:
    """Write the compressed copies of every file of `dist` worth it."""
    compressors: dict[str, Callable[[bytes], bytes]] = {
        ".br": lambda content: _cached_brotli(content, cache),
        ".gz": lambda content: gzip.compress(content, compresslevel=9, mtime=0),
    }
    for path in sorted(dist.rglob("*")):
        if not path.is_file() or path.suffix not in COMPRESSIBLE:
            continue
        content = path.read_bytes()
        for suffix, compress in compressors.items():
            compressed = compress(content)
            if len(compressed) < len(content) * MIN_COMPRESSION_GAIN:
                path.with_name(path.name + suffix).write_bytes(compressed)


def _cached_brotli(content: bytes, cache: Path) -> bytes:
    kept = cache / f"{hashlib.sha256(content).hexdigest()}.br"
    if kept.exists():
        return kept.read_bytes()
    compressed: bytes = brotli.compress(content, quality=11)
    cache.mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed: two builds at once never read half a file.
    partial = kept.with_suffix(f".{id(content)}.part")
    partial.write_bytes(compressed)
    partial.replace(kept)
    return compressed

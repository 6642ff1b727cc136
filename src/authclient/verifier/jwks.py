"""The issuer's published keys (its JWKS, RFC 7517), fetched and kept: a verifier asks for a key
by its id, and the set is fetched again when it is older than `max_age_s` (so that a key the issuer
removed stops verifying) or when a token names a key it does not hold (a key added by a rotation),
but then at most once every `refetch_interval_s`, so that tokens with made-up ids cannot make the
verifier hammer the issuer.

The fetch is one function (`fetch(url, timeout_s) -> bytes`), urllib by default: tests and
frameworks with their own HTTP client pass theirs.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .errors import KeysUnavailable, UnknownKey
from .jose import public_key_from_jwk

__all__ = ["Fetch", "JwksCache", "fetch_url"]

Fetch = Callable[[str, float], bytes]
# A JWKS of a few keys is about 1 KiB.
_MAX_JWKS_BYTES = 256 * 1024


def fetch_url(url: str, timeout_s: float) -> bytes:
    """GET `url` with urllib; OSError (urllib's errors are OSErrors) if there is no 200 answer."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        data: bytes = response.read(_MAX_JWKS_BYTES + 1)
    if len(data) > _MAX_JWKS_BYTES:
        raise OSError(f"the JWKS at {url} is over {_MAX_JWKS_BYTES} bytes")
    return data


class JwksCache:
    """The keys of one JWKS, by `kid`. Safe to share between threads."""

    def __init__(
        self,
        url: str,
        *,
        max_age_s: float = 300.0,
        refetch_interval_s: float = 30.0,
        timeout_s: float = 5.0,
        fetch: Fetch = fetch_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.max_age_s = max_age_s
        self.refetch_interval_s = refetch_interval_s
        self.timeout_s = timeout_s
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, tuple[dict[str, Any], ec.EllipticCurvePublicKey]] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the JWKS was fetched (for tests and benchmarks)

    def __repr__(self) -> str:
        return f"JwksCache({self.url!r}, keys={sorted(self._keys)})"

    def key(self, kid: str) -> tuple[dict[str, Any], ec.EllipticCurvePublicKey]:
        """The JWK of key `kid` and the key itself. UnknownKey if the issuer publishes none by that
        id; KeysUnavailable if the JWKS cannot be fetched and none is kept."""
        with self._lock:
            now = self._clock()
            age = None if self._fetched_at is None else now - self._fetched_at
            if age is None or age >= self.max_age_s:
                self._refresh(now, keep_on_failure=age is not None)
            elif kid not in self._keys and age >= self.refetch_interval_s:
                self._refresh(now, keep_on_failure=True)
            found = self._keys.get(kid)
        if found is None:
            raise UnknownKey(f"The token's key {kid!r} is not one the issuer publishes.")
        return found

    def _refresh(self, now: float, *, keep_on_failure: bool) -> None:
        """Fetch the set again. A failure keeps the keys there were (an issuer that does not answer
        for a moment must not stop every request), and is tried again after the interval."""
        try:
            self.fetches += 1
            keys = _read_keys(self._fetch(self.url, self.timeout_s))
        except (OSError, ValueError, TypeError) as exc:
            if not keep_on_failure:
                raise KeysUnavailable(f"The issuer's keys could not be fetched ({exc}).") from exc
            self._fetched_at = now - self.max_age_s + self.refetch_interval_s
            return
        self._keys = keys
        self._fetched_at = now


def _read_keys(data: bytes) -> dict[str, tuple[dict[str, Any], ec.EllipticCurvePublicKey]]:
    """The usable keys of a JWKS, by id: ES256 signing keys; others are passed over."""
    document = json.loads(data)
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise TypeError("not a JWKS: no list of keys")
    usable = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
            continue
        try:
            usable[jwk["kid"]] = (jwk, public_key_from_jwk(jwk))
        except ValueError:
            continue
    return usable

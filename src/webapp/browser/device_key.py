"""The browser's device key as a `DeviceSigner` (authclient.proofs), for the app in a worker.

The key pair lives on the page's side (static/device-key.mjs): WebCrypto, non-extractable, kept
in IndexedDB. A worker asks for the public key and for signatures through PyScript's `sync`, which
blocks Python until the page's promise settles, so the client library stays synchronous. Python on
the main thread calls the same functions and waits for their promises through JSPI
(`AwaitedKeyFunctions`); without JSPI it cannot wait, and the app runs with no signer there, its
sessions unbound (`main`).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Protocol

__all__ = ["AwaitedKeyFunctions", "BrowserDeviceSigner", "PageKeyFunctions"]


class PageKeyFunctions(Protocol):
    """What boot.mjs hands the worker: static/device-key.mjs's functions, on PyScript's `sync`."""

    def devicePublicKey(self, name: str, create: bool) -> Any: ...

    def deviceSign(self, name: str, text: str) -> Any: ...


class AwaitedKeyFunctions:
    """The page's key functions called from Python on the main thread, where they give promises:
    each is waited for through JSPI (only in a call that Pyodide entered with JSPI, as the app's
    handlers are: see `fetch_transport`)."""

    def __init__(self, functions: Any) -> None:
        self._functions = functions

    def __repr__(self) -> str:
        return "AwaitedKeyFunctions()"

    def devicePublicKey(self, name: str, create: bool) -> Any:
        from pyodide.ffi import run_sync

        return run_sync(self._functions.devicePublicKey(name, create))

    def deviceSign(self, name: str, text: str) -> Any:
        from pyodide.ffi import run_sync

        return run_sync(self._functions.deviceSign(name, text))


class BrowserDeviceSigner:
    """The device key of this browser profile for the application `name`."""

    def __init__(self, page: PageKeyFunctions, name: str) -> None:
        self._page = page
        self._name = name
        self._public_key: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"BrowserDeviceSigner(name={self._name!r}, known={self._public_key is not None})"

    def public_key(self, *, create: bool) -> dict[str, str] | None:
        if self._public_key is None:
            text = self._page.devicePublicKey(self._name, create)
            # JavaScript's null arrives as None (or as a JsNull in newer Pyodides).
            if isinstance(text, str):
                self._public_key = json.loads(text)
        return self._public_key

    def sign(self, data: bytes) -> bytes | None:
        signature = self._page.deviceSign(self._name, data.decode("ascii"))
        if not isinstance(signature, str):  # null: this profile has no key (any more)
            return None
        return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))

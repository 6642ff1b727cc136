"""Where the session is kept between page loads: a string-only interface mirroring Web Storage.

`MemoryStorage` is the default. In a browser, `authclient.browser.WebStorage` wraps the page's
`localStorage` and `sessionStorage` (which the page hands over: this package imports nothing from
the browser); a `SessionClient` keeps a session in the one or the other, as the user chose with
"Keep me signed in" (`start(..., keep_signed_in=...)`), under the same key.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MemoryStorage", "Storage", "storage_key_for"]

_KEY_PREFIX = "sinchSession-"


def storage_key_for(application_key: str) -> str:
    """Where an application's session is kept, as the seed's SDK named it.

    >>> storage_key_for("app_123")
    'sinchSession-app_123'
    """
    return _KEY_PREFIX + application_key


class Storage(Protocol):
    def get_item(self, key: str) -> str | None: ...

    def set_item(self, key: str, value: str) -> None: ...

    def remove_item(self, key: str) -> None: ...


class MemoryStorage:
    """Kept in this process only; the default."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}

    def get_item(self, key: str) -> str | None:
        return self._items.get(key)

    def set_item(self, key: str, value: str) -> None:
        self._items[key] = str(value)

    def remove_item(self, key: str) -> None:
        self._items.pop(key, None)

    def __repr__(self) -> str:
        # Values are session objects with secrets: names only.
        return f"MemoryStorage(keys={sorted(self._items)})"

"""Storage: the Web Storage-shaped interface and its implementations."""

from __future__ import annotations

import pytest

from authclient import MemoryStorage, WebStorage, default_storage, local_storage


class JsLikeStorage:
    """Shaped like window.localStorage as Pyodide shows it: camelCase, null for a missing key."""

    def __init__(self, missing: object = None) -> None:
        self.items: dict[str, str] = {}
        self.missing = missing

    def getItem(self, key: str) -> object:  # noqa: N802 - the JS name
        return self.items.get(key, self.missing)

    def setItem(self, key: str, value: str) -> None:  # noqa: N802
        self.items[key] = value

    def removeItem(self, key: str) -> None:  # noqa: N802
        self.items.pop(key, None)


def test_memory_storage_sets_gets_and_removes() -> None:
    storage = MemoryStorage()
    assert storage.get_item("k") is None
    storage.set_item("k", "v")
    assert storage.get_item("k") == "v"
    storage.remove_item("k")
    storage.remove_item("k")
    assert storage.get_item("k") is None


def test_memory_storage_repr_shows_keys_not_values() -> None:
    storage = MemoryStorage()
    storage.set_item("sinchSession-app", '{"sessionSecret": "hush"}')
    assert "sinchSession-app" in repr(storage)
    assert "hush" not in repr(storage)


def test_web_storage_wraps_get_set_remove_item() -> None:
    js = JsLikeStorage()
    storage = WebStorage(js)
    storage.set_item("k", "v")
    assert js.items == {"k": "v"}
    assert storage.get_item("k") == "v"
    storage.remove_item("k")
    assert storage.get_item("k") is None


def test_web_storage_reads_a_js_null_that_is_not_none_as_missing() -> None:
    jsnull = type("JsNull", (), {})()  # newer Pyodide hands JS null over as pyodide.ffi.jsnull
    assert WebStorage(JsLikeStorage(missing=jsnull)).get_item("absent") is None


def test_default_storage_outside_the_browser_is_memory() -> None:
    assert isinstance(default_storage(), MemoryStorage)


def test_local_storage_needs_the_browser() -> None:
    with pytest.raises(ImportError):
        local_storage()

"""Storage: the Web Storage-shaped interface and its implementations."""

from __future__ import annotations

from authclient import MemoryStorage, SessionClient
from authclient.browser import WebStorage
from tests.support.isolation import run_without


class JsLikeStorage:
    """Shaped like window.localStorage as Pyodide shows it: camelCase, null for a missing key."""

    def __init__(self, missing: object = None) -> None:
        self.items: dict[str, str] = {}
        self.missing = missing

    def getItem(self, key: str) -> object:
        return self.items.get(key, self.missing)

    def setItem(self, key: str, value: str) -> None:
        self.items[key] = value

    def removeItem(self, key: str) -> None:
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


def test_a_client_without_storage_keeps_its_session_in_memory() -> None:
    client = SessionClient("app_123", "https://example.com/v1")

    assert isinstance(client.storage, MemoryStorage)
    assert client.storage_key == "sinchSession-app_123"


def test_the_library_imports_nothing_from_the_browser() -> None:
    browser = ("js", "pyodide", "pyodide.ffi", "pyscript", "pyodide_http")
    done = run_without(browser, "import authclient, authclient.browser\nfrom authclient import *\n")

    assert done.returncode == 0, done.stderr

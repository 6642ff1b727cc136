"""Pyodide memory snapshots: a first visit boots as usual and then, in a worker of ours, keeps a
snapshot of this build in Cache Storage; later visits start from it; a damaged one is dropped."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sitebuild.browser_pages import wait_until_ready
from sitebuild.processes import Stack
from sitebuild.site import SNAPSHOT_CACHE_NAME
from tests.support.browser import Recorder

# What the loader (static/snapshot-loader.mjs) logs, from the Python worker, when it used a snapshot.
STARTED_FROM_SNAPSHOT = "Pyodide started from its memory snapshot"
# A gzipped snapshot is about 7 MB.
MIN_SNAPSHOT_BYTES = 1_000_000


def snapshot_key(stack: Stack, dist: Path) -> str:
    """The entry of this build: named after the hashed runtime folder and the hashed app archive."""
    (runtime,) = [path for path in (dist / "assets").glob("pyodide-*") if path.is_dir()]
    (archive,) = (dist / "assets").glob("app-*.zip")
    return f"{stack.url}/assets/pyodide-snapshot/{runtime.name}/{archive.name}"


def snapshot_outcome(page: Page) -> str:
    """What the page's snapshot maker did after Python was ready: made, present, busy, ..."""
    page.wait_for_selector("html[data-pyodide-snapshot]", state="attached")
    return page.evaluate("document.documentElement.dataset.pyodideSnapshot")


def cached_entries(page: Page) -> dict[str, int]:
    """The snapshot cache's entries and their sizes in bytes."""
    return page.evaluate(
        """async (name) => {
            const cache = await caches.open(name);
            const entries = {};
            for (const request of await cache.keys()) {
                entries[request.url] = (await (await cache.match(request)).arrayBuffer()).byteLength;
            }
            return entries;
        }""",
        SNAPSHOT_CACHE_NAME,
    )


def store_in_cache(page: Page, key: str, body_js: str) -> None:
    """Replace the entry at `key` by `new Response(<body_js>)`; `stored` holds its bytes so far."""
    page.evaluate(
        f"""async ([name, key]) => {{
            const cache = await caches.open(name);
            const stored = new Uint8Array(await (await cache.match(key)).arrayBuffer());
            await cache.put(key, new Response({body_js}));
        }}""",
        [SNAPSHOT_CACHE_NAME, key],
    )


def started_from_snapshot(recorder: Recorder) -> bool:
    return any(STARTED_FROM_SNAPSHOT in message.text for message in recorder.console)


def create_account(page: Page) -> str:
    username = f"snap-{uuid.uuid4().hex[:10]}"
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    page.locator("#app > [data-view=signed-in]").wait_for()
    return username


def test_the_first_visit_keeps_a_snapshot_and_the_next_visits_start_from_it_with_the_app_working(
    stack: Stack, dist: Path, page: Page, recorder: Recorder
) -> None:
    key = snapshot_key(stack, dist)
    page.goto(stack.url + "/")
    wait_until_ready(page)

    # The first visit boots as before and downloads no snapshot; once Python is ready, one is made.
    assert not started_from_snapshot(recorder)
    assert [
        request.url for request in recorder.requests if "/pyodide-snapshot/" in request.url
    ] == []
    assert snapshot_outcome(page) == "made"
    entries = cached_entries(page)
    assert list(entries) == [key]
    assert entries[key] > MIN_SNAPSHOT_BYTES

    recorder.clear()
    page.reload()
    wait_until_ready(page)
    assert started_from_snapshot(recorder)
    username = create_account(page)
    expect(page.locator("[data-field=user-id]")).to_have_text(username)

    recorder.clear()
    page.reload()
    expect(page.locator("[data-field=origin]")).to_have_text("Resumed from your last visit")
    expect(page.locator("[data-field=user-id]")).to_have_text(username)
    assert started_from_snapshot(recorder)
    # The maker found this build's snapshot and left it alone.
    assert snapshot_outcome(page) == "present"
    assert list(cached_entries(page)) == [key]
    assert recorder.foreign_requests(stack.url) == []
    assert recorder.console_errors() == []


@pytest.mark.parametrize(
    "damage",
    {
        "bytes changed": "stored.map((byte, i) => (i > 1000000 && i < 1000100 ? byte ^ 0x55 : byte))",
        # Intact gzip, but not what Pyodide wrote.
        "not a snapshot": "new Blob([new Uint8Array(4e6)]).stream().pipeThrough(new CompressionStream('gzip'))",
    }.items(),
    ids=lambda item: item[0],
)
def test_a_damaged_snapshot_is_dropped_and_python_starts_as_usual(
    damage: tuple[str, str], stack: Stack, dist: Path, page: Page, recorder: Recorder
) -> None:
    key = snapshot_key(stack, dist)
    page.goto(stack.url + "/")
    wait_until_ready(page)
    assert snapshot_outcome(page) == "made"
    store_in_cache(page, key, damage[1])

    recorder.clear()
    page.reload()
    wait_until_ready(page)

    expect(page.locator("#app > [data-view=login]")).to_be_visible()
    assert not started_from_snapshot(recorder)
    assert any(
        message.type == "warning" and "snapshot" in message.text for message in recorder.console
    )
    assert recorder.console_errors() == []
    # The damaged entry was deleted: the maker found none, and made a good one again.
    assert snapshot_outcome(page) == "made"
    assert cached_entries(page)[key] > MIN_SNAPSHOT_BYTES


def test_the_service_worker_fallback_starts_from_the_snapshot_too(
    headerless_stack: Stack, dist: Path, page: Page, recorder: Recorder
) -> None:
    page.goto(headerless_stack.url + "/")
    wait_until_ready(page)
    assert snapshot_outcome(page) == "made"
    assert list(cached_entries(page)) == [snapshot_key(headerless_stack, dist)]

    recorder.clear()
    page.reload()
    wait_until_ready(page)

    assert started_from_snapshot(recorder)
    assert (
        page.evaluate("crossOriginIsolated && navigator.serviceWorker.controller !== null") is True
    )
    expect(page.locator("#app > [data-view=login]")).to_be_visible()
    assert recorder.console_errors() == []


def test_one_tab_makes_the_snapshot_when_two_open_at_once(
    stack: Stack, new_page: Callable[[], Page]
) -> None:
    pages = [new_page(), new_page()]
    for page in pages:
        page.goto(stack.url + "/")
    for page in pages:
        wait_until_ready(page)

    # The other tab either waited out the first one's lock ("busy") or found its snapshot ("present").
    outcomes = sorted(snapshot_outcome(page) for page in pages)
    assert outcomes in (["busy", "made"], ["made", "present"])

"""Pyodide memory snapshots: a first visit boots as usual and then, in a worker of ours, keeps a
snapshot of this build in IndexedDB; later visits start from it; a damaged one is dropped."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from harness.browser_pages import wait_until_ready
from harness.processes import Stack, free_port
from sitebuild.site import SNAPSHOT_DATABASE
from tests.support.browser import Recorder
from tests.support.builds import site_with_changed_app_archive

# What the loader (static/snapshot-loader.mjs) logs, from the Python worker, when it used a snapshot.
STARTED_FROM_SNAPSHOT = "Pyodide started from its memory snapshot"
# A snapshot is about 31 MB.
MIN_SNAPSHOT_BYTES = 10_000_000
# The page's snapshots database, opened as the loader opens it (`db` in the functions below).
OPEN_DATABASE = """const db = await new Promise((resolve, reject) => {
    const opening = indexedDB.open(name, 1);
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
});
const inStore = (mode, action) => new Promise((resolve, reject) => {
    const transaction = db.transaction("snapshots", mode);
    const pending = action(transaction.objectStore("snapshots"));
    transaction.oncomplete = () => resolve(pending.result);
    transaction.onerror = () => reject(transaction.error);
});"""


def snapshot_key(dist: Path) -> str:
    """The entry of this build: named after the hashed runtime folder and the hashed app archive."""
    (runtime,) = [path for path in (dist / "assets").glob("pyodide-*") if path.is_dir()]
    (archive,) = (dist / "assets").glob("app-*.zip")
    return f"{runtime.name}/{archive.name}"


def snapshot_outcome(page: Page) -> str:
    """What the page's snapshot maker did after Python was ready: made, present, busy, ..."""
    page.wait_for_selector("html[data-pyodide-snapshot]", state="attached")
    return page.evaluate("document.documentElement.dataset.pyodideSnapshot")


def stored_snapshots(page: Page) -> dict[str, int]:
    """The snapshots database's entries and the sizes of their snapshots in bytes."""
    return page.evaluate(
        f"""async (name) => {{
            {OPEN_DATABASE}
            const keys = await inStore("readonly", (store) => store.getAllKeys());
            const entries = {{}};
            for (const key of keys) {{
                entries[key] = (await inStore("readonly", (store) => store.get(key))).snapshot.size;
            }}
            db.close();
            return entries;
        }}""",
        SNAPSHOT_DATABASE,
    )


def replace_snapshot(page: Page, key: str, record_js: str) -> None:
    """Replace the record at `key` by `<record_js>`, in which `old` is the record and `stored` its
    snapshot's bytes."""
    page.evaluate(
        f"""async ([name, key]) => {{
            {OPEN_DATABASE}
            const old = await inStore("readonly", (store) => store.get(key));
            const stored = new Uint8Array(await old.snapshot.arrayBuffer());
            await inStore("readwrite", (store) => store.put({record_js}, key));
            db.close();
        }}""",
        [SNAPSHOT_DATABASE, key],
    )


def started_from_snapshot(recorder: Recorder) -> bool:
    return any(STARTED_FROM_SNAPSHOT in message.text for message in recorder.console)


def reload_until_ready(page: Page, recorder: Recorder) -> None:
    """Reload with a fresh record of the console, until Python is ready."""
    recorder.clear()
    page.reload()
    wait_until_ready(page)


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
    key = snapshot_key(dist)
    page.goto(stack.url + "/")
    wait_until_ready(page)

    # The first visit boots as before; once Python is ready, a snapshot is made.
    assert not started_from_snapshot(recorder)
    assert snapshot_outcome(page) == "made"
    entries = stored_snapshots(page)
    assert list(entries) == [key]
    assert entries[key] > MIN_SNAPSHOT_BYTES

    reload_until_ready(page, recorder)
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
    assert list(stored_snapshots(page)) == [key]
    assert recorder.foreign_requests(stack.url) == []
    assert recorder.console_errors() == []


@pytest.mark.parametrize(
    "damage",
    {
        "cut short": "{...old, snapshot: new Blob([stored.subarray(0, 20000000)])}",
        "its files lost": "{...old, files: new Blob([])}",
        # Pyodide checks the header: a snapshot starts with its magic number and the build's id.
        "not a snapshot": "{snapshot: new Blob([new Uint8Array(4e6)]), size: 4e6}",
        "another runtime's": "{...old, snapshot: new Blob([stored.map((byte, i) => "
        "(i >= 16 && i < 48 ? byte ^ 0x55 : byte))])}",
    }.items(),
    ids=lambda item: item[0],
)
def test_a_damaged_snapshot_is_dropped_and_python_starts_as_usual(
    damage: tuple[str, str], stack: Stack, dist: Path, page: Page, recorder: Recorder
) -> None:
    key = snapshot_key(dist)
    page.goto(stack.url + "/")
    wait_until_ready(page)
    assert snapshot_outcome(page) == "made"
    replace_snapshot(page, key, damage[1])

    reload_until_ready(page, recorder)

    expect(page.locator("#app > [data-view=login]")).to_be_visible()
    assert not started_from_snapshot(recorder)
    assert any(
        message.type == "warning" and "snapshot" in message.text for message in recorder.console
    )
    assert recorder.console_errors() == []
    # The damaged entry was deleted: the maker found none, and made a good one again.
    assert snapshot_outcome(page) == "made"
    assert stored_snapshots(page)[key] > MIN_SNAPSHOT_BYTES


def test_a_start_from_a_snapshot_that_fails_drops_the_snapshot(
    stack: Stack, dist: Path, page: Page, recorder: Recorder
) -> None:
    page.goto(stack.url + "/")
    wait_until_ready(page)
    assert snapshot_outcome(page) == "made"

    # The same build, whose Python now fails as it starts (from the snapshot).
    broken_entry = "**/assets/main-*.py"
    page.route(broken_entry, lambda route: route.fulfill(body="raise RuntimeError('broken')"))
    recorder.clear()
    page.reload()
    page.wait_for_selector("html[data-python=failed]", state="attached")
    assert started_from_snapshot(recorder)
    page.wait_for_function(
        f"""async (name) => {{
            {OPEN_DATABASE}
            const keys = await inStore("readonly", (store) => store.getAllKeys());
            db.close();
            return keys.length === 0;
        }}""",
        arg=SNAPSHOT_DATABASE,
        polling=100,
    )

    # Fixed: the next start is a plain one, which keeps a snapshot again.
    page.unroute(broken_entry)
    reload_until_ready(page, recorder)
    assert not started_from_snapshot(recorder)
    assert snapshot_outcome(page) == "made"
    assert list(stored_snapshots(page)) == [snapshot_key(dist)]


def test_a_new_build_starts_without_the_snapshot_of_the_one_before_and_replaces_it(
    dist: Path, tmp_path: Path, page: Page, recorder: Recorder
) -> None:
    next_build = site_with_changed_app_archive(dist, tmp_path)
    port = free_port()
    with Stack(dist, tmp_path / "data", port=port) as stack:
        page.goto(stack.url + "/")
        wait_until_ready(page)
        assert snapshot_outcome(page) == "made"

    # The next build, deployed at the same address.
    with Stack(next_build, tmp_path / "data", port=port) as stack:
        recorder.clear()
        page.goto(stack.url + "/")
        wait_until_ready(page)
        assert not started_from_snapshot(recorder)
        assert snapshot_outcome(page) == "made"
        assert list(stored_snapshots(page)) == [snapshot_key(next_build)]

        reload_until_ready(page, recorder)
        assert started_from_snapshot(recorder)
    assert recorder.console_errors() == []


def test_the_service_worker_fallback_starts_from_the_snapshot_too(
    headerless_stack: Stack, dist: Path, page: Page, recorder: Recorder
) -> None:
    page.goto(headerless_stack.url + "/")
    wait_until_ready(page)
    assert snapshot_outcome(page) == "made"
    assert list(stored_snapshots(page)) == [snapshot_key(dist)]

    reload_until_ready(page, recorder)

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

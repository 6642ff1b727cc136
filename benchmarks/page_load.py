"""Page-load figures in real browsers, per engine: how long until Python is ready, cold and warm
(from the Pyodide memory snapshot and without it); in Chromium also how long a stored session takes
to resume, what a first visit transfers, and the page's memory.

    .venv/bin/python benchmarks/page_load.py [--runs 5] [--engine chromium|firefox|all]
                                             [--no-isolation] [--dist DIR]

Chromium is Debian's, driven by Playwright; Firefox is Debian's firefox-esr over WebDriver BiDi
(src/sitebuild/firefox.py). Each run starts from a fresh profile: a cold load, then warm reloads with
the HTTP cache filled. A first visit makes a Pyodide memory snapshot once Python is ready
(static/snapshot-loader.mjs); warm reloads are measured both from it and without it (the snapshot
cache deleted first). `--dist` measures another build, e.g. an older one kept aside, for a
before/after comparison.

Run it after `python3 build.py build`. It prints figures; it asserts nothing (timings on a shared
2-core machine are noisy: compare runs made one after the other).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from playwright.sync_api import Page, Request, sync_playwright

from sitebuild.browser_pages import store_value, wait_until_ready
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from sitebuild.firefox import Firefox, FirefoxPage
from sitebuild.paths import DIST
from sitebuild.processes import Stack
from sitebuild.python_start import PYTHON_READY
from sitebuild.site import SNAPSHOT_CACHE_NAME

SNAPSHOT_DONE = "html[data-pyodide-snapshot]"
READ_SNAPSHOT_OUTCOME = "document.documentElement.dataset.pyodideSnapshot"
DELETE_SNAPSHOTS = "name => caches.delete(name)"
# Generous: a cold start on a busy machine, or the snapshot maker, can take a minute.
WAIT_MS = 120_000
COLD = "cold load to Python ready"
SNAPSHOT_MADE = "snapshot made, after Python ready"
WARM_PLAIN = "warm reload to Python ready, no snapshot"
WARM = "warm reload to Python ready, from the snapshot"
WARM_ONLY = "warm reload to Python ready"
RESUME = "warm load with a stored session to signed in"
TRANSFERRED = "first visit transferred (compressed), MB"

Figures = dict[str, list[float]]


def seconds(action: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started


def measure_chromium(stack: Stack, runs: int, snapshots: bool) -> tuple[Figures, float]:
    """The figures, and the page's memory after the last resume (bytes, all threads)."""
    figures: Figures = {}
    memory = 0.0
    url = stack.url + "/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)

        def open_page(page: Page, selector: str) -> None:
            page.goto(url)
            page.wait_for_selector(selector, state="attached", timeout=WAIT_MS)

        def load(page: Page, selector: str = PYTHON_READY) -> float:
            return seconds(open_page, page, selector)

        def snapshot_outcome(page: Page) -> str:
            page.wait_for_selector(SNAPSHOT_DONE, state="attached", timeout=WAIT_MS)
            return str(page.evaluate(READ_SNAPSHOT_OUTCOME))

        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            sizes: list[int] = []
            page.on("requestfinished", _recorder_of_sizes(sizes))
            figures.setdefault(COLD, []).append(load(page))
            figures.setdefault(TRANSFERRED, []).append(sum(sizes) / 1e6)
            if snapshots:
                figures.setdefault(SNAPSHOT_MADE, []).append(seconds(snapshot_outcome, page))
                # As before snapshots: the maker makes it again after this load.
                page.evaluate(DELETE_SNAPSHOTS, SNAPSHOT_CACHE_NAME)
                figures.setdefault(WARM_PLAIN, []).append(load(page))
                snapshot_outcome(page)
            figures.setdefault(WARM if snapshots else WARM_ONLY, []).append(load(page))

            store_value(page, stack.storage_key, json.dumps(signed_in_session(stack)))
            figures.setdefault(RESUME, []).append(load(page, "#app > [data-view=signed-in]"))
            wait_until_ready(page)
            if snapshots:
                snapshot_outcome(page)
            memory = page.evaluate(
                "performance.measureUserAgentSpecificMemory().then(m => m.bytes)"
            )
            context.close()
        browser.close()
    return figures, memory


def measure_firefox(stack: Stack, runs: int, snapshots: bool) -> Figures:
    figures: Figures = {}
    url = stack.url + "/"
    timeout_s = WAIT_MS / 1000

    def open_page(page: FirefoxPage) -> None:
        page.goto(url)
        page.wait_until_ready(timeout_s)

    def load(page: FirefoxPage) -> float:
        return seconds(open_page, page)

    def wait_for_snapshot(page: FirefoxPage) -> None:
        page.wait_for(SNAPSHOT_DONE, "attached", timeout_s)

    with closing(Firefox()) as firefox:
        for _ in range(runs):
            context = firefox.new_context()
            page = context.new_page()
            figures.setdefault(COLD, []).append(load(page))
            if snapshots:
                figures.setdefault(SNAPSHOT_MADE, []).append(seconds(wait_for_snapshot, page))
                page.evaluate(DELETE_SNAPSHOTS, SNAPSHOT_CACHE_NAME)
                figures.setdefault(WARM_PLAIN, []).append(load(page))
                wait_for_snapshot(page)
            figures.setdefault(WARM if snapshots else WARM_ONLY, []).append(load(page))
            context.close()
    return figures


def signed_in_session(stack: Stack) -> dict[str, object]:
    """A session started by the real client, as if the page had saved it on an earlier visit."""
    client = stack.client()
    credentials = {"username": f"bench-{uuid.uuid4().hex[:8]}", "password": "benchmark password"}
    client.new_user(credentials)
    return client.start(credentials)


def _recorder_of_sizes(sizes: list[int]) -> Callable[[Request], None]:
    def record(request: Request) -> None:
        sizes.append(request.sizes()["responseBodySize"])

    return record


def print_figures(title: str, figures: Figures) -> None:
    print(title)
    for name, values in figures.items():
        unit = "" if name.endswith("MB") else " s"
        print(
            f"  {name:<48} median {statistics.median(values):7.2f}{unit}"
            f"   min {min(values):7.2f}   max {max(values):7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engine", choices=["chromium", "firefox", "all"], default="all")
    parser.add_argument(
        "--no-isolation", action="store_true", help="through the service-worker fallback"
    )
    parser.add_argument(
        "--dist", type=Path, default=DIST, help="the built site to measure (default: dist/)"
    )
    args = parser.parse_args()
    # Older builds named the snapshot maker in index.html itself, newer ones in their boot module.
    pages = [args.dist / "index.html", *(args.dist / "assets").glob("boot-*.mjs")]
    snapshots = any("snapshot-maker" in path.read_text() for path in pages)
    mode = "service-worker fallback" if args.no_isolation else "isolation headers"
    print(f"page load, {mode}, {args.runs} runs, {args.dist}")

    with (
        tempfile.TemporaryDirectory() as data_dir,
        Stack(args.dist, Path(data_dir), isolation=not args.no_isolation) as stack,
    ):
        if args.engine in ("chromium", "all"):
            figures, memory = measure_chromium(stack, args.runs, snapshots)
            print_figures("Chromium", figures)
            print(f"  {'page memory after resume (all threads), MB':<48} {memory / 1e6:7.1f}")
        if args.engine in ("firefox", "all"):
            print_figures("Firefox", measure_firefox(stack, args.runs, snapshots))


if __name__ == "__main__":
    main()

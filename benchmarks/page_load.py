"""Page-load figures in a real Chromium: how long until Python is ready, cold and warm, how long a
stored session takes to resume, what a first visit transfers, and the page's memory.

    .venv/bin/python benchmarks/page_load.py [--runs 5] [--no-isolation] [--dist DIR]

A first visit makes a Pyodide memory snapshot once Python is ready (static/snapshot-loader.mjs); warm
reloads are measured both from it and without it (the snapshot cache deleted first). `--dist` measures
another build, e.g. an older one kept aside, for a before/after comparison.

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
from pathlib import Path

from playwright.sync_api import Page, Request, sync_playwright

from sitebuild.browser_pages import store_value, wait_until_ready
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from sitebuild.paths import DIST
from sitebuild.processes import Stack
from sitebuild.site import SNAPSHOT_CACHE_NAME

SNAPSHOT_DONE = "html[data-pyodide-snapshot]"


def seconds_until(page: Page, url: str, selector: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector, state="attached", timeout=120_000)
    return time.perf_counter() - started


def snapshot_outcome(page: Page) -> str:
    """What the page's snapshot maker did once Python was ready: made, present, busy, ..."""
    page.wait_for_selector(SNAPSHOT_DONE, state="attached", timeout=120_000)
    return str(page.evaluate("document.documentElement.dataset.pyodideSnapshot"))


def _recorder_of_sizes(sizes: list[int]) -> Callable[[Request], None]:
    def record(request: Request) -> None:
        sizes.append(request.sizes()["responseBodySize"])

    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-isolation", action="store_true", help="through the service-worker fallback"
    )
    parser.add_argument(
        "--dist", type=Path, default=DIST, help="the built site to measure (default: dist/)"
    )
    args = parser.parse_args()
    snapshots = "snapshot-maker" in (args.dist / "index.html").read_text()

    with (
        tempfile.TemporaryDirectory() as data_dir,
        Stack(args.dist, Path(data_dir), isolation=not args.no_isolation) as stack,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
        url = stack.url + "/"
        ready = "html[data-python=ready]"
        cold, warm, warm_plain, made, resume, transferred = [], [], [], [], [], []
        for _ in range(args.runs):
            context = browser.new_context()
            page = context.new_page()
            sizes: list[int] = []
            page.on("requestfinished", _recorder_of_sizes(sizes))
            cold.append(seconds_until(page, url, ready))
            transferred.append(sum(sizes))
            if snapshots:
                started = time.perf_counter()
                snapshot_outcome(page)
                made.append(time.perf_counter() - started)
                # As before snapshots: the maker makes it again after this load.
                page.evaluate("name => caches.delete(name)", SNAPSHOT_CACHE_NAME)
                warm_plain.append(seconds_until(page, url, ready))
                snapshot_outcome(page)
            warm.append(seconds_until(page, url, ready))

            client = stack.client()
            credentials = {
                "username": f"bench-{uuid.uuid4().hex[:8]}",
                "password": "benchmark password",
            }
            client.new_user(credentials)
            session = client.start(credentials)
            store_value(page, stack.storage_key, json.dumps(session))
            resume.append(seconds_until(page, url, "#app > [data-view=signed-in]"))
            wait_until_ready(page)
            if snapshots:
                snapshot_outcome(page)
            memory = page.evaluate(
                "performance.measureUserAgentSpecificMemory().then(m => m.bytes)"
            )
            context.close()
        browser.close()

    def line(name: str, values: list[float], unit: str = "s") -> None:
        print(
            f"{name:<48} median {statistics.median(values):7.2f} {unit}   min {min(values):7.2f}   max {max(values):7.2f}"
        )

    mode = "service-worker fallback" if args.no_isolation else "isolation headers"
    print(f"page load, {mode}, {args.runs} runs, {args.dist}")
    line("cold load to Python ready", cold)
    if snapshots:
        line("snapshot made, after Python ready", made)
        line("warm reload to Python ready, no snapshot", warm_plain)
        line("warm reload to Python ready, from the snapshot", warm)
    else:
        line("warm reload to Python ready", warm)
    line("warm load with a stored session to signed in", resume)
    line("first visit transferred (compressed)", [size / 1e6 for size in transferred], "MB")
    print(f"{'page memory after resume (all threads)':<48} {memory / 1e6:7.1f} MB")


if __name__ == "__main__":
    main()

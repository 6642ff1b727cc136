"""Lighthouse's four category scores for the page: a first visit (the login form) and a returning
visit, signed in (the session resumed).

    .venv/bin/python benchmarks/lighthouse.py [--preset mobile|desktop] [--dist DIR]

Lighthouse is npm's, pinned in package.json (12.2.3: 13 needs Node 22), and runs against Debian's
Chromium, started here with a debugging port and a profile of its own (Lighthouse's own launcher
would give each run an empty profile). The first visit is Lighthouse's default, with the origin's
storage and cache cleared first; then Playwright, in the same browser, creates an account and waits
for the Pyodide snapshot (what a visitor's browser keeps after a first visit); the returning visit is
measured with storage kept (`--disable-storage-reset`), so the page resumes the session and shows
the signed-in view. Every audit of a category that does not score full marks is named under its
score; the session resumes Lighthouse saw, and the page as it audited it (its full-page screenshot,
in screenshots/ by default), say which view was measured.

Run it after `python3 build.py build`. It prints figures and asserts nothing; performance, on a busy
2-core machine with Lighthouse's simulated mobile throttling, moves between runs.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from harness.browser_pages import wait_until_ready
from harness.processes import Stack, free_port
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from sitebuild.paths import DIST, NODE_MODULES, ROOT

LIGHTHOUSE = NODE_MODULES / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PASSWORD = "benchmark password"
SIGNED_IN = "#app > [data-view=signed-in]"
SNAPSHOT_DONE = "html[data-pyodide-snapshot]"
RESUME = "/v1/sessions/resume"
# A first visit on 2 busy cores: Pyodide, the app and the snapshot take a while.
WAIT_MS = 120_000
# Lighthouse's defaults, but it looks at the page only once Python has had time to draw its view:
# its own wait (load, then a second of quiet) ends while Python is still starting, and the page
# still says "Resuming your session…". (Python's requests are a worker's, which it does not count.)
LIGHTHOUSE_CONFIG = {
    "extends": "lighthouse:default",
    "settings": {"pauseAfterLoadMs": 8000, "maxWaitForLoad": 60_000},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("mobile", "desktop"), default="mobile")
    parser.add_argument("--dist", type=Path, default=DIST)
    parser.add_argument(
        "--screens", type=Path, default=ROOT / "screenshots", help="where the audited pages go"
    )
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: run `python3 build.py build` (it runs npm ci)")

    with (
        tempfile.TemporaryDirectory() as scratch,
        Stack(args.dist, Path(scratch) / "data") as stack,
        chromium(Path(scratch) / "profile") as port,
    ):
        url = stack.url + "/"
        config = Path(scratch) / "lighthouse.json"
        config.write_text(json.dumps(LIGHTHOUSE_CONFIG))
        first = lighthouse(url, port, args.preset, config, keep_storage=False)
        sign_in(port, url)
        returning = lighthouse(url, port, args.preset, config, keep_storage=True)

    print(f"Lighthouse {lighthouse_version()}, {args.preset}, {args.dist}")
    args.screens.mkdir(parents=True, exist_ok=True)
    visits = (
        ("first visit", "first", first),
        ("returning visit, signed in", "returning", returning),
    )
    for name, slug, report in visits:
        print(f"  {name}")
        for category in CATEGORIES:
            print(f"    {category:<15} {score(report, category):>3}")
            for audit in short_of_full_marks(report, category):
                print(f"      - {audit}")
        print(f"    session resumes (HTTP status): {resumes(report) or 'none'}")
        picture = save_page(report, args.screens, f"lighthouse-{slug}-{args.preset}")
        print(f"    the page as Lighthouse audited it: {picture}")


@contextmanager
def chromium(profile: Path) -> Iterator[int]:
    """Debian's Chromium, headless, with a debugging port (yielded) and a profile of its own."""
    port = free_port()
    command = [find_chromium() or "chromium", *LAUNCH_ARGS, "--headless=new"]
    command += [f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("Chromium did not open its debugging port") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def sign_in(port: int, url: str) -> None:
    """Create an account in the page, as a visitor would, and wait for the snapshot of Python
    that the page then keeps for later visits."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        page = browser.contexts[0].new_page()
        page.goto(url)
        wait_until_ready(page)
        page.get_by_label("Username").fill(f"bench-{uuid.uuid4().hex[:8]}")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_selector(SIGNED_IN, timeout=WAIT_MS)
        page.wait_for_selector(SNAPSHOT_DONE, state="attached", timeout=WAIT_MS)
        page.close()


def lighthouse(
    url: str, port: int, preset: str, config: Path, *, keep_storage: bool
) -> dict[str, Any]:
    command = [str(LIGHTHOUSE), url, f"--port={port}", "--output=json", "--quiet"]
    command += [f"--config-path={config}", f"--only-categories={','.join(CATEGORIES)}"]
    if preset == "desktop":
        command.append("--preset=desktop")
    if keep_storage:
        command.append("--disable-storage-reset")
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"Lighthouse failed:\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    if report.get("runtimeError"):
        raise SystemExit(f"Lighthouse could not measure the page: {report['runtimeError']}")
    return report


def score(report: dict[str, Any], category: str) -> str:
    value = report["categories"][category]["score"]
    return "n/a" if value is None else str(round(value * 100))


def short_of_full_marks(report: dict[str, Any], category: str) -> list[str]:
    """The audits of `category` that count towards its score and did not pass in full."""
    found = []
    for reference in report["categories"][category]["auditRefs"]:
        audit = report["audits"][reference["id"]]
        if reference["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
            found.append(f"{audit['id']}: {audit['title']} ({audit.get('displayValue', '')})")
    return found if category != "performance" else found[:6]


def resumes(report: dict[str, Any]) -> list[int]:
    """The statuses of the session resumes the page made (from Python's worker) while Lighthouse
    watched."""
    items = report["audits"]["network-requests"]["details"]["items"]
    return [item.get("statusCode", 0) for item in items if item["url"].endswith(RESUME)]


def save_page(report: dict[str, Any], folder: Path, name: str) -> Path:
    """The page as Lighthouse saw it when it audited it (its full-page screenshot, a data URL)."""
    kind, data = report["fullPageScreenshot"]["screenshot"]["data"].split(",", 1)
    path = folder / f"{name}.{kind.removeprefix('data:image/').split(';')[0]}"
    path.write_bytes(base64.b64decode(data))
    return path


def lighthouse_version() -> str:
    return subprocess.run(
        [str(LIGHTHOUSE), "--version"], capture_output=True, text=True
    ).stdout.strip()


if __name__ == "__main__":
    main()

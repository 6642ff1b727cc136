"""What binding a session to the device key costs a returning visitor, in a real Chromium.

    .venv/bin/python benchmarks/bound_resume.py [--reloads 8] [--dist DIR]

Two profiles of one browser, each with a stored session: one signed in through the page (bound to
its WebCrypto key: every resume signs a proof through the page's main thread), one given a session
made in CPython without a key (unbound: no proof). Each is reloaded in turn, warm (memory snapshot
made first), and the time from navigation to the signed-in view is measured. Also measured in the
page: one ECDSA P-256 signature by a non-extractable key, the work a proof adds; and, from Python's
marks (webapp.browser.timeline), the resume proof's whole round trip from the worker to the page's
key and back.

Run it after `python3 build.py build`. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright

from harness.browser_pages import store_value, wait_until_ready
from harness.processes import Stack
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from sitebuild.paths import DIST

PASSWORD = "benchmark password"
SIGNED_IN = "#app > [data-view=signed-in]"
SNAPSHOT_DONE = "html[data-pyodide-snapshot]"
# The first signature of a load (the resume's proof), from Python's marks in its worker.
READ_SIGN_MS = """() => {
  const [asked] = performance.getEntriesByName("python:device key sign asked");
  const [answered] = performance.getEntriesByName("python:device key sign answered");
  return asked && answered ? answered.startTime - asked.startTime : null;
}"""

SIGNATURE_MS = """async (rounds) => {
  const pair = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const data = new TextEncoder().encode("x".repeat(400));
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data);
  }
  return (performance.now() - started) / rounds;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=8)
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as data_dir,
        Stack(args.dist, Path(data_dir)) as stack,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=LAUNCH_ARGS)
        url = stack.url + "/"

        bound = browser.new_context().new_page()
        bound.goto(url)
        wait_until_ready(bound)
        bound.wait_for_selector(SNAPSHOT_DONE, state="attached", timeout=120_000)
        bound.get_by_label("Username").fill(f"bench-{uuid.uuid4().hex[:8]}")
        bound.get_by_label("Password").fill(PASSWORD)
        bound.get_by_role("button", name="Create account").click()
        bound.wait_for_selector(SIGNED_IN)

        unbound = browser.new_context().new_page()
        unbound.goto(url)
        wait_until_ready(unbound)
        unbound.wait_for_selector(SNAPSHOT_DONE, state="attached", timeout=120_000)
        client = stack.client()
        credentials = {"username": f"bench-{uuid.uuid4().hex[:8]}", "password": PASSWORD}
        client.new_user(credentials)
        store_value(unbound, stack.storage_key, json.dumps(client.start(credentials)))

        times: dict[str, list[float]] = {"bound": [], "unbound": []}
        round_trips: list[float] = []
        for _ in range(args.reloads):
            for name, page in (("bound", bound), ("unbound", unbound)):
                page.goto(url)
                page.wait_for_selector(SIGNED_IN, timeout=120_000)
                times[name].append(
                    page.evaluate("performance.now()") / 1000  # since this navigation began
                )
                wait_until_ready(page)
                if name == "bound":
                    round_trips.extend(
                        ms for worker in page.workers if (ms := worker.evaluate(READ_SIGN_MS))
                    )
        signature_ms = bound.evaluate(SIGNATURE_MS, 200)
        browser.close()

    print(f"warm resume to the signed-in view, {args.reloads} reloads each, {args.dist}")
    for name, values in times.items():
        print(
            f"  {name:<8} median {statistics.median(values):6.3f} s"
            f"   min {min(values):6.3f}   max {max(values):6.3f}"
        )
    difference = statistics.median(times["bound"]) - statistics.median(times["unbound"])
    print(f"  bound - unbound (medians)   {difference * 1000:+7.1f} ms")
    print(f"one ES256 signature by a non-extractable key in the page   {signature_ms:6.2f} ms")
    if round_trips:
        print(
            "the resume proof's signature, worker -> page's key -> worker: median "
            f"{statistics.median(round_trips):.2f} ms, max {max(round_trips):.2f} ms"
        )


if __name__ == "__main__":
    main()

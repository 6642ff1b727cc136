"""Page-load figures in real browsers: how long a returning visitor waits for the signed-in view,
beside a bare Pyodide boot from the same files, where that time goes, and what a visit transfers.

    .venv/bin/python benchmarks/page_load.py [--runs 7] [--engine chromium|firefox|all]
                                             [--pause-s 4] [--reloads 10] [--dist DIR]

Chromium (Debian's, through Playwright) runs in one persistent profile, as a returning visitor's
browser does: HTTP cache and compiled-code caches kept (Playwright's default context keeps no
compiled code, which costs a warm start ~200 ms more). The site is served twice, with the isolation
headers and without them (the service-worker fallback), each with the auth service, from a copy of
the build that also holds a bare Pyodide page (`loadPyodide()` and one `runPython`, main thread,
the build's own Pyodide files). It prints:

- per path, the first visit (time to Python ready, first contentful paint, bytes received until
  the snapshot is made, the service worker's own fetches counted in place of what it served) and a
  repeat visit's bytes;
- `--runs` rounds of warm loads, each in a fresh tab, `--pause-s` apart: the bare Pyodide boot, the
  app with a stored session to the signed-in view with headers, and without; the medians and the
  ratios (app / bare Pyodide, fallback / headers);
- the first contentful paint of those loads and of the reloads below, beside a plain page of one
  line of text loaded in the same rounds (what a fresh tab costs before any page of ours);
- the waterfall of the warm path: the medians of the performance marks of the page (`page:`), of
  the runtime loader and PyScript (`runtime:`) and of Python (`python:`), in ms from navigation;
- `--reloads` reloads of one tab, each a second after the previous view, and how far each is from
  their median.

Firefox (firefox-esr over WebDriver BiDi, src/harness/firefox.py) gets its cold load, warm reloads
without and with the snapshot, and the time the snapshot took to make, in fresh profiles.

Run it after `python3 build.py build` (or give `--dist`, e.g. an older build kept aside). It asserts
nothing: times on a shared machine are noisy, so compare figures of one run (they are alternated).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Playwright, Request, Worker, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from harness.browser_pages import store_value
from harness.firefox import Firefox, FirefoxPage
from harness.processes import Stack
from sitebuild.chromium import LAUNCH_ARGS, find_chromium
from sitebuild.paths import DIST
from sitebuild.site import SNAPSHOT_DATABASE

# Generous: a cold start on a busy machine, or the snapshot maker, can take a minute.
WAIT_MS = 120_000
SIGNED_IN = "#app > [data-view=signed-in]"
PYTHON_READY = "html[data-python=ready]"
BARE_READY = "html[data-bare-pyodide=ready]"
SNAPSHOT_DONE = "html[data-pyodide-snapshot]"
READ_SNAPSHOT_OUTCOME = "document.documentElement.dataset.pyodideSnapshot"
# Resolves once the database is gone (the page's own connections are closed after each use).
DELETE_SNAPSHOTS = """name => new Promise((resolve, reject) => {
  const deleting = indexedDB.deleteDatabase(name);
  deleting.onsuccess = resolve;
  deleting.onerror = () => reject(deleting.error);
})"""
BARE_PAGE = "bare-pyodide.html"

# Injected before every page's own scripts: when each watched element first appears, in ms on the
# page's clock (0 is the start of the navigation), without the delay of asking from outside.
WATCHED = {"view": SIGNED_IN, "ready": PYTHON_READY, "bare": BARE_READY, "plain": "p.plain"}
WATCH_PAGE = """(() => {
  const watched = WATCHED;
  const seen = (window.__pageLoad = {});
  const look = () => {
    for (const [name, selector] of Object.entries(watched)) {
      if (!(name in seen) && document.querySelector(selector)) seen[name] = performance.now();
    }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, attributes: true});
})();""".replace("WATCHED", json.dumps(WATCHED))
# A realm's performance marks, on the common clock (ms since the epoch).
READ_MARKS = (
    "performance.getEntriesByType('mark').map(m => [m.name, performance.timeOrigin + m.startTime])"
)
# Resolves once the page has painted content (a load may be seen before its paint is reported).
READ_FCP = """new Promise(resolve => new PerformanceObserver((list, observer) => {
  const [entry] = list.getEntriesByName('first-contentful-paint');
  if (entry) { observer.disconnect(); resolve(entry.startTime); }
}).observe({type: 'paint', buffered: true}))"""

# The floor of a first contentful paint: a page of one line of text, no script, no stylesheet.
PLAIN_PAGE = "plain.html"
PLAIN_HTML = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Plain</title>
<p class="plain">A page of one line of text.</p>
</html>
"""
BARE_HTML = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Bare Pyodide</title>
<script type="module" src="./bare-pyodide.mjs"></script>
</html>
"""
# The same runtime files as the app, by the same URLs (so the same caches), on the main thread.
BARE_MODULE = """const runtime = new URL(RUNTIME, import.meta.url).href;
const { loadPyodide } = await import(runtime + "pyodide.mjs");
const pyodide = await loadPyodide({ indexURL: runtime });
pyodide.runPython("1");
document.documentElement.dataset.barePyodide = "ready";
"""


@dataclass
class Sample:
    """One warm load: ms from navigation start to what was waited for, and its waterfall."""

    ms: float
    marks: dict[str, float] = field(default_factory=dict)
    fcp_ms: float = 0.0


def copy_site(dist: Path, site: Path) -> Path:
    """A copy of the build in `site`, with the bare Pyodide page beside the app."""
    shutil.copytree(dist, site)
    (runtime,) = [path for path in (site / "assets").glob("pyodide-*") if path.is_dir()]
    (site / BARE_PAGE).write_text(BARE_HTML)
    (site / PLAIN_PAGE).write_text(PLAIN_HTML)
    relative = f"./assets/{runtime.name}/"
    (site / "bare-pyodide.mjs").write_text(BARE_MODULE.replace("RUNTIME", json.dumps(relative)))
    return site


class ReceivedBytes:
    """Bytes received (headers and bodies as sent) by a browser profile's requests. A response a
    service worker served is not counted: the service worker's own fetch, which Chromium reports as
    a request of its own, is."""

    def __init__(self) -> None:
        self.total = 0

    def __repr__(self) -> str:
        return f"ReceivedBytes({self.total})"

    def add(self, request: Request) -> None:
        try:
            response = request.response()
            if response is None or response.from_service_worker:
                return
            sizes = request.sizes()
        except PlaywrightError:  # its tab was closed meanwhile: a request no load waited for
            return
        self.total += max(0, sizes["responseHeadersSize"]) + max(0, sizes["responseBodySize"])

    @contextmanager
    def counting(self) -> Iterator[Callable[[], int]]:
        """Yields a function that says how many bytes came in since the block began."""
        start = self.total
        yield lambda: self.total - start


class Profile:
    """One persistent Chromium profile; every load in a fresh tab of it."""

    def __init__(self, playwright: Playwright, folder: Path) -> None:
        self.context: BrowserContext = playwright.chromium.launch_persistent_context(
            folder, executable_path=find_chromium(), args=LAUNCH_ARGS
        )
        self.context.set_default_timeout(WAIT_MS)
        self.context.add_init_script(WATCH_PAGE)
        self.received = ReceivedBytes()
        self.context.on("requestfinished", self.received.add)

    def close(self) -> None:
        self.context.close()

    def open(self, url: str, selector: str) -> Page:
        page = self.context.new_page()
        page.goto(url)
        page.wait_for_selector(selector, state="attached")
        return page

    def load(self, url: str, selector: str, what: str, paints: bool = True) -> Sample:
        """Load `url` in a fresh tab until `selector` is there (`what` names it in WATCH_PAGE);
        its first contentful paint too if it `paints` (a page without content never does)."""
        page = self.open(url, selector)
        try:
            fcp_ms = first_paint(page) if paints else 0.0
            return Sample(seen(page, what), read_waterfall(page), fcp_ms)
        finally:
            page.close()


def seen(page: Page, what: str) -> float:
    page.wait_for_function(f"window.__pageLoad && {json.dumps(what)} in window.__pageLoad")
    return float(page.evaluate(f"window.__pageLoad[{json.dumps(what)}]"))


def first_paint(page: Page) -> float:
    return float(page.evaluate(READ_FCP))


def read_waterfall(page: Page) -> dict[str, float]:
    """The marks of the page and of its workers, in ms from the page's navigation start (the
    earliest of each name)."""
    origin = float(page.evaluate("performance.timeOrigin"))
    marks: dict[str, float] = {}
    realms: list[Page | Worker] = [page, *page.workers]
    for realm in realms:
        for name, at in marks_of(realm):
            marks.setdefault(name, at - origin)
    return marks


def marks_of(realm: Page | Worker) -> list[tuple[str, float]]:
    try:
        return [(name, at) for name, at in realm.evaluate(READ_MARKS)]
    except PlaywrightError:  # a worker that ended meanwhile (the snapshot maker's)
        return []


def snapshot_outcome(page: Page) -> str:
    page.wait_for_selector(SNAPSHOT_DONE, state="attached")
    return str(page.evaluate(READ_SNAPSHOT_OUTCOME))


def signed_in_session(stack: Stack) -> dict[str, object]:
    """A session started by the real client, as if the page had saved it on an earlier visit."""
    client = stack.client()
    credentials = {"username": f"bench-{uuid.uuid4().hex[:8]}", "password": "benchmark password"}
    client.new_user(credentials)
    return client.start(credentials)


@dataclass
class Visits:
    """A path's first visit and repeat visit."""

    ready_ms: float
    fcp_ms: float
    first_bytes: int
    repeat_bytes: int
    snapshot: str


def visit_first_and_again(profile: Profile, stack: Stack) -> Visits:
    """A first visit until its snapshot is made, then a repeat visit in a new tab; then a stored
    session for the warm loads to resume."""
    url = stack.url + "/"
    with profile.received.counting() as first_bytes:
        page = profile.open(url, PYTHON_READY)
        ready_ms, fcp_ms = seen(page, "ready"), first_paint(page)
        outcome = snapshot_outcome(page)
        page.close()
    first = first_bytes()
    with profile.received.counting() as repeat_bytes:
        page = profile.open(url, PYTHON_READY)
        snapshot_outcome(page)
    repeat = repeat_bytes()
    store_value(page, stack.storage_key, json.dumps(signed_in_session(stack)))
    page.close()
    return Visits(ready_ms, fcp_ms, first, repeat, outcome)


def reload_series(profile: Profile, url: str, reloads: int, pause_s: float) -> list[Sample]:
    """Reload one tab `reloads` times, each `pause_s` after the previous signed-in view."""
    page = profile.open(url, SIGNED_IN)
    samples = []
    try:
        for _ in range(reloads):
            time.sleep(pause_s)
            page.reload()
            page.wait_for_selector(SIGNED_IN, state="attached")
            samples.append(Sample(seen(page, "view"), read_waterfall(page), first_paint(page)))
    finally:
        page.close()
    return samples


def measure_chromium(
    stacks: dict[str, Stack], runs: int, pause_s: float, reloads: int, profile_dir: Path
) -> None:
    headers = stacks["headers"]
    with sync_playwright() as playwright:
        profile = Profile(playwright, profile_dir)
        try:
            visits = {name: visit_first_and_again(profile, stack) for name, stack in stacks.items()}
            loads: dict[str, Callable[[], Sample]] = {
                BARE: lambda: profile.load(
                    f"{headers.url}/{BARE_PAGE}", BARE_READY, "bare", paints=False
                ),
                PLAIN: lambda: profile.load(f"{headers.url}/{PLAIN_PAGE}", "p.plain", "plain"),
            }
            for name, stack in stacks.items():
                loads[name] = partial(profile.load, stack.url + "/", SIGNED_IN, "view")
            samples: dict[str, list[Sample]] = {name: [] for name in loads}
            order = list(loads)
            for _ in range(runs):
                for name in order:
                    time.sleep(pause_s)
                    samples[name].append(loads[name]())
                # Each kind of load in turn first: none always follows the same other one.
                order = order[1:] + order[:1]
            bare = samples.pop(BARE)
            plain = samples.pop(PLAIN)
            warm = samples
            time.sleep(pause_s)
            series = reload_series(profile, headers.url + "/", reloads, 1.0)
            memory_page = profile.open(headers.url + "/", SIGNED_IN)
            memory = memory_page.evaluate(
                "performance.measureUserAgentSpecificMemory().then(m => m.bytes)"
            )
            memory_page.close()
        finally:
            profile.close()

    print("Chromium, one persistent profile")
    for name, visit in visits.items():
        print(
            f"  first visit, {LABELS[name]}: Python ready {visit.ready_ms:.0f} ms, first "
            f"contentful paint {visit.fcp_ms:.0f} ms, received {visit.first_bytes / 1e6:.2f} MB "
            f"(snapshot {visit.snapshot}); repeat visit received {visit.repeat_bytes / 1e3:.1f} kB"
        )
    print(f"  warm loads, {runs} rounds alternated, a fresh tab each, {pause_s:g} s apart (ms):")
    print_samples("bare Pyodide boot, main thread, to runPython", bare)
    for name in stacks:
        print_samples(f"stored session to signed-in view, {LABELS[name]}", warm[name])
    bare_ms = statistics.median(sample.ms for sample in bare)
    headers_ms = statistics.median(sample.ms for sample in warm["headers"])
    fallback_ms = statistics.median(sample.ms for sample in warm["fallback"])
    per_round = [app.ms / base.ms for app, base in zip(warm["headers"], bare, strict=True)]
    print(
        f"  ratio signed-in view / bare Pyodide: {headers_ms / bare_ms:.2f} "
        f"(median of each round's own ratio {statistics.median(per_round):.2f})"
    )
    print(f"  ratio service-worker fallback / headers: {fallback_ms / headers_ms:.2f}")
    if "baseline" in warm:
        baseline_ms = statistics.median(sample.ms for sample in warm["baseline"])
        print(f"  ratio this build / the baseline build, headers: {headers_ms / baseline_ms:.2f}")
    # Every warm kind, the baseline build's too: a change's effect on the paint shows within a run.
    paints = {f"warm loads, {LABELS[name]}": warm[name] for name in stacks}
    paints["reloads 1 s apart"] = series
    paints["a plain page of one line of text (the floor)"] = plain
    print("  first contentful paint, fresh tabs unless said (ms):")
    for title, paint_samples in paints.items():
        print_samples(title, [Sample(sample.fcp_ms) for sample in paint_samples])
    print(f"  page memory after a resume (all threads): {memory / 1e6:.1f} MB")
    print_reloads(series)
    for name in stacks:
        print_waterfall(f"waterfall of the warm resume, {LABELS[name]}", warm[name])
    print_waterfall("waterfall of the reloads", series)


BARE = "bare Pyodide"
PLAIN = "plain page"
LABELS = {
    "headers": "isolation headers",
    "fallback": "service-worker fallback",
    "baseline": "the baseline build, isolation headers",
}


def print_samples(title: str, samples: list[Sample]) -> None:
    values = [sample.ms for sample in samples]
    listed = " ".join(f"{value:.0f}" for value in values)
    print(
        f"    {title:<58} median {statistics.median(values):5.0f}   min {min(values):5.0f}"
        f"   max {max(values):5.0f}   [{listed}]"
    )


def print_reloads(samples: list[Sample]) -> None:
    times = [sample.ms for sample in samples]
    median = statistics.median(times)
    worst = max(abs(value - median) / median for value in times)
    listed = " ".join(f"{value:.0f}" for value in times)
    print(
        f"  {len(times)} reloads of one tab, 1 s apart (ms): median {median:.0f}, the farthest "
        f"{worst:.0%} from it   [{listed}]"
    )


def print_waterfall(title: str, samples: list[Sample]) -> None:
    """Each mark's median over the samples, in time order, with the step from the one before."""
    names = {name for sample in samples for name in sample.marks}
    rows = []
    for name in names:
        values = [sample.marks[name] for sample in samples if name in sample.marks]
        rows.append((statistics.median(values), name, len(values)))
    rows.append((statistics.median(sample.ms for sample in samples), "signed-in view seen", 0))
    print(f"  {title} (medians, ms from navigation start):")
    previous = 0.0
    for at, name, count in sorted(rows):
        note = "" if count in (0, len(samples)) else f"  ({count} of {len(samples)} loads)"
        print(f"    {at:7.1f}  {at - previous:+7.1f}  {name}{note}")
        previous = at


def measure_firefox(url: str, runs: int) -> None:
    figures: dict[str, list[float]] = {}
    timeout_s = WAIT_MS / 1000

    def load(page: FirefoxPage) -> float:
        started = time.perf_counter()
        page.goto(url)
        page.wait_until_ready(timeout_s)
        return time.perf_counter() - started

    def wait_for_snapshot(page: FirefoxPage) -> float:
        started = time.perf_counter()
        page.wait_for(SNAPSHOT_DONE, "attached", timeout_s)
        return time.perf_counter() - started

    with closing(Firefox()) as firefox:
        for _ in range(runs):
            context = firefox.new_context()
            page = context.new_page()
            figures.setdefault("cold load to Python ready", []).append(load(page))
            figures.setdefault("snapshot made, after Python ready", []).append(
                wait_for_snapshot(page)
            )
            page.evaluate(DELETE_SNAPSHOTS, SNAPSHOT_DATABASE)
            figures.setdefault("warm reload to Python ready, no snapshot", []).append(load(page))
            wait_for_snapshot(page)
            figures.setdefault("warm reload to Python ready, from the snapshot", []).append(
                load(page)
            )
            context.close()
    print(f"Firefox, a fresh profile per run, {runs} runs (s)")
    for name, values in figures.items():
        print(
            f"  {name:<48} median {statistics.median(values):7.2f}"
            f"   min {min(values):7.2f}   max {max(values):7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--engine", choices=["chromium", "firefox", "all"], default="chromium")
    parser.add_argument("--pause-s", type=float, default=4.0, help="between warm loads")
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument(
        "--dist", type=Path, default=DIST, help="the built site to measure (default: dist/)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another build (an older one kept aside) whose warm resume joins the rounds",
    )
    args = parser.parse_args()
    print(f"page load, {args.dist}" + (f", baseline {args.baseline}" if args.baseline else ""))
    with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sites = {"headers": args.dist, "fallback": args.dist, "baseline": args.baseline}
        stacks = {
            name: stack.enter_context(
                Stack(
                    copy_site(dist, folder / name),
                    folder / f"data-{name}",
                    isolation=name != "fallback",
                )
            )
            for name, dist in sites.items()
            if dist is not None
        }
        if args.engine in ("chromium", "all"):
            measure_chromium(stacks, args.runs, args.pause_s, args.reloads, folder / "profile")
        if args.engine in ("firefox", "all"):
            measure_firefox(stacks["headers"].url + "/", args.runs)


if __name__ == "__main__":
    main()

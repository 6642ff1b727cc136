"""Finding a Chromium for the browser tests (Playwright cannot download its own on every machine),
and the arguments it is launched with.

In the build, not the harness, since both need it: `python3 build.py test` finds it once, before
pytest starts, and hands its path on in `CHROMIUM_PATH`; the browser tests and the benchmarks
launch it with `LAUNCH_ARGS`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
# Chromium otherwise reaches out to Google's hosts at start, which a closed network refuses.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def find_chromium() -> str | None:
    """The path of a Chromium to launch, or None to use the one Playwright installed itself."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    print("No Chromium found; asking Playwright to download one ...", flush=True)
    completed = subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"])
    if completed.returncode != 0:
        raise SystemExit(
            "No Chromium: install one (Debian: `apt-get install chromium`) or set CHROMIUM_PATH to its path."
        )
    return None

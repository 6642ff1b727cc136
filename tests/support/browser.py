"""Helpers for the browser tests: the served stack, and a recorder of what a page did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from playwright.sync_api import ConsoleMessage as PlaywrightConsoleMessage
from playwright.sync_api import Page, Request

from authclient import DEFAULT_STORAGE_KEY_PREFIX, MemoryStorage, SessionClient
from sitebuild.page_records import ConsoleMessage, PageRecords, RecordedRequest
from sitebuild.site import read_page_config

from .processes import ServerProcess, free_port

# Booting Pyodide takes seconds; on a loaded 2-core machine, many.
BOOT_TIMEOUT_MS = 60_000


class Stack(ServerProcess):
    """`python -m sitebuild serve` on a free port, as `python3 build.py serve` runs it: the built
    site and the auth service on one origin, with its access log in `.output`."""

    def __init__(self, dist: Path, data_dir: Path, *, isolation: bool = True, port: int | None = None) -> None:
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "sitebuild", "serve", "--no-build", "--port", str(port)]
        command += ["--dist", str(dist), "--data-dir", str(data_dir)]
        if not isolation:
            command.append("--no-isolation")
        super().__init__(command, url=url, ready_url=f"{url}/v1/health")
        self.application_key = read_page_config(dist).application_key
        self.storage_key = DEFAULT_STORAGE_KEY_PREFIX + self.application_key

    def client(self) -> SessionClient:
        """The real client in CPython, talking to the same auth service as the page."""
        return SessionClient(self.application_key, self.url + "/v1", storage=MemoryStorage())

    def served(self, path_part: str) -> list[str]:
        """Access-log lines of the requests this server answered whose path contains `path_part`."""
        return [line for line in self.output.splitlines() if '"GET ' in line and path_part in line]


class Recorder(PageRecords):
    """What the pages of one Chromium test did, fed by Playwright's events (tests/browser/conftest.py)."""

    def add_request(self, request: Request) -> None:
        self.requests.append(RecordedRequest(request.method, request.url, request.headers, request.post_data or ""))

    def add_console_message(self, message: PlaywrightConsoleMessage) -> None:
        self.console.append(ConsoleMessage(message.type, message.text, message.location.get("url", "")))

    def add_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))


def wait_until_ready(page: Page) -> None:
    """Python has started and drawn its first view."""
    page.wait_for_selector("html[data-python=ready]", state="attached", timeout=BOOT_TIMEOUT_MS)


def store_value(page: Page, key: str, value: str) -> None:
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [key, value])


def stored_value(page: Page, key: str) -> str | None:
    return page.evaluate("key => localStorage.getItem(key)", key)


def stored_session(page: Page, key: str) -> dict | None:
    raw = stored_value(page, key)
    return json.loads(raw) if raw is not None else None

"""Helpers for the browser tests: the served stack, and a recorder of what a page did."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Request

from authclient import DEFAULT_STORAGE_KEY_PREFIX, MemoryStorage, SessionClient
from sitebuild.site import read_page_config

from .processes import ServerProcess, free_port

# Booting Pyodide takes seconds; on a loaded 2-core machine, many.
BOOT_TIMEOUT_MS = 60_000


class Stack(ServerProcess):
    """`python -m sitebuild serve` on a free port, as `python3 build.py serve` runs it: the built
    site and the auth service on one origin, with its access log in `.output`."""

    def __init__(
        self, dist: Path, data_dir: Path, *, isolation: bool = True, port: int | None = None
    ) -> None:
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


@dataclass
class Recorder:
    """What the pages of one test did: requests (workers' too), console messages, page errors."""

    requests: list[Request] = field(default_factory=list)
    console: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.requests.clear()
        self.console.clear()
        self.page_errors.clear()

    def console_errors(self) -> list[str]:
        return [
            message.text for message in self.console if message.type == "error"
        ] + self.page_errors

    def foreign_requests(self, origin: str) -> list[str]:
        """URLs of requests that left `origin` (our origin's blob: URLs are ours too)."""
        ours = (origin + "/", f"blob:{origin}/", "data:")
        return [request.url for request in self.requests if not request.url.startswith(ours)]

    def requests_carrying(self, text: str) -> list[str]:
        """Requests with `text` in their URL, headers or body."""
        found = []
        for request in self.requests:
            parts = [request.url, request.post_data or "", *request.headers.values()]
            if any(text in part for part in parts):
                found.append(f"{request.method} {request.url}")
        return found


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

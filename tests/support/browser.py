"""Helpers for the Chromium tests: a recorder of what a page did, fed by Playwright's events."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage as PlaywrightConsoleMessage
from playwright.sync_api import Request

from sitebuild.page_records import ConsoleMessage, PageRecords, RecordedRequest

# An init script that makes Chromium offer what WebKitGTK offers: an isolated page without
# SharedArrayBuffer, so that no worker can reach the page and Python starts on the main thread.
WITHOUT_SHARED_MEMORY = "delete globalThis.SharedArrayBuffer;"


class Recorder(PageRecords):
    """What the pages of one Chromium test did (tests/browser/conftest.py feeds it)."""

    def add_request(self, request: Request) -> None:
        self.requests.append(
            RecordedRequest(request.method, request.url, request.headers, request.post_data or "")
        )

    def add_console_message(self, message: PlaywrightConsoleMessage) -> None:
        self.console.append(
            ConsoleMessage(message.type, message.text, message.location.get("url", ""))
        )

    def add_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

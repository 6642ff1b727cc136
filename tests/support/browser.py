"""Helpers for the browser tests: a recorder of what a page did."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Request


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

"""What the pages of a browser test did, in the same shape for every engine: console messages,
uncaught errors, requests (their workers' included)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ConsoleMessage", "PageRecords", "RecordedRequest"]


@dataclass(frozen=True)
class ConsoleMessage:
    type: str  # "error", "info", ... (warnings are "warning" in Chromium, "warn" in Firefox)
    text: str
    url: str


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]
    post_data: str


@dataclass
class PageRecords:
    console: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)

    def clear(self) -> None:
        self.console.clear()
        self.page_errors.clear()
        self.requests.clear()

    def console_errors(self) -> list[str]:
        return [
            message.text for message in self.console if message.type == "error"
        ] + self.page_errors

    def foreign_requests(self, origin: str) -> list[str]:
        """URLs of requests that left `origin` (our origin's blob: URLs and data: URLs are ours too)."""
        ours = (origin + "/", f"blob:{origin}/", "data:")
        return [request.url for request in self.requests if not request.url.startswith(ours)]

    def requests_carrying(self, text: str) -> list[str]:
        """Requests with `text` in their URL, headers or body."""
        return [
            f"{request.method} {request.url}"
            for request in self.requests
            if any(
                text in part for part in (request.url, request.post_data, *request.headers.values())
            )
        ]

    def requests_to(self, path: str) -> list[str]:
        return [
            f"{request.method} {request.url}" for request in self.requests if path in request.url
        ]

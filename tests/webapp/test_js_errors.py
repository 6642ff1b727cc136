"""The browser's errors as the client's (webapp.browser.js_errors), the one mapping every browser
adapter uses: a request the browser gave up waiting for is a `Timeout`, any other failure a
`NetworkError`; both keep the stored session and are retried."""

from __future__ import annotations

import pytest

from authclient.errors import NetworkError, ServiceUnavailable, Timeout
from webapp.browser.js_errors import client_error, js_error_name

ORIGIN = "https://auth.example.com"


class FakeJsError(Exception):
    """What Pyodide hands Python for a JavaScript error: its `name`, and "name: message" as text."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def test_a_timeout_of_the_browser_is_the_client_s_timeout() -> None:
    """The XHR's `timeout` and fetch's `AbortSignal.timeout` both end in a DOMException so named."""
    error = client_error(FakeJsError("TimeoutError", "signal timed out"), ORIGIN, timeout_s=2.5)

    assert type(error) is Timeout
    assert error.message == f"No answer from {ORIGIN} within 2.5 s"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("TypeError", "Failed to fetch"),
        ("NetworkError", "A network error occurred."),
        ("AbortError", "The user aborted a request."),
    ],
)
def test_every_other_failure_of_a_request_is_a_network_error(name: str, message: str) -> None:
    error = client_error(FakeJsError(name, message), ORIGIN, timeout_s=2.5)

    assert type(error) is NetworkError
    assert error.message == f"Could not reach {ORIGIN}: {name}: {message}"


def test_a_stream_that_breaks_off_while_its_body_is_read_says_so() -> None:
    error = client_error(FakeJsError("TypeError", "network error"), ORIGIN, in_stream=True)

    assert type(error) is NetworkError
    assert error.message == f"The stream from {ORIGIN} broke off: TypeError: network error"


def test_a_timeout_without_a_bound_of_the_adapter_s_own_still_is_a_timeout() -> None:
    """On the main thread without JSPI the XHR has no timeout: only the browser's own can fire."""
    error = client_error(FakeJsError("TimeoutError", "timed out"), ORIGIN)

    assert type(error) is Timeout
    assert error.message == f"No answer from {ORIGIN} in time"


def test_both_keep_the_stored_session_and_are_retried() -> None:
    for name in ("TimeoutError", "TypeError"):
        assert isinstance(client_error(FakeJsError(name, "x"), ORIGIN), ServiceUnavailable)


def test_an_error_without_a_name_is_read_by_its_text() -> None:
    assert js_error_name(Exception("TimeoutError: Failed to execute 'send'")) == "TimeoutError"
    assert type(client_error(Exception("TimeoutError: late"), ORIGIN)) is Timeout
    assert type(client_error(Exception("something else"), ORIGIN)) is NetworkError


def test_the_name_comes_before_the_text() -> None:
    """A network error whose message happens to mention a timeout is no timeout."""
    error = FakeJsError("TypeError", "x")
    error.args = ("TimeoutError: not what the browser said",)

    assert js_error_name(error) == "TypeError"
    assert type(client_error(error, ORIGIN)) is NetworkError

"""UrllibTransport: HTTP errors are responses; failing to get one is NetworkError or Timeout."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import pytest

from authclient import HttpRequest, UrllibTransport
from authclient.errors import NetworkError, ServiceUnavailable, Timeout


def get(url: str) -> HttpRequest:
    return HttpRequest("GET", url + "/v1/health", {"Accept": "application/json"})


def test_success_is_returned_with_status_headers_and_body(
    canned_server: Callable[..., str],
) -> None:
    url = canned_server(200, json_body={"status": "ok"}, headers={"X-Thing": "yes"})
    response = UrllibTransport(timeout_s=2).send(get(url))
    assert response.status == 200
    assert response.headers["x-thing"] == "yes"
    assert response.body == b'{"status": "ok"}'


def test_http_error_status_is_a_response_not_an_exception(
    canned_server: Callable[..., str],
) -> None:
    url = canned_server(404, json_body={"error": "not_found", "message": "No such endpoint"})
    response = UrllibTransport(timeout_s=2).send(get(url))
    assert response.status == 404
    assert b"not_found" in response.body


def test_connection_refused_is_a_network_error(closed_port_url: str) -> None:
    with pytest.raises(NetworkError) as caught:
        UrllibTransport(timeout_s=2).send(get(closed_port_url))
    assert isinstance(caught.value, ServiceUnavailable)
    assert caught.value.__cause__ is not None


def test_connection_closed_without_an_answer_is_a_network_error(hangup_server: str) -> None:
    with pytest.raises(NetworkError):
        UrllibTransport(timeout_s=2).send(get(hangup_server))


def test_server_that_never_answers_times_out_within_timeout_s(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(Timeout) as caught:
        UrllibTransport(timeout_s=0.3).send(get(silent_server))
    assert time.monotonic() - started < 3
    assert caught.value.code == "timeout"


def test_other_exceptions_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy_urlopen(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(urllib.request, "urlopen", buggy_urlopen)
    with pytest.raises(KeyError):
        UrllibTransport().send(get("http://127.0.0.1:9"))


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        UrllibTransport(timeout_s=0)


def test_request_repr_masks_authorization_and_body() -> None:
    request = HttpRequest(
        "POST",
        "https://example.com/v1/sessions",
        {"Authorization": "Bearer ses_1.topsecret", "Accept": "application/json"},
        b'{"password": "hunter2hunter2"}',
    )
    text = repr(request)
    assert "topsecret" not in text and "hunter2" not in text
    assert "application/json" in text and "/v1/sessions" in text

"""The HTTP surface: JSON errors for every failure, body limits, the OpenAPI document."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from authservice import Settings, create_app, ensure_application
from authservice.api.asgi import describe_api
from authservice.database.engine import migrate_database
from tests.service.helpers import Api, RunningService, assert_error, bearer, serve_in_thread

LIMIT_BYTES = 16 * 1024
JSON = {"Content-Type": "application/json"}

ENDPOINTS = {
    ("post", "/v1/users"),
    ("post", "/v1/sessions"),
    ("post", "/v1/sessions/resume"),
    ("get", "/v1/me"),
    ("delete", "/v1/sessions/current"),
    ("delete", "/v1/users/me/sessions"),
    ("get", "/v1/users/me/sessions"),
    ("delete", "/v1/users/me/sessions/{sessionId}"),
    ("delete", "/v1/users/me/sessions/others"),
    ("post", "/v1/sessions/current/reauthenticate"),
    ("post", "/v1/users/me/password"),
    ("delete", "/v1/users/me"),
    ("get", "/v1/health"),
    ("post", "/v1/messages"),
    ("post", "/v1/messages/delivered"),
    ("get", "/v1/messages/stream"),
    ("get", "/v1/conversations"),
    ("get", "/v1/conversations/{conversationId}/messages"),
    ("post", "/v1/tokens"),
    ("get", "/v1/.well-known/jwks.json"),
    ("get", "/v1/.well-known/oauth-authorization-server"),
    ("post", "/v1/introspect"),
}
# The only query parameters: cursors and page sizes, never a credential.
QUERY_PARAMETERS = {"before", "limit", "after"}


def test_health_answers_ok(api: Api) -> None:
    reply = api.request("GET", "/v1/health")

    assert (reply.status, reply.body) == (200, {"status": "ok"})


@pytest.mark.parametrize("raw", [b"{", b'{"applicationKey": }', b"\xff\xfe", b"{'single': 1}"])
def test_malformed_json_is_invalid_request(api: Api, raw: bytes) -> None:
    reply = api.request("POST", "/v1/sessions", body=raw, headers=JSON)

    assert_error(reply, 400, "invalid_request")


@pytest.mark.parametrize("payload", [[], "text", None, 42])
def test_json_that_is_not_an_object_is_invalid_request(api: Api, payload: object) -> None:
    assert_error(api.post("/v1/users", payload), 400, "invalid_request")


def test_a_missing_body_is_invalid_request(api: Api) -> None:
    assert_error(api.request("POST", "/v1/sessions/resume"), 400, "invalid_request")


def test_a_body_that_is_not_sent_as_json_is_invalid_request(api: Api) -> None:
    body = json.dumps({"applicationKey": api.application.key, "userTicket": "x.y"}).encode()

    reply = api.request("POST", "/v1/sessions", body=body, headers={"Content-Type": "text/plain"})

    assert_error(reply, 400, "invalid_request")


def test_a_body_over_16_kib_is_payload_too_large(api: Api) -> None:
    body = json.dumps({"padding": "x" * LIMIT_BYTES}).encode()

    reply = api.request("POST", "/v1/users", body=body, headers=JSON)

    assert_error(reply, 413, "payload_too_large")


def test_a_chunked_body_over_16_kib_is_payload_too_large(api: Api) -> None:
    body = json.dumps({"padding": "x" * LIMIT_BYTES}).encode()

    reply = api.request("POST", "/v1/users", body=body, headers=JSON, chunked=True)

    assert_error(reply, 413, "payload_too_large")


def test_max_body_bytes_sets_the_limit(fresh_service: Callable[..., RunningService]) -> None:
    api = fresh_service(max_body_bytes=1024).api
    body = json.dumps({"padding": "x" * 1024}).encode()

    reply = api.request("POST", "/v1/users", body=body, headers=JSON)

    assert_error(reply, 413, "payload_too_large")
    assert reply.body["message"] == "The request body is over 1024 bytes."


@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
def test_a_body_of_exactly_16_kib_is_read(api: Api, username: str, chunked: bool) -> None:
    session = api.new_session(username)
    body = json.dumps({**session, "padding": ""}).encode()
    body = json.dumps({**session, "padding": "x" * (LIMIT_BYTES - len(body))}).encode()
    assert len(body) == LIMIT_BYTES

    reply = api.request(
        "POST",
        "/v1/sessions/resume",
        body=body,
        headers=JSON,
        chunked=chunked,
    )

    assert reply.status == 200, reply


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/", "/v2/users", "/docs", "/redoc"])
def test_an_unknown_path_is_not_found(api: Api, path: str) -> None:
    assert_error(api.request("GET", path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/users", "POST"),
        ("PUT", "/v1/me", "GET"),
        ("GET", "/v1/sessions/current", "DELETE"),
    ],
)
def test_a_wrong_method_is_method_not_allowed(
    api: Api, method: str, path: str, allowed: str
) -> None:
    reply = api.request(method, path)

    assert_error(reply, 405, "method_not_allowed")
    assert reply.headers.get("allow") == allowed


def test_the_openapi_document_describes_every_endpoint(api: Api) -> None:
    reply = api.request("GET", "/v1/openapi.json")

    assert reply.status == 200
    paths = reply.body["paths"]
    assert {(method, path) for path, item in paths.items() for method in item} == ENDPOINTS
    for path, item in paths.items():
        for method, operation in item.items():
            assert "422" not in operation["responses"], (method, path)


def test_query_parameters_are_only_cursors_and_page_sizes_so_no_secret_is_ever_in_a_url() -> None:
    operations = [op for item in describe_api()["paths"].values() for op in item.values()]

    queries = {
        p["name"] for op in operations for p in op.get("parameters", []) if p["in"] == "query"
    }
    assert queries == QUERY_PARAMETERS


def test_the_served_openapi_document_is_the_one_the_schemathesis_run_uses(api: Api) -> None:
    assert api.request("GET", "/v1/openapi.json").body == describe_api()


def test_every_answer_carries_the_api_headers_and_no_server_version(
    api: Api, username: str
) -> None:
    session = api.new_session(username)
    replies = [
        api.request("GET", "/v1/health"),
        api.resume(session),  # a session object: must never be cached
        api.sign_in(username, "wrong password!"),
        api.request("GET", "/v1/nothing-here"),
        api.request("POST", "/v1/users", body=b"x" * (LIMIT_BYTES + 1), headers=JSON),
        api.request("GET", "/v1/me", headers=bearer({**session, "sessionSecret": "x" * 43})),
    ]

    for reply in replies:
        assert reply.headers["cache-control"] == "no-store", reply
        assert reply.headers["x-content-type-options"] == "nosniff", reply
        assert reply.headers["referrer-policy"] == "no-referrer", reply
        assert "server" not in reply.headers, reply


def test_an_unexpected_error_is_internal_error_without_a_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate_database(settings)
    application = ensure_application(settings)
    app = create_app(settings)

    def explode() -> None:
        raise RuntimeError("a bug with a secret detail")

    app.add_api_route("/v1/explode", explode)

    with caplog.at_level(logging.ERROR, logger="authservice"), serve_in_thread(app) as url:
        reply = Api(url, application).request("GET", "/v1/explode")

    assert_error(reply, 500, "internal_error")
    assert "secret detail" not in json.dumps(reply.body)
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "a bug with a secret detail" in str(logged[0].exc_info[1])

"""The example backend (examples/app_backend) as the dev server runs it, on the page's origin under
/api, over real HTTP: it says who is calling from the access token alone; for a device-bound token
only with a DPoP proof of the device's key, made for this very request and token, and once."""

from __future__ import annotations

import http.client
import json
import secrets
import urllib.parse
from typing import Any

import pytest

from authclient import MemoryStorage, SessionClient
from authclient.ec_signer import EcDeviceSigner
from harness.processes import Stack
from tests.support.backend import WHOAMI
from webapp.config import DEFAULT_AUTH_URL

PASSWORD = "correct horse battery"


def call(
    stack: Stack, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, Any, str]:
    """The status, the JSON body and the WWW-Authenticate header of one request."""
    address = urllib.parse.urlsplit(stack.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        body = json.loads(response.read() or b"null")
        return response.status, body, response.getheader("www-authenticate") or ""
    finally:
        connection.close()


def signed_in(stack: Stack, username: str, signer: EcDeviceSigner | None) -> SessionClient:
    client = SessionClient(
        stack.application_key, stack.url + DEFAULT_AUTH_URL, storage=MemoryStorage(), signer=signer
    )
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    return client


@pytest.fixture
def username() -> str:
    return "backend-" + secrets.token_hex(4)


@pytest.fixture
def bound(stack: Stack, username: str) -> SessionClient:
    return signed_in(stack, username, EcDeviceSigner())


def test_a_bearer_token_of_an_unbound_session_says_who_is_calling(
    stack: Stack, username: str
) -> None:
    token = signed_in(stack, username, None).get_access_token()

    status, body, _ = call(stack, WHOAMI, {"Authorization": token.authorization})

    assert status == 200, body
    assert body["userId"] == username and body["boundToDevice"] is False
    assert body["applicationKey"] == stack.application_key


def test_a_bound_token_with_its_proof_says_who_is_calling(
    stack: Stack, bound: SessionClient
) -> None:
    token = bound.get_access_token()
    proof = bound.make_dpop_proof("GET", stack.url + WHOAMI, token) or ""

    status, body, _ = call(stack, WHOAMI, {"Authorization": token.authorization, "DPoP": proof})

    assert status == 200, body
    assert body["userId"] == bound.user_id and body["boundToDevice"] is True


def test_a_copied_bound_token_without_the_key_is_refused(
    stack: Stack, bound: SessionClient
) -> None:
    token = bound.get_access_token()
    thief = EcDeviceSigner()
    thief.public_key(create=True)
    stolen_proof = SessionClient("app", "http://x.test/v1", signer=thief).make_dpop_proof(
        "GET", stack.url + WHOAMI, token
    )

    as_bearer = call(stack, WHOAMI, {"Authorization": f"Bearer {token.token}"})
    no_proof = call(stack, WHOAMI, {"Authorization": token.authorization})
    other_key = call(
        stack, WHOAMI, {"Authorization": token.authorization, "DPoP": stolen_proof or ""}
    )

    assert as_bearer[0] == 401 and 'error="invalid_token"' in as_bearer[2]
    assert no_proof[0] == 400 and 'error="invalid_request"' in no_proof[2]
    assert other_key[0] == 401 and 'DPoP error="invalid_dpop_proof"' in other_key[2]


def test_a_replayed_proof_or_one_for_another_url_method_or_token_is_refused(
    stack: Stack, bound: SessionClient
) -> None:
    token = bound.get_access_token()
    url = stack.url + WHOAMI
    proof = bound.make_dpop_proof("GET", url, token) or ""
    headers = {"Authorization": token.authorization}

    first = call(stack, WHOAMI, {**headers, "DPoP": proof})
    replayed = call(stack, WHOAMI, {**headers, "DPoP": proof})
    other_url = call(
        stack, WHOAMI, {**headers, "DPoP": bound.make_dpop_proof("GET", url + "x", token) or ""}
    )
    other_method = call(
        stack, WHOAMI, {**headers, "DPoP": bound.make_dpop_proof("POST", url, token) or ""}
    )
    other_token = call(
        stack,
        WHOAMI,
        {**headers, "DPoP": bound.make_dpop_proof("GET", url, "eyJ.other.token") or ""},
    )

    assert first[0] == 200
    for refused in (replayed, other_url, other_method, other_token):
        assert refused[0] == 401, refused
        assert 'error="invalid_dpop_proof"' in refused[2]
    assert "used before" in replayed[1]["detail"]["message"]


def test_no_token_is_asked_for_with_both_schemes(stack: Stack) -> None:
    status, _, challenge = call(stack, WHOAMI, {})

    assert status == 401
    assert challenge == 'Bearer, DPoP algs="ES256"'

"""Device-bound sessions: a session signed in with a `deviceKey` is used only with a proof of that
key (docs/api.md, "Device-bound sessions")."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.service.devices import Device, b64, bound_session, proved
from tests.service.helpers import Api, Reply, assert_error

RESUME = "/v1/sessions/resume"
SKEW_S = 300  # the clock-skew window docs/api.md states


def resume(api: Api, session: Mapping[str, Any], device: Device | None, **claims: Any) -> Reply:
    headers = proved(device.proof("POST", RESUME, session, **claims)) if device else None
    return api.post(RESUME, dict(session), headers=headers)


@pytest.fixture
def device() -> Device:
    return Device()


def test_a_bound_session_resumes_with_a_proof_of_its_key(
    backend_api: Api, username: str, device: Device
) -> None:
    session = bound_session(backend_api, username, device)

    reply = resume(backend_api, session, device)

    assert reply.status == 200, reply
    rotated = reply.body
    assert resume(backend_api, rotated, device).status == 200


def test_a_copy_without_the_key_is_refused_and_changes_nothing(
    backend_api: Api, username: str, device: Device
) -> None:
    session = bound_session(backend_api, username, device)

    assert_error(resume(backend_api, session, None), 401, "proof_required")
    assert_error(resume(backend_api, session, Device()), 401, "proof_invalid")

    assert resume(backend_api, session, device).status == 200


def test_a_refused_proof_with_a_rotated_out_secret_does_not_revoke_the_owners_session(
    backend_api: Api, username: str, device: Device
) -> None:
    """Presenting an old secret revokes an unbound session (theft detection). A thief who holds
    an old copy of a bound one, and not the key, must not be able to sign its owner out."""
    stolen = bound_session(backend_api, username, device)
    current = resume(backend_api, stolen, device).body
    time.sleep(1.2)  # past the shared service's 1 s grace window: the stolen secret is "reused"

    assert_error(resume(backend_api, stolen, Device()), 401, "proof_invalid")
    assert_error(resume(backend_api, stolen, None), 401, "proof_required")

    assert resume(backend_api, current, device).status == 200


def test_the_owner_presenting_a_rotated_out_secret_with_its_key_still_revokes(
    backend_api: Api, username: str, device: Device
) -> None:
    old = bound_session(backend_api, username, device)
    current = resume(backend_api, old, device).body
    time.sleep(1.2)

    assert_error(resume(backend_api, old, device), 401, "session_revoked")
    assert_error(resume(backend_api, current, device), 401, "session_revoked")


def test_a_replayed_proof_is_refused(backend_api: Api, username: str, device: Device) -> None:
    session = bound_session(backend_api, username, device)
    proof = device.proof("GET", "/v1/me", session)
    headers = {"Authorization": f"Bearer {session['sessionId']}.{session['sessionSecret']}"}

    assert backend_api.request("GET", "/v1/me", headers=headers | proved(proof)).status == 200
    replayed = backend_api.request("GET", "/v1/me", headers=headers | proved(proof))

    assert_error(replayed, 401, "proof_invalid")
    assert resume(backend_api, session, device).status == 200


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda: {"htm": "GET"}, id="another method"),
        pytest.param(lambda: {"htu": "/v1/me"}, id="another path"),
        pytest.param(lambda: {"sid": "ses_" + "0" * 32}, id="another session"),
        pytest.param(lambda: {"sth": b64(hashlib.sha256(b"x" * 43).digest())}, id="another secret"),
        pytest.param(lambda: {"iat": "now"}, id="iat not a number"),
        pytest.param(lambda: {"jti": "short"}, id="jti too short"),
    ],
)
def test_a_proof_for_anything_else_is_refused(
    api: Api, username: str, device: Device, claims: Callable[[], dict[str, Any]]
) -> None:
    session = bound_session(api, username, device)

    assert_error(resume(api, session, device, **claims()), 401, "proof_invalid")
    assert resume(api, session, device).status == 200


@pytest.mark.parametrize(
    "iat",
    [
        pytest.param(lambda: int(time.time()) - SKEW_S - 30, id="too old"),
        pytest.param(lambda: int(time.time()) + SKEW_S + 30, id="from the future"),
    ],
)
def test_a_proof_refused_for_its_time_alone_asks_for_the_nonce_and_changes_nothing(
    api: Api, username: str, device: Device, iat: Callable[[], int]
) -> None:
    session = bound_session(api, username, device)

    refused = resume(api, session, device, iat=iat())

    assert_error(refused, 401, "use_proof_nonce")
    assert (
        refused.headers["www-authenticate"] == 'SessionProof error="use_proof_nonce", algs="ES256"'
    )
    assert refused.headers["session-proof-nonce"]
    assert resume(api, session, device).status == 200


def test_a_proof_for_an_earlier_generation_is_refused(
    api: Api, username: str, device: Device
) -> None:
    first = bound_session(api, username, device)
    second = resume(api, first, device).body
    proof_for_first = device.proof("POST", RESUME, first)

    reply = api.post(RESUME, second, headers=proved(proof_for_first))

    assert_error(reply, 401, "proof_invalid")
    assert resume(api, second, device).status == 200


@pytest.mark.parametrize(
    "proof",
    [
        pytest.param("", id="empty"),
        pytest.param("a.b", id="two parts"),
        pytest.param("!!.??.##", id="not base64url"),
        pytest.param("e30.e30." + "A" * 86, id="no typ or alg"),
        pytest.param("x" * 5000, id="too long"),
    ],
)
def test_a_malformed_proof_is_refused_with_the_error_shape(
    api: Api, username: str, device: Device, proof: str
) -> None:
    session = bound_session(api, username, device)

    reply = api.post(RESUME, session, headers=proved(proof))

    assert_error(reply, 401, "proof_required" if not proof else "proof_invalid")
    assert reply.headers["www-authenticate"] == 'SessionProof algs="ES256"'


def test_every_use_of_a_bound_session_needs_a_proof(
    backend_api: Api, username: str, device: Device
) -> None:
    session = bound_session(backend_api, username, device)
    headers = {"Authorization": f"Bearer {session['sessionId']}.{session['sessionSecret']}"}
    other = bound_session(backend_api, username, Device())
    uses = [
        ("GET", "/v1/me", 200),
        ("GET", "/v1/users/me/sessions", 200),
        ("DELETE", f"/v1/users/me/sessions/{other['sessionId']}", 204),
        ("DELETE", "/v1/sessions/current", 204),
    ]

    for method, path, _ in uses:
        assert_error(backend_api.request(method, path, headers=headers), 401, "proof_required")
    for method, path, status in uses:
        proof = device.proof(method, path, session)
        assert backend_api.request(method, path, headers=headers | proved(proof)).status == status


def test_revoking_every_session_of_a_bound_session_needs_its_proof(
    api: Api, username: str, device: Device
) -> None:
    session = bound_session(api, username, device)
    headers = {"Authorization": f"Bearer {session['sessionId']}.{session['sessionSecret']}"}
    path = "/v1/users/me/sessions"

    assert_error(api.request("DELETE", path, headers=headers), 401, "proof_required")
    proof = device.proof("DELETE", path, session)
    assert api.request("DELETE", path, headers=headers | proved(proof)).status == 204


def test_unbound_sessions_need_no_proof_and_ignore_one(api: Api, username: str) -> None:
    session = api.new_session(username)

    assert api.resume(session).status == 200
    other = api.new_session(username)
    assert resume(api, other, Device()).status == 200


def test_password_sign_in_binds_too(api: Api, username: str, device: Device) -> None:
    assert api.sign_up(username).status == 201
    reply = api.post(
        "/v1/sessions",
        {
            "applicationKey": api.application.key,
            "username": username,
            "password": "correct horse battery",
            "deviceKey": device.jwk(),
        },
    )
    assert reply.status == 201, reply

    assert_error(resume(api, reply.body, None), 401, "proof_required")
    assert resume(api, reply.body, device).status == 200


def _not_on_the_curve() -> dict[str, Any]:
    jwk = Device().jwk()
    return {
        **jwk,
        "y": b64(
            (int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "="), "big") ^ 1).to_bytes(
                32, "big"
            )
        ),
    }


@pytest.mark.parametrize(
    ("device_key", "words"),
    [
        pytest.param(lambda: {**Device().jwk(), "crv": "P-384"}, "P-256", id="another curve"),
        pytest.param(lambda: {**Device().jwk(), "kty": "RSA"}, "EC", id="another kind"),
        pytest.param(lambda: {**Device().jwk(), "d": "A" * 43}, "private", id="the private key"),
        pytest.param(lambda: {**Device().jwk(), "x": "short"}, "43", id="short coordinate"),
        pytest.param(_not_on_the_curve, "not a point", id="off the curve"),
        pytest.param(lambda: "a string", "", id="not an object"),
    ],
)
def test_a_device_key_that_is_not_a_public_p256_key_is_refused_with_a_sentence(
    api: Api, username: str, device_key: Any, words: str
) -> None:
    body = {"applicationKey": api.application.key, "userTicket": api.ticket(username)}

    reply = api.post("/v1/sessions", body | {"deviceKey": device_key()})

    assert_error(reply, 400, "invalid_request")
    assert words in reply.body["message"]


def test_two_tabs_of_one_profile_resuming_at_once_share_one_new_secret(
    backend_api: Api, username: str, device: Device
) -> None:
    session = bound_session(backend_api, username, device)
    start = threading.Barrier(2)

    def tab(_: int) -> Reply:
        start.wait()
        return resume(backend_api, session, device)

    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(tab, range(2)))

    assert [reply.status for reply in replies] == [200, 200], replies
    assert replies[0].body["sessionSecret"] == replies[1].body["sessionSecret"]
    assert resume(backend_api, replies[0].body, device).status == 200


def test_a_device_whose_clock_is_two_hours_ahead_resumes_with_the_service_s_nonce(
    backend_api: Api, username: str, device: Device
) -> None:
    session = bound_session(backend_api, username, device)
    ahead = int(time.time()) + 2 * 3600

    refused = resume(backend_api, session, device, iat=ahead)
    assert_error(refused, 401, "use_proof_nonce")
    nonce = refused.headers["session-proof-nonce"]
    proof = device.proof("POST", RESUME, session, iat=ahead, nonce=nonce)
    resumed = backend_api.post(RESUME, dict(session), headers=proved(proof))

    assert resumed.status == 200, resumed
    assert resumed.headers["session-proof-nonce"]
    replayed = backend_api.post(RESUME, dict(session), headers=proved(proof))
    assert_error(replayed, 401, "proof_invalid")


def test_a_nonce_the_service_did_not_issue_or_issued_too_long_ago_is_refused(
    api: Api, username: str, device: Device
) -> None:
    session = bound_session(api, username, device)
    issued = resume(api, session, device, iat=int(time.time()) + 7200).headers[
        "session-proof-nonce"
    ]
    seconds, mac = issued.split(".")
    forged = f"{int(seconds) + 3600}.{mac}"

    assert_error(resume(api, session, device, nonce=forged), 401, "proof_invalid")
    assert_error(resume(api, session, device, nonce="not a nonce"), 401, "proof_invalid")
    assert resume(api, session, device, nonce=issued).status == 200

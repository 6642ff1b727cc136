"""Access tokens (docs/api.md, Access tokens), over real HTTP: issued to a live session without
rotating it, bound to the device key of a bound session, never past the session's end, for a
registered audience only; the JWKS and the metadata, cacheable; introspection that sees a sign-out
at once."""

from __future__ import annotations

import time
from typing import Any

from authclient.ec_signer import EcDeviceSigner
from authservice import Settings
from authservice.admin.applications import add_audience
from tests.service.helpers import Api, RunningService, assert_error, parse_time
from tests.service.tokens import ask_token, introspect, proof_header, thumbprint, unverified


def bound_session(api: Api, user_id: str, signer: EcDeviceSigner) -> dict[str, Any]:
    reply = api.post(
        "/v1/sessions",
        {
            "applicationKey": api.application.key,
            "userTicket": api.ticket(user_id),
            "deviceKey": signer.public_key(create=True),
        },
    )
    assert reply.status == 201, reply
    return dict(reply.body)


def test_a_live_session_gets_a_signed_token_naming_its_user_session_and_application(
    service: RunningService, username: str
) -> None:
    api = service.api
    session = api.new_session(username)

    reply = ask_token(api, session)

    assert reply.status == 200, reply
    assert set(reply.body) == {"accessToken", "tokenType", "expiresIn", "expiresAt"}
    assert reply.body["tokenType"] == "Bearer" and 295 <= reply.body["expiresIn"] <= 300
    header, claims = unverified(reply.body["accessToken"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == service.process.url + "/v1"
    assert claims["sub"] == username
    assert claims["aud"] == claims["client_id"] == api.application.key
    assert claims["sid"] == session["sessionId"]
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"] and "cnf" not in claims
    assert reply.headers["cache-control"] == "no-store"


def test_getting_a_token_rotates_nothing_and_every_token_is_new(
    service: RunningService, username: str
) -> None:
    api = service.api
    session = api.new_session(username)

    first, second = ask_token(api, session), ask_token(api, session)

    assert first.status == second.status == 200
    assert (
        unverified(first.body["accessToken"])[1]["jti"]
        != unverified(second.body["accessToken"])[1]["jti"]
    )
    # The same secret still works, as the current one: nothing was rotated.
    assert api.me(session).status == 200
    resumed = api.resume(session)
    assert resumed.status == 200 and resumed.body["sessionSecret"] != session["sessionSecret"]


def test_a_bound_session_gets_a_dpop_token_naming_its_device_key_and_needs_its_proof(
    service: RunningService, username: str
) -> None:
    api = service.api
    signer = EcDeviceSigner()
    session = bound_session(api, username, signer)

    without_proof = ask_token(api, session)
    with_proof = ask_token(
        api, session, headers=proof_header(signer, "POST", "/v1/tokens", session)
    )

    assert_error(without_proof, 401, "proof_required")
    assert with_proof.status == 200, with_proof
    assert with_proof.body["tokenType"] == "DPoP"
    claims = unverified(with_proof.body["accessToken"])[1]
    assert claims["cnf"] == {"jkt": thumbprint(signer)}


def test_a_token_never_outlives_its_session(fresh_service: Any, username: str) -> None:
    service = fresh_service(session_ttl_s=20)
    session = service.api.new_session(username)

    reply = ask_token(service.api, session)

    assert reply.status == 200
    claims = unverified(reply.body["accessToken"])[1]
    assert claims["exp"] <= parse_time(session["expiresAt"]).timestamp()
    assert reply.body["expiresIn"] <= 20


def test_a_token_names_a_registered_audience_and_no_other(
    service: RunningService, username: str
) -> None:
    api = service.api
    audience = "https://notes.example/api"
    settings = Settings(data_dir=service.data_dir, database_url=service.database_url)
    add_audience(settings, api.application.key, audience)
    session = api.new_session(username)

    registered = ask_token(api, session, {"audience": audience})
    other = ask_token(api, session, {"audience": "https://elsewhere.example"})
    another_application = ask_token(service.api_for("other"), session, {"audience": audience})

    assert registered.status == 200
    assert unverified(registered.body["accessToken"])[1]["aud"] == audience
    assert_error(other, 400, "invalid_request")
    assert other.body["field"] == "audience"
    # The session is the first application's: the audience is checked against its own.
    assert another_application.status == 200


def test_the_jwks_and_the_metadata_are_cacheable_and_name_the_configured_issuer_only(
    service: RunningService, username: str
) -> None:
    api = service.api
    token = ask_token(api, api.new_session(username)).body["accessToken"]

    keys = api.request("GET", "/v1/.well-known/jwks.json")
    metadata = api.request("GET", "/v1/.well-known/oauth-authorization-server")

    for reply in (keys, metadata):
        assert reply.status == 200
        assert reply.headers["cache-control"] == "public, max-age=300"
    (key,) = [key for key in keys.body["keys"] if key["kid"] == unverified(token)[0]["kid"]]
    assert {key["kty"], key["crv"], key["use"], key["alg"]} == {"EC", "P-256", "sig", "ES256"}
    assert "d" not in key
    issuer = service.process.url + "/v1"
    assert metadata.body["issuer"] == issuer
    assert metadata.body["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert metadata.body["introspection_endpoint"] == issuer + "/introspect"
    # A request cannot name the issuer: the metadata, which caches keep, would send verifiers to
    # any JWKS.
    elsewhere = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    spoofed = api.request("GET", "/v1/.well-known/oauth-authorization-server", headers=elsewhere)
    assert spoofed.body["issuer"] == issuer
    assert spoofed.body["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert unverified(token)[1]["iss"] == issuer


def test_introspection_says_active_until_the_session_ends_then_inactive_at_once(
    service: RunningService, username: str
) -> None:
    api = service.api
    session = api.new_session(username)
    token = ask_token(api, session).body["accessToken"]

    live = introspect(api, token)
    api.sign_out(session)
    signed_out = introspect(api, token)

    assert live.status == 200 and live.body["active"] is True
    assert live.body["sub"] == username and live.body["sid"] == session["sessionId"]
    assert live.body["token_type"] == "Bearer"
    assert signed_out.status == 200 and signed_out.body == {"active": False}


def test_introspection_says_inactive_for_what_is_not_a_live_token_of_this_application(
    service: RunningService, username: str
) -> None:
    api, other = service.api, service.api_for("introspecting")
    token = ask_token(api, api.new_session(username)).body["accessToken"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"

    assert introspect(other, token).body == {"active": False}
    assert introspect(api, tampered).body == {"active": False}
    assert introspect(api, "not-a-token").body == {"active": False}


def test_introspection_needs_the_application_s_key_and_secret(
    service: RunningService, username: str
) -> None:
    api = service.api
    token = ask_token(api, api.new_session(username)).body["accessToken"]

    wrong_secret = introspect(api, token, secret="not-the-secret")
    unknown = introspect(api, token, key="app_nobody")
    no_form = api.request("POST", "/v1/introspect", json_body={"token": token})

    for reply in (wrong_secret, unknown, no_form):
        assert_error(reply, 401, "invalid_client")
        assert reply.headers["www-authenticate"].startswith("Basic ")


def test_an_expired_token_is_inactive(fresh_service: Any, username: str) -> None:
    service = fresh_service(access_token_ttl_s=1)
    token = ask_token(service.api, service.api.new_session(username)).body["accessToken"]

    time.sleep(1.5)

    assert introspect(service.api, token).body == {"active": False}

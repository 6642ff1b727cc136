"""Our access tokens as independent libraries see them, over real HTTP: PyJWT and joserfc accept
them with the service's JWKS, and refuse them with a wrong audience, past their expiry, with a
tampered payload, or signed by a key the JWKS does not hold. Our own verifier refuses `alg: none`,
HS256 keyed with the public key, and, after a rotation and the removal of the old key, what that
key signed (which verified until then)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt as jose_jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
)
from joserfc.jwk import KeySet

from authclient.verifier import AccessTokenVerifier, InvalidToken, UnknownKey
from authclient.verifier.jose import b64url
from authclient.verifier.jwks import JwksCache, fetch_url
from authservice.tokens.jose import jwk_thumbprint, public_jwk, sign_jws
from tests.service.helpers import RunningService
from tests.service.tokens import ask_token, unverified


def issuer_of(service: RunningService) -> str:
    return service.process.url + "/v1"


def fresh_token(service: RunningService, user_id: str) -> str:
    reply = ask_token(service.api, service.api.new_session(user_id))
    assert reply.status == 200, reply
    return str(reply.body["accessToken"])


def jwks(service: RunningService) -> dict[str, Any]:
    return dict(json.loads(fetch_url(issuer_of(service) + "/.well-known/jwks.json", 5)))


def tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = unverified(token)[1] | {"sub": "mallory"}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{signature}"


def signed_elsewhere(token: str) -> str:
    """The same claims signed by a key of our own, under its own kid: not in the JWKS."""
    key = ec.generate_private_key(ec.SECP256R1())
    header = {"typ": "at+jwt", "alg": "ES256", "kid": jwk_thumbprint(public_jwk(key.public_key()))}
    return sign_jws(header, unverified(token)[1], key)


def pyjwt_decode(service: RunningService, token: str, audience: str) -> dict[str, Any]:
    client = pyjwt.PyJWKClient(issuer_of(service) + "/.well-known/jwks.json", cache_keys=False)
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = pyjwt.decode(
        token, key.key, algorithms=["ES256"], audience=audience, issuer=issuer_of(service)
    )
    return claims


def joserfc_decode(service: RunningService, token: str, audience: str) -> dict[str, Any]:
    decoded = jose_jwt.decode(token, KeySet.import_key_set(jwks(service)), algorithms=["ES256"])
    registry = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer_of(service)},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    registry.validate(decoded.claims)
    return dict(decoded.claims)


def test_pyjwt_accepts_our_tokens_and_refuses_the_bad_ones(
    service: RunningService, username: str
) -> None:
    token = fresh_token(service, username)
    audience = service.application.key

    assert pyjwt_decode(service, token, audience)["sub"] == username
    with pytest.raises(pyjwt.InvalidAudienceError):
        pyjwt_decode(service, token, "app_another")
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt_decode(service, tampered(token), audience)
    with pytest.raises(pyjwt.PyJWKClientError):
        pyjwt_decode(service, signed_elsewhere(token), audience)


def test_joserfc_accepts_our_tokens_and_refuses_the_bad_ones(
    service: RunningService, username: str
) -> None:
    token = fresh_token(service, username)
    audience = service.application.key

    assert joserfc_decode(service, token, audience)["sub"] == username
    with pytest.raises(InvalidClaimError):
        joserfc_decode(service, token, "app_another")
    with pytest.raises(BadSignatureError):
        joserfc_decode(service, tampered(token), audience)
    with pytest.raises(InvalidKeyIdError):
        joserfc_decode(service, signed_elsewhere(token), audience)


def test_both_refuse_an_expired_token(fresh_service: Any, username: str) -> None:
    service = fresh_service(access_token_ttl_s=1)
    token = fresh_token(service, username)
    time.sleep(2.1)

    with pytest.raises(pyjwt.ExpiredSignatureError):
        pyjwt_decode(service, token, service.application.key)
    with pytest.raises(ExpiredTokenError):
        joserfc_decode(service, token, service.application.key)


def test_our_verifier_refuses_alg_none_and_hs256_keyed_with_the_public_key(
    service: RunningService, username: str
) -> None:
    token = fresh_token(service, username)
    verifier = AccessTokenVerifier(issuer=issuer_of(service), audience=service.application.key)
    header, claims = unverified(token)
    public = jwks(service)["keys"][0]
    none_token = f"{b64url(json.dumps(header | {'alg': 'none'}).encode())}.{token.split('.')[1]}."
    hs256_input = ".".join(
        b64url(json.dumps(part).encode()) for part in (header | {"alg": "HS256"}, claims)
    )
    mac = hmac.new(json.dumps(public).encode(), hs256_input.encode(), hashlib.sha256).digest()
    hs256 = f"{hs256_input}.{b64url(mac)}"

    assert verifier.verify(token).user_id == username
    for forged in (none_token, hs256):
        with pytest.raises(InvalidToken):
            verifier.verify(forged)


def cli(service: RunningService, *args: str) -> subprocess.CompletedProcess[str]:
    database = ["--data-dir", str(service.data_dir), "--database-url", service.database_url]
    command = [sys.executable, "-m", "authservice", *args, *database]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_after_a_rotation_old_tokens_verify_until_their_key_is_removed(
    fresh_service: Any, username: str
) -> None:
    service = fresh_service()
    before = fresh_token(service, username)
    old_kid = unverified(before)[0]["kid"]

    rotated = cli(service, "rotate-signing-key")
    after = fresh_token(service, username)
    refused = cli(service, "remove-signing-key", "--kid", old_kid)

    assert rotated.returncode == 0, rotated.stderr
    new_kid = json.loads(rotated.stdout)["kid"]
    assert unverified(after)[0]["kid"] == new_kid != old_kid
    assert {key["kid"] for key in jwks(service)["keys"]} == {old_kid, new_kid}
    issuer, audience = issuer_of(service), service.application.key
    for token in (before, after):
        verifier = AccessTokenVerifier(issuer=issuer, audience=audience)
        assert verifier.verify(token).user_id == username
        assert pyjwt_decode(service, token, audience)["sub"] == username
    assert refused.returncode == 2 and "may be valid until" in refused.stderr

    removed = cli(service, "remove-signing-key", "--kid", old_kid, "--force")

    assert removed.returncode == 0, removed.stderr
    assert {key["kid"] for key in jwks(service)["keys"]} == {new_kid}
    verifier = AccessTokenVerifier(issuer=issuer, audience=audience)
    with pytest.raises(UnknownKey):
        verifier.verify(before)
    assert verifier.verify(after).user_id == username


def test_the_signing_key_cannot_be_removed_while_it_signs(
    fresh_service: Any, username: str
) -> None:
    service = fresh_service()
    kid = unverified(fresh_token(service, username))[0]["kid"]

    refused = cli(service, "remove-signing-key", "--kid", kid, "--force")

    assert refused.returncode == 2 and "rotate-signing-key first" in refused.stderr


def test_a_verifier_fetches_the_jwks_again_for_a_new_key_but_not_for_every_unknown_one(
    fresh_service: Any, username: str
) -> None:
    service = fresh_service()
    issuer = issuer_of(service)
    cache = JwksCache(issuer + "/.well-known/jwks.json", refetch_interval_s=0.5)
    verifier = AccessTokenVerifier(issuer=issuer, audience=service.application.key, jwks=cache)
    verifier.verify(fresh_token(service, username))
    forged = signed_elsewhere(fresh_token(service, username))

    for _ in range(5):
        with pytest.raises(UnknownKey):
            verifier.verify(forged)
    assert cache.fetches == 1  # within the interval, no fetch for a made-up kid
    time.sleep(0.6)
    assert cli(service, "rotate-signing-key").returncode == 0
    assert verifier.verify(fresh_token(service, username)).user_id == username
    assert cache.fetches == 2

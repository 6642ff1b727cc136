"""`SessionClient.get_access_token()` against the real service: one token held until shortly before
it expires, shared by the tabs of one storage (the second adopts the first's, asking nothing),
refreshed by the keep-alive, announced by TOKEN_REFRESHED, gone with the session; and DPoP proofs
made with the device key for a bound one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from authclient import Event, HttpRequest, HttpResponse, MemoryStorage, SessionClient, errors
from authclient.access_tokens import REFRESH_BEFORE_S
from authclient.ec_signer import EcDeviceSigner
from authclient.keepalive import utc_now
from authclient.transport import UrllibTransport
from authclient.verifier.dpop import access_token_hash
from authclient.verifier.jose import jwk_thumbprint, read_jws
from tests.client.helpers import PASSWORD, ClientFactory, Recorder


class CountingTransport:
    """urllib, counting the token requests."""

    def __init__(self) -> None:
        self.inner = UrllibTransport(5.0)
        self.token_requests = 0

    def send(self, request: HttpRequest) -> HttpResponse:
        if request.url.endswith("/tokens"):
            self.token_requests += 1
        return self.inner.send(request)


def signed_in_tab(
    make_client: ClientFactory, username: str, storage: MemoryStorage, **kwargs: Any
) -> tuple[SessionClient, CountingTransport]:
    transport = CountingTransport()
    client = make_client(storage=storage, transport=transport, **kwargs)
    if storage.get_item(client.storage_key) is None:
        client.new_user({"username": username, "password": PASSWORD})
        client.start({"username": username, "password": PASSWORD})
    else:
        client.resume_stored()
    return client, transport


def test_a_token_is_held_until_shortly_before_it_expires(
    make_client: ClientFactory, username: str
) -> None:
    client, transport = signed_in_tab(make_client, username, MemoryStorage())
    events = Recorder(client)

    first = client.get_access_token()
    again = client.get_access_token()

    assert again is first and transport.token_requests == 1
    assert first.token_type == "Bearer" and first.authorization == f"Bearer {first.token}"
    assert timedelta(seconds=290) < first.expires_at - utc_now() <= timedelta(seconds=300)
    assert events.events == [Event.TOKEN_REFRESHED]
    payload = events.payload(Event.TOKEN_REFRESHED)
    assert payload["source"] == "service" and payload["audience"] is None
    assert first.token not in repr(first) and first.token not in str(payload)


def test_a_second_tab_adopts_the_first_tab_s_token_without_asking(
    make_client: ClientFactory, username: str
) -> None:
    storage = MemoryStorage()
    first_tab, first_transport = signed_in_tab(make_client, username, storage)
    second_tab, second_transport = signed_in_tab(make_client, username, storage)

    token = first_tab.get_access_token()
    adopted = second_tab.sync_access_tokens()
    taken = second_tab.get_access_token()

    assert adopted == 1 and taken.token == token.token
    assert (first_transport.token_requests, second_transport.token_requests) == (1, 0)


def test_the_keep_alive_gets_a_new_token_before_the_old_one_expires(
    make_client: ClientFactory, username: str
) -> None:
    client, transport = signed_in_tab(make_client, username, MemoryStorage())
    old = client.get_access_token()

    waiting = client.keep_session_alive()
    due = client.keep_session_alive(old.expires_at - timedelta(seconds=REFRESH_BEFORE_S - 1))

    assert waiting.next_check_s is not None
    assert (
        REFRESH_BEFORE_S < old.expires_at.timestamp() - utc_now().timestamp() - waiting.next_check_s
    )
    assert due.outcome == "waiting" and transport.token_requests == 2
    assert client.get_access_token().token != old.token


def test_signing_out_drops_the_token_here_and_in_storage(
    make_client: ClientFactory, username: str
) -> None:
    storage = MemoryStorage()
    client, _ = signed_in_tab(make_client, username, storage)
    client.get_access_token()

    client.terminate()

    assert storage.get_item(client.access_tokens_key) is None
    with pytest.raises(errors.NotSignedIn):
        client.get_access_token()


def test_a_session_revoked_elsewhere_is_dropped_when_a_token_is_asked_for(
    make_client: ClientFactory, username: str
) -> None:
    client, _ = signed_in_tab(make_client, username, MemoryStorage())
    other = make_client()
    other.start({"username": username, "password": PASSWORD})
    other.terminate(everywhere=True)
    events = Recorder(client)

    with pytest.raises(errors.SessionRevoked):
        client.get_access_token()

    assert not client.is_signed_in and Event.SESSION_REJECTED in events.events


def test_a_bound_session_s_token_is_dpop_and_its_proofs_name_the_request_and_the_token(
    make_client: ClientFactory, username: str
) -> None:
    signer = EcDeviceSigner()
    client, _ = signed_in_tab(make_client, username, MemoryStorage(), signer=signer)

    token = client.get_access_token()
    proof = client.make_dpop_proof("GET", "https://api.example/notes?page=2", token)

    assert token.token_type == "DPoP"
    assert proof is not None
    header, claims, _, _ = read_jws(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert jwk_thumbprint(header["jwk"]) == jwk_thumbprint(signer.public_key(create=False) or {})
    assert claims["htm"] == "GET" and claims["htu"] == "https://api.example/notes"
    assert claims["ath"] == access_token_hash(token.token)
    assert client.make_dpop_proof("GET", "https://api.example/notes", token) != proof

"""A client with a device key (`signer=`) binds its sessions: a copy of the stored session object
is worthless to a client without that key, and the owner goes on as before."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from authclient import MemoryStorage, SessionClient, errors, protocol
from authclient.ec_signer import EcDeviceSigner
from tests.client.helpers import PASSWORD, ClientFactory, stored


@pytest.fixture
def device() -> EcDeviceSigner:
    return EcDeviceSigner()


@pytest.fixture
def bound(make_client: ClientFactory, username: str, device: EcDeviceSigner) -> SessionClient:
    client = make_client(signer=device)
    client.new_user({"username": username, "password": PASSWORD})
    client.start({"username": username, "password": PASSWORD})
    return client


def copy_of_storage(client: SessionClient) -> MemoryStorage:
    copy = MemoryStorage()
    value = client.storage.get_item(client.storage_key)
    assert value is not None
    copy.set_item(client.storage_key, value)
    return copy


def test_a_bound_session_resumes_and_answers_who_am_i_on_its_own_device(
    bound: SessionClient, make_client: ClientFactory, device: EcDeviceSigner
) -> None:
    next_visit = make_client(storage=bound.storage, signer=device)

    assert next_visit.resume_stored().outcome == "resumed"
    assert next_visit.who_am_i()["userId"] == bound.user_id


@pytest.mark.parametrize(
    ("elsewhere", "reason"),
    [
        pytest.param(None, "proof_required", id="a client without a key"),
        pytest.param(EcDeviceSigner(), "proof_required", id="a device whose key was lost"),
        pytest.param("other key", "proof_invalid", id="a device with a key of its own"),
    ],
)
def test_a_copied_session_object_is_refused_elsewhere_and_removed_there_only(
    bound: SessionClient,
    make_client: ClientFactory,
    device: EcDeviceSigner,
    elsewhere: EcDeviceSigner | str | None,
    reason: str,
) -> None:
    signer = elsewhere
    if elsewhere == "other key":
        signer = EcDeviceSigner()
        signer.public_key(create=True)
    thief = make_client(storage=copy_of_storage(bound), signer=signer)

    result = thief.resume_stored()

    assert (result.outcome, result.reason) == ("login_needed", reason)
    assert isinstance(result.error, errors.ProofRejected)
    assert stored(thief) is None
    owner = make_client(storage=bound.storage, signer=device)
    assert owner.resume_stored().outcome == "resumed"


def test_sign_out_with_a_proof_ends_the_session_for_good(
    bound: SessionClient, make_client: ClientFactory, device: EcDeviceSigner
) -> None:
    copy = copy_of_storage(bound)

    bound.terminate()

    later = make_client(storage=copy, signer=device)
    assert later.resume_stored().reason == "session_revoked"


def test_without_a_signer_sessions_are_not_bound(
    signed_in: SessionClient, make_client: ClientFactory
) -> None:
    elsewhere = make_client(storage=copy_of_storage(signed_in))

    assert elsewhere.resume_stored().outcome == "resumed"


def test_the_proof_never_appears_in_a_requests_repr(bound: SessionClient) -> None:
    request = protocol.build_request(
        "GET", bound.auth_url, "/me", headers={"Session-Proof": "eyJ.secret.sig"}
    )

    assert "secret" not in repr(request)


def test_a_device_key_file_is_private_and_gives_the_same_key_again(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "device.pem"

    first = EcDeviceSigner.load_or_create(path)
    again = EcDeviceSigner.load_or_create(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.public_key(create=False) == again.public_key(create=False)
    assert "PRIVATE" not in repr(first)


class BlockedKeyStore:
    """A signer whose key storage is blocked (IndexedDB off in a private window, say)."""

    def public_key(self, *, create: bool) -> dict[str, str] | None:
        raise OSError("key storage is blocked")

    def sign(self, data: bytes) -> bytes:
        raise OSError("key storage is blocked")


def test_a_signer_that_fails_gives_an_unbound_session_rather_than_no_session(
    make_client: ClientFactory, username: str
) -> None:
    client = make_client(signer=BlockedKeyStore())
    client.new_user({"username": username, "password": PASSWORD})

    client.start({"username": username, "password": PASSWORD})

    assert make_client(storage=copy_of_storage(client)).resume_stored().outcome == "resumed"
    assert client.resume_stored().outcome == "resumed"

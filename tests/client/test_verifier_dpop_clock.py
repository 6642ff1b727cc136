"""The verifier's DPoP window against a device whose clock is wrong (docs/security.md, Access
tokens): a proof dated by a clock minutes off is taken, as the auth service takes that device's
Session-Proofs; one dated further off is not, and a proof is taken once however wide the window."""

from __future__ import annotations

import time

import pytest

from authclient.ec_signer import EcDeviceSigner
from authclient.proofs import make_dpop_proof
from authclient.verifier import DpopChecker, InvalidProof, MemoryReplayCache, ReplayedProof
from authclient.verifier.jose import jwk_thumbprint

URL = "https://api.example/notes"
TOKEN = "eyJ.a-token.signature"


def proof_and_thumbprint(signer: EcDeviceSigner) -> tuple[str, str]:
    key = signer.public_key(create=True)
    assert key is not None
    proof = make_dpop_proof(signer, "GET", URL, TOKEN)
    assert proof is not None
    return proof, jwk_thumbprint(key)


@pytest.mark.parametrize("device_off_by_s", [-290, -60, 60, 290])
def test_a_proof_from_a_device_clock_minutes_off_is_taken_once(device_off_by_s: float) -> None:
    proof, jkt = proof_and_thumbprint(EcDeviceSigner())
    # The backend's clock, seen from the device that dated the proof.
    checker = DpopChecker(MemoryReplayCache(), clock=lambda: time.time() - device_off_by_s)

    checker.check(proof, method="GET", url=URL, token=TOKEN, jkt=jkt)

    with pytest.raises(ReplayedProof):
        checker.check(proof, method="GET", url=URL, token=TOKEN, jkt=jkt)


@pytest.mark.parametrize("device_off_by_s", [-310, 310])
def test_a_proof_from_a_device_clock_further_off_is_refused(device_off_by_s: float) -> None:
    proof, jkt = proof_and_thumbprint(EcDeviceSigner())
    checker = DpopChecker(MemoryReplayCache(), clock=lambda: time.time() - device_off_by_s)

    with pytest.raises(InvalidProof, match="iat is out of range"):
        checker.check(proof, method="GET", url=URL, token=TOKEN, jkt=jkt)

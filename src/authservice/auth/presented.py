"""The session a request presents: its id and secret (in the Bearer header, or in the body of a
resume), the address it comes from and the proof of its device's key. One value, handed from the
HTTP layer to every use case of auth and messaging alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from authservice.auth.proofs import NO_PROOF, ProofRequest

__all__ = ["PresentedSession"]


@dataclass(frozen=True)
class PresentedSession:
    session_id: str
    session_secret: str = field(repr=False)
    client_address: str
    # NO_PROOF for a caller in this process: enough for an unbound session only.
    proof: ProofRequest = NO_PROOF

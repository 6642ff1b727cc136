"""What the routes share, as FastAPI dependencies: the services (built once per app by the
composition root), the client's address and device label, the proof a request carries, and the
session it presents in its `Authorization` header.

The dependencies are `async`, though none of them waits for anything: FastAPI runs a plain `def`
dependency in a worker thread, and each such hop costs about as much CPU as a whole hello-world
request (benchmarks/service.py)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from authservice.auth.devices import describe_user_agent
from authservice.auth.presented import PresentedSession
from authservice.auth.proofs import PROOF_HEADER, ProofRequest
from authservice.auth.rules import SESSION_ID_PATTERN, SESSION_SECRET_PATTERN
from authservice.auth.use_cases import AuthService
from authservice.composition import Services
from authservice.core.errors import SessionUnknown
from authservice.database.health import DatabaseCheck
from authservice.messaging.use_cases import MessagingService
from authservice.tokens.use_cases import TokenService

__all__ = [
    "Auth",
    "DatabaseHealth",
    "Messaging",
    "Presented",
    "Proof",
    "Tokens",
    "client_address",
    "device_label",
]

_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_SESSION_SECRET = re.compile(SESSION_SECRET_PATTERN)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def device_label(request: Request) -> str | None:
    return describe_user_agent(request.headers.get("user-agent"))


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _auth(request: Request) -> AuthService:
    return _services(request).auth


async def _messaging(request: Request) -> MessagingService:
    return _services(request).messaging


async def _tokens(request: Request) -> TokenService:
    return _services(request).tokens


async def _database_check(request: Request) -> DatabaseCheck:
    return _services(request).database_check


async def _proof(
    request: Request,
    proof: Annotated[
        str | None,
        Header(
            alias=PROOF_HEADER,
            description="For a device-bound session: the proof of possession of its key "
            "(docs/api.md, Device-bound sessions)",
        ),
    ] = None,
) -> ProofRequest:
    return ProofRequest(proof=proof, method=request.method, path=request.url.path)


Proof = Annotated[ProofRequest, Depends(_proof)]


async def _presented(
    credentials: Annotated[
        HTTPAuthorizationCredentials | None,
        Depends(
            HTTPBearer(
                auto_error=False,
                description="`<sessionId>.<sessionSecret>` with the current sessionSecret: "
                "a rotated-out one revokes the session",
            )
        ),
    ],
    request: Request,
    proof: Proof,
) -> PresentedSession:
    session_id, _, secret = credentials.credentials.partition(".") if credentials else ("", "", "")
    if not (_SESSION_ID.fullmatch(session_id) and _SESSION_SECRET.fullmatch(secret)):
        raise SessionUnknown(
            "Send the header Authorization: Bearer <sessionId>.<sessionSecret>, with the "
            "current sessionSecret."
        )
    return PresentedSession(session_id, secret, client_address(request), proof)


Auth = Annotated[AuthService, Depends(_auth)]
Messaging = Annotated[MessagingService, Depends(_messaging)]
Tokens = Annotated[TokenService, Depends(_tokens)]
DatabaseHealth = Annotated[DatabaseCheck, Depends(_database_check)]
# The session in the Authorization header, with the request's address and proof.
Presented = Annotated[PresentedSession, Depends(_presented)]

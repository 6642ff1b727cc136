"""What the routes share, as FastAPI dependencies: the services (built once per app by the
composition root), the client's address and device label, the proof a request carries, and the
session it presents in its `Authorization` header.

The dependencies are `async`, though none of them waits for anything: FastAPI runs a plain `def`
dependency in a worker thread, and each such hop costs about as much CPU as a whole hello-world
request (benchmarks/service.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from authservice.auth.devices import describe_user_agent
from authservice.auth.presented import PresentedSession
from authservice.auth.proofs import NO_PROOF, PROOF_HEADER, ProofRequest
from authservice.auth.rules import SESSION_ID_PATTERN, SESSION_SECRET_PATTERN
from authservice.auth.use_cases import AuthService
from authservice.composition import Services
from authservice.core.errors import SessionUnknown
from authservice.database.health import DatabaseCheck
from authservice.messaging.use_cases import MessagingService
from authservice.tokens.use_cases import TokenService

__all__ = [
    "PROOF_PARAMETER",
    "Auth",
    "DatabaseHealth",
    "Messaging",
    "Presented",
    "Tokens",
    "client_address",
    "device_label",
    "document_presented_session",
    "proof_of",
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


_PROOF_DESCRIPTION = (
    "For a device-bound session: the proof of possession of its key (docs/api.md, Device-bound "
    "sessions)"
)
_BEARER_DESCRIPTION = (
    "`<sessionId>.<sessionSecret>` with the current sessionSecret: a rotated-out one revokes the "
    "session"
)


def proof_of(request: Request) -> ProofRequest:
    """The proof a request carries in its `Session-Proof` header (`PROOF_PARAMETER`), if any."""
    proof = request.headers.get(PROOF_HEADER)
    if proof is None:
        # Only a proof is checked against the method and path: without one, the request's URL
        # is not built (Starlette parses it from the scope: a twentieth of a resume's CPU).
        return NO_PROOF
    return ProofRequest(proof=proof, method=request.method, path=request.url.path)


# The `Session-Proof` header in the OpenAPI document, as FastAPI would write a Header parameter:
# the routes read it themselves (`proof_of`), one dependency less for FastAPI to walk.
PROOF_PARAMETER = {
    "name": PROOF_HEADER,
    "in": "header",
    "required": False,
    "schema": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": _PROOF_DESCRIPTION,
        "title": PROOF_HEADER,
    },
    "description": _PROOF_DESCRIPTION,
}


async def _presented(request: Request) -> PresentedSession:
    """The session in the `Authorization` header, with the request's address and proof, read
    from the headers here: as FastAPI's HTTPBearer and Header dependencies, it would be three
    dependencies, which FastAPI walks on every request (0.10 to 0.15 ms of a `GET /v1/me`,
    docs/performance.md). The OpenAPI document describes the scheme and the header all the same
    (`document_presented_session`)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = scheme.lower() == "bearer"
    session_id, _, secret = credentials.partition(".") if bearer else ("", "", "")
    if not (_SESSION_ID.fullmatch(session_id) and _SESSION_SECRET.fullmatch(secret)):
        raise SessionUnknown(
            "Send the header Authorization: Bearer <sessionId>.<sessionSecret>, with the "
            "current sessionSecret."
        )
    return PresentedSession(session_id, secret, client_address(request), proof_of(request))


def document_presented_session(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """In the OpenAPI `document` of these routes: the Bearer scheme and the proof's header on
    each operation that takes `Presented`, as FastAPI would have written them for HTTPBearer
    and a Header parameter."""
    components = document.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes["HTTPBearer"] = {"type": "http", "scheme": "bearer", "description": _BEARER_DESCRIPTION}
    for route in routes:
        if not isinstance(route, APIRoute) or not _takes(route.dependant, _presented):
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            operation.setdefault("parameters", []).append(PROOF_PARAMETER)
            operation["security"] = [{"HTTPBearer": []}]


def _takes(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _takes(d, call) for d in dependant.dependencies)


Auth = Annotated[AuthService, Depends(_auth)]
Messaging = Annotated[MessagingService, Depends(_messaging)]
Tokens = Annotated[TokenService, Depends(_tokens)]
DatabaseHealth = Annotated[DatabaseCheck, Depends(_database_check)]
# The session in the Authorization header, with the request's address and proof.
Presented = Annotated[PresentedSession, Depends(_presented)]

"""The HTTP routes under /v1: they translate between HTTP and AuthService, nothing more.

Sign-up and sign-in are `async`: they wait for the password-hashing pool without holding one of
the server's worker threads. /v1/health is `async` too, and asks the database in a thread of its
own, so it answers even while every worker thread is busy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from authservice.errors import SessionUnknown
from authservice.proofs import PROOF_HEADER, ProofRequest
from authservice.rules import SESSION_ID_PATTERN, SESSION_SECRET_PATTERN
from authservice.schemas import (
    ErrorBody,
    Health,
    Me,
    ResumeRequest,
    SessionList,
    SessionObject,
    SignInRequest,
    SignUpRequest,
    UserCreated,
)
from authservice.service import AuthService
from authservice.user_agents import describe_user_agent

__all__ = [
    "ERRORS",
    "Proof",
    "Service",
    "SessionCredentials",
    "client_address",
    "error_responses",
    "router",
]

router = APIRouter(prefix="/v1")

# What each status means, for the OpenAPI document.
ERRORS = {
    400: "`invalid_request`: malformed JSON, a missing or wrongly typed field, a broken rule",
    401: "`unknown_application`, `invalid_credentials`, `invalid_ticket`, `session_unknown`, "
    "`session_expired`, `session_revoked`, or for a device-bound session `proof_required` or "
    "`proof_invalid`",
    404: "`no_such_session`: none of this user's sessions has that id (whoever else's it is)",
    409: "`username_taken`",
    413: "`payload_too_large`: the body is over the limit (16 KiB by default)",
    429: "`rate_limited`: too many attempts; see the `Retry-After` header (seconds)",
    503: "`busy` (every password-hashing worker is busy) or `database_unavailable`; see the "
    "`Retry-After` header (seconds)",
}
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_SESSION_SECRET = re.compile(SESSION_SECRET_PATTERN)


def error_responses(
    *statuses: int, described: Mapping[int, str] = ERRORS, model: type[ErrorBody] = ErrorBody
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route that may answer these error statuses."""
    return {status: {"model": model, "description": described[status]} for status in statuses}


def _service(request: Request) -> AuthService:
    service: AuthService = request.app.state.auth_service
    return service


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _device_label(request: Request) -> str | None:
    return describe_user_agent(request.headers.get("user-agent"))


def _session_credentials(
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
) -> tuple[str, str]:
    session_id, _, secret = credentials.credentials.partition(".") if credentials else ("", "", "")
    if not (_SESSION_ID.fullmatch(session_id) and _SESSION_SECRET.fullmatch(secret)):
        raise SessionUnknown(
            "Send the header Authorization: Bearer <sessionId>.<sessionSecret>, with the "
            "current sessionSecret."
        )
    return session_id, secret


def _proof(
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


Service = Annotated[AuthService, Depends(_service)]
SessionCredentials = Annotated[tuple[str, str], Depends(_session_credentials)]
Proof = Annotated[ProofRequest, Depends(_proof)]


@router.post(
    "/users",
    status_code=201,
    summary="Sign up",
    responses=error_responses(400, 401, 409, 413, 429, 503),
)
async def sign_up(body: SignUpRequest, request: Request, service: Service) -> UserCreated:
    user_id = await service.sign_up(
        body.application_key, body.username, body.password, client_address(request)
    )
    return UserCreated(user_id=user_id, username=body.username)


@router.post(
    "/sessions",
    status_code=201,
    summary="Sign in with a password or a ticket",
    responses=error_responses(400, 401, 413, 429, 503),
)
async def sign_in(body: SignInRequest, request: Request, service: Service) -> SessionObject:
    address = client_address(request)
    device_key = None if body.device_key is None else body.device_key.stored()
    if body.user_ticket is not None:
        issued = await run_in_threadpool(
            partial(
                service.sign_in_with_ticket,
                body.application_key,
                body.user_ticket,
                address,
                _device_label(request),
                device_key=device_key,
            )
        )
    else:
        issued = await service.sign_in_with_password(
            body.application_key,
            body.username or "",
            body.password or "",
            address,
            _device_label(request),
            device_key=device_key,
        )
    return SessionObject.of(issued)


@router.post(
    "/sessions/resume",
    summary="Resume a stored session; rotates its secret",
    responses=error_responses(400, 401, 413, 503),
)
def resume(body: ResumeRequest, request: Request, service: Service, proof: Proof) -> SessionObject:
    issued = service.resume(
        body.application_key,
        body.user_id,
        body.session_id,
        body.session_secret,
        client_address(request),
        proof=proof,
    )
    return SessionObject.of(issued)


@router.get("/me", summary="Who holds this session", responses=error_responses(401, 503))
def me(credentials: SessionCredentials, request: Request, service: Service, proof: Proof) -> Me:
    return Me.of(service.describe(*credentials, client_address(request), proof=proof))


@router.delete(
    "/sessions/current",
    status_code=204,
    response_class=Response,
    summary="Sign out: revoke this session",
    responses=error_responses(401, 503),
)
def sign_out(
    credentials: SessionCredentials, request: Request, service: Service, proof: Proof
) -> None:
    service.sign_out(*credentials, client_address(request), proof=proof)


@router.get(
    "/users/me/sessions",
    summary="The devices where this user is signed in: their live sessions",
    responses=error_responses(401, 503),
)
def list_sessions(
    credentials: SessionCredentials, request: Request, service: Service, proof: Proof
) -> SessionList:
    return SessionList.of(service.list_sessions(*credentials, client_address(request), proof=proof))


@router.delete(
    "/users/me/sessions/{sessionId}",
    status_code=204,
    response_class=Response,
    summary="Sign one device out: revoke one session of this user (204 also if it had ended)",
    responses=error_responses(401, 404, 503),
)
def revoke_session(
    session_id: Annotated[str, Path(alias="sessionId", description="from the device list")],
    credentials: SessionCredentials,
    request: Request,
    service: Service,
    proof: Proof,
) -> None:
    service.revoke_session(*credentials, session_id, client_address(request), proof=proof)


@router.delete(
    "/users/me/sessions",
    status_code=204,
    response_class=Response,
    summary="Revoke every session of this user",
    responses=error_responses(401, 503),
)
def revoke_all_sessions(
    credentials: SessionCredentials, request: Request, service: Service, proof: Proof
) -> None:
    service.revoke_all(*credentials, client_address(request), proof=proof)


@router.get(
    "/health",
    summary="Liveness: the service runs and its database answers",
    responses=error_responses(503),
)
async def health(service: Service) -> Health:
    await service.check_database()
    return Health()

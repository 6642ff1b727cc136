"""The auth routes under /v1 (sign-up, sign-in, resume, who am I, sign-out, the device list, the
account: re-authentication, a password change, its deletion): they translate between HTTP and
AuthService, nothing more.

Every route is `async`: those that check a password wait for the password-hashing pool without
holding one of the server's worker threads, and the others hand their one blocking call (the use
case, which asks the database) to a worker thread, once per request. (A plain `def` route costs
two hops: FastAPI runs it in a worker thread, and then its answer's validation in another.) On
PostgreSQL the common case of a resume and of `/me` asks the database from the event loop itself,
without a thread (auth/fast_paths.py).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from authservice.api.auth_bodies import (
    ChangePasswordRequest,
    Me,
    ReauthenticateRequest,
    ResumeRequest,
    SessionList,
    SessionObject,
    SignInAnswer,
    SignInRequest,
    SignUpRequest,
    UserCreated,
)
from authservice.api.common_bodies import error_responses
from authservice.api.dependencies import (
    PROOF_PARAMETER,
    Auth,
    Presented,
    client_address,
    device_label,
    proof_of,
)
from authservice.auth.presented import PresentedSession
from authservice.core.threads import in_thread

__all__ = ["router"]

router = APIRouter(prefix="/v1")


@router.post(
    "/users",
    status_code=201,
    summary="Sign up",
    responses=error_responses(400, 401, 409, 413, 429, 503),
)
async def sign_up(body: SignUpRequest, request: Request, auth: Auth) -> UserCreated:
    user_id = await auth.sign_up(
        body.application_key, body.username, body.password, client_address(request)
    )
    return UserCreated(user_id=user_id, username=body.username)


@router.post(
    "/sessions",
    status_code=201,
    summary="Sign in with a password or a ticket",
    responses=error_responses(400, 401, 413, 429, 503),
    response_model_exclude_none=True,
)
async def sign_in(body: SignInRequest, request: Request, auth: Auth) -> SignInAnswer:
    address = client_address(request)
    device_key = None if body.device_key is None else body.device_key.stored()
    if body.user_ticket is not None:
        issued = await in_thread(
            partial(
                auth.sign_in_with_ticket,
                body.application_key,
                body.user_ticket,
                address,
                device_label(request),
                device_key=device_key,
            )
        )
    else:
        issued = await auth.sign_in_with_password(
            body.application_key,
            body.username or "",
            body.password or "",
            address,
            device_label(request),
            device_key=device_key,
        )
    return SignInAnswer.of(issued)


@router.post(
    "/sessions/resume",
    summary="Resume a stored session; rotates its secret",
    responses=error_responses(400, 401, 413, 503),
    openapi_extra={"parameters": [PROOF_PARAMETER]},
)
async def resume(body: ResumeRequest, request: Request, auth: Auth) -> SessionObject:
    # A resume presents its session in the body (the stored session object), not in a header.
    presented = PresentedSession(
        body.session_id, body.session_secret, client_address(request), proof_of(request)
    )
    issued = await auth.resume(body.application_key, body.user_id, presented)
    return SessionObject.of(issued)


@router.get("/me", summary="Who holds this session", responses=error_responses(401, 503))
async def me(presented: Presented, auth: Auth) -> Me:
    return Me.of(await auth.describe_in_loop(presented))


@router.delete(
    "/sessions/current",
    status_code=204,
    response_class=Response,
    summary="Sign out: revoke this session",
    responses=error_responses(401, 503),
)
async def sign_out(presented: Presented, auth: Auth) -> None:
    await in_thread(auth.sign_out, presented)


@router.get(
    "/users/me/sessions",
    summary="The devices where this user is signed in: their live sessions",
    responses=error_responses(401, 503),
)
async def list_sessions(presented: Presented, auth: Auth) -> SessionList:
    return SessionList.of(await in_thread(auth.list_sessions, presented))


@router.post(
    "/sessions/current/reauthenticate",
    status_code=204,
    response_class=Response,
    summary="Give the password again: this session is recently authenticated from now",
    responses=error_responses(400, 401, 403, 413, 429, 503),
)
async def reauthenticate(body: ReauthenticateRequest, presented: Presented, auth: Auth) -> None:
    await auth.reauthenticate(presented, body.password)


@router.post(
    "/users/me/password",
    summary="Change the password: every other session ends; this one goes on, rotated",
    responses=error_responses(400, 401, 403, 413, 429, 503),
)
async def change_password(
    body: ChangePasswordRequest, presented: Presented, auth: Auth
) -> SessionObject:
    issued = await auth.change_password(presented, body.current_password, body.new_password)
    return SessionObject.of(issued)


@router.delete(
    "/users/me",
    status_code=204,
    response_class=Response,
    summary="Delete the account: the user, their sessions, and all that names them "
    "(needs a recent authentication)",
    responses=error_responses(401, 403, 503),
)
async def delete_account(presented: Presented, auth: Auth) -> None:
    await in_thread(auth.delete_account, presented)


# Before "/users/me/sessions/{sessionId}", which would take "others" for an id.
@router.delete(
    "/users/me/sessions/others",
    status_code=204,
    response_class=Response,
    summary="Sign the other devices out: revoke every session of this user but this one "
    "(needs a recent authentication)",
    responses=error_responses(401, 403, 503),
)
async def revoke_other_sessions(presented: Presented, auth: Auth) -> None:
    await in_thread(auth.revoke_all, presented, keep_this_one=True)


@router.delete(
    "/users/me/sessions/{sessionId}",
    status_code=204,
    response_class=Response,
    summary="Sign one device out: revoke one session of this user (204 also if it had ended); "
    "another device's needs a recent authentication",
    responses=error_responses(401, 403, 404, 503),
)
async def revoke_session(
    session_id: Annotated[str, Path(alias="sessionId", description="from the device list")],
    presented: Presented,
    auth: Auth,
) -> None:
    await in_thread(auth.revoke_session, presented, session_id)


@router.delete(
    "/users/me/sessions",
    status_code=204,
    response_class=Response,
    summary="Revoke every session of this user (needs a recent authentication)",
    responses=error_responses(401, 403, 503),
)
async def revoke_all_sessions(presented: Presented, auth: Auth) -> None:
    await in_thread(auth.revoke_all, presented)

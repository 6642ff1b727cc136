"""The auth API (docs/api.md) as pure functions: build requests, read responses. No I/O here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import errors
from .error_codes import ERROR_CODES
from .session import Session
from .transport import HttpRequest, HttpResponse

__all__ = [
    "build_request",
    "error_code",
    "error_from_response",
    "read_json",
    "read_no_content",
    "read_session",
    "read_session_list",
    "read_user",
]

# One entry of GET /users/me/sessions: field -> type.
_LISTED_SESSION = {
    "sessionId": str,
    "device": str,
    "createdAt": str,
    "lastUsedAt": str,
    "current": bool,
}


def build_request(
    method: str,
    base_url: str,
    path: str,
    *,
    json_body: dict[str, Any] | None = None,
    bearer: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    headers = {"Accept": "application/json", **(headers or {})}
    body = None
    if json_body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return HttpRequest(method, base_url.rstrip("/") + path, headers, body)


def read_json(response: HttpResponse, expected_status: int) -> dict[str, Any]:
    """The JSON object of a success, or raise the error the response stands for."""
    if response.status != expected_status:
        raise error_from_response(response)
    data = _json_object(response)
    if data is None:
        raise errors.UnexpectedResponse(
            f"HTTP {response.status} without a JSON object body", status=response.status
        )
    return data


def read_session(response: HttpResponse, expected_status: int, application_key: str) -> Session:
    data = read_json(response, expected_status)
    try:
        return Session.from_dict(data, application_key=application_key)
    except errors.InvalidStoredSession as exc:
        raise errors.UnexpectedResponse(
            f"The service answered with a malformed session object ({exc.reason})",
            status=response.status,
        ) from exc


def read_user(response: HttpResponse) -> dict[str, str]:
    data = read_json(response, 201)
    user = {name: data.get(name) for name in ("userId", "username")}
    if not all(isinstance(value, str) and value for value in user.values()):
        raise errors.UnexpectedResponse("The service answered with a malformed user", status=201)
    return user  # type: ignore[return-value]


def read_session_list(response: HttpResponse) -> list[dict[str, Any]]:
    """The user's live sessions (their devices), each with exactly the documented fields."""
    items = read_json(response, 200).get("sessions")
    sessions = []
    for item in items if isinstance(items, list) else [None]:
        if not isinstance(item, dict) or not all(
            type(item.get(name)) is kind for name, kind in _LISTED_SESSION.items()
        ):
            raise errors.UnexpectedResponse(
                "The service answered with a malformed session list", status=response.status
            )
        sessions.append({name: item[name] for name in _LISTED_SESSION})
    return sessions


def read_no_content(response: HttpResponse) -> None:
    if not 200 <= response.status < 300:
        raise error_from_response(response)


def error_code(response: HttpResponse) -> str | None:
    """The `error` code of an error answer, if it has one."""
    code = (_json_object(response) or {}).get("error")
    return code if isinstance(code, str) else None


def error_from_response(response: HttpResponse) -> errors.AuthError:
    status = response.status
    data = _json_object(response) or {}
    code = data.get("error") if isinstance(data.get("error"), str) else None
    message = data.get("message") if isinstance(data.get("message"), str) else None
    message = message or f"The auth service answered HTTP {status}"
    if status == 429:
        return errors.RateLimited(
            message, code=code, status=status, retry_after_s=_retry_after_s(response)
        )
    if 500 <= status < 600:
        return errors.ServerError(message, code=code, status=status)
    if 400 <= status < 500:
        row = ERROR_CODES.get(code or "")
        rejection = row.error if row and issubclass(row.error, errors.Rejected) else None
        if rejection is None and status == 400:
            rejection = errors.InvalidRequest
        if rejection is None and status == 401 and (code or "").startswith("session_"):
            rejection = errors.SessionRejected
        if rejection is errors.InvalidRequest:
            field = data.get("field")
            return errors.InvalidRequest(
                message, code=code, status=status, field=field if isinstance(field, str) else None
            )
        if rejection is errors.UnknownRecipients:
            names = data.get("usernames")
            usernames = (
                [name for name in names if isinstance(name, str)] if isinstance(names, list) else []
            )
            return errors.UnknownRecipients(message, code=code, status=status, usernames=usernames)
        if rejection is not None:
            return rejection(message, code=code, status=status)
    # 404, 405, 413, a redirect, an HTML page from a proxy: not an answer from the auth API.
    return errors.UnexpectedResponse(
        f"Unexpected answer from the auth service: HTTP {status}", code=code, status=status
    )


def _json_object(response: HttpResponse) -> dict[str, Any] | None:
    try:
        data = json.loads(response.body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _retry_after_s(response: HttpResponse) -> float | None:
    try:
        value = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return value if value >= 0 else None

"""The service's errors: one tree, each with an HTTP status and a stable `error` code."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthError",
    "InternalError",
    "InvalidCredentials",
    "InvalidRequest",
    "InvalidTicket",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SessionExpired",
    "SessionRejected",
    "SessionRevoked",
    "SessionUnknown",
    "UnknownApplication",
    "UsernameTaken",
]


class AuthError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Something went wrong on our side."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    @property
    def headers(self) -> dict[str, str]:
        return {}


class InternalError(AuthError):
    pass


class InvalidRequest(AuthError):
    status_code = 400
    code = "invalid_request"
    default_message = "The request is malformed."


class UnknownApplication(AuthError):
    status_code = 401
    code = "unknown_application"
    default_message = "No application has that applicationKey."


class InvalidCredentials(AuthError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "Wrong username or password."


class InvalidTicket(AuthError):
    status_code = 401
    code = "invalid_ticket"
    default_message = "The ticket is not valid."


class SessionRejected(AuthError):
    """The presented session is definitely over: the client should forget it."""

    status_code = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class SessionUnknown(SessionRejected):
    code = "session_unknown"
    default_message = "No such session, or the secret does not match."


class SessionExpired(SessionRejected):
    code = "session_expired"
    default_message = "The session has expired."


class SessionRevoked(SessionRejected):
    code = "session_revoked"
    default_message = "The session has been revoked."


class NotFound(AuthError):
    status_code = 404
    code = "not_found"
    default_message = "No such endpoint."


class MethodNotAllowed(AuthError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "This endpoint does not accept that method."


class UsernameTaken(AuthError):
    status_code = 409
    code = "username_taken"
    default_message = "That username is taken in this application."


class PayloadTooLarge(AuthError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class RateLimited(AuthError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many attempts; try again later."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message or f"Too many attempts; try again in {retry_after_s} s.")
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}

"""The service's errors: one tree, each with an HTTP status and a stable `error` code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "AccountDeleted",
    "AuthError",
    "CorsRefused",
    "DatabaseUnavailable",
    "InternalError",
    "InvalidClient",
    "InvalidCredentials",
    "InvalidRequest",
    "InvalidTicket",
    "MethodNotAllowed",
    "NoSuchConversation",
    "NoSuchSession",
    "NotFound",
    "PasswordChanged",
    "PayloadTooLarge",
    "ProofInvalid",
    "ProofRefused",
    "ProofRequired",
    "RateLimited",
    "ReauthenticationRequired",
    "ServiceBusy",
    "SessionExpired",
    "SessionRejected",
    "SessionReuseDetected",
    "SessionRevoked",
    "SessionUnknown",
    "TokensNotConfigured",
    "UnknownApplication",
    "UnknownRecipients",
    "UseProofNonce",
    "UsernameTaken",
    "WrongPassword",
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

    @property
    def body(self) -> dict[str, Any]:
        """The JSON answer: `error` and `message`, and for a few errors what they are about."""
        return {"error": self.code, "message": self.message}


class InternalError(AuthError):
    pass


class InvalidRequest(AuthError):
    """`field`: the request body's field the sentence is about, if it is about one."""

    status_code = 400
    code = "invalid_request"
    default_message = "The request is malformed."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def body(self) -> dict[str, Any]:
        body = super().body
        if self.field is not None:
            body["field"] = self.field
        return body


class UnknownRecipients(InvalidRequest):
    """A message to usernames that no user of the sender's application has. The answer names
    them, as typed, in `usernames` too."""

    code = "unknown_recipients"

    def __init__(self, usernames: Sequence[str]) -> None:
        quoted = ", ".join(f'"{name}"' for name in usernames)
        super().__init__(f"No user named {quoted} in this application.")
        self.usernames = list(usernames)

    @property
    def body(self) -> dict[str, Any]:
        return {**super().body, "usernames": self.usernames}


class UnknownApplication(AuthError):
    status_code = 401
    code = "unknown_application"
    default_message = "No application has that applicationKey."


class InvalidCredentials(AuthError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "Wrong username or password."


class InvalidClient(AuthError):
    """An application's backend that did not authenticate (introspection): HTTP Basic with its
    application key and secret, as RFC 7662 and RFC 6749 2.3.1 have it."""

    status_code = 401
    code = "invalid_client"
    default_message = (
        "Authenticate with HTTP Basic: the application key as the user name, its secret as the "
        "password."
    )

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="introspection", charset="UTF-8"'}


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


class PasswordChanged(SessionRevoked):
    """Ended because the user's password was changed on another device."""

    code = "password_changed"
    default_message = "The password of this account was changed, so this session has ended."


class AccountDeleted(SessionRevoked):
    """Ended because the account was deleted: its page is told so (auth/sessions.py, tombstones)."""

    code = "account_deleted"
    default_message = "This account has been deleted."


class SessionReuseDetected(SessionRevoked):
    """A rotated-out secret came back: it was copied, so the session has just been revoked."""

    default_message = "A rotated-out secret was presented again, so the session has been revoked."

    def __init__(
        self,
        *,
        session_id: str,
        user_id: str,
        application_key: str,
        generation: int,
        current_generation: int,
    ) -> None:
        super().__init__()
        self.session_id = session_id
        self.user_id = user_id
        self.application_key = application_key
        self.generation = generation
        self.current_generation = current_generation


class ProofRefused(SessionRejected):
    """A device-bound session used without a valid proof of possession (auth/proofs.py). The session
    stays as it was: only this copy of it is useless here, so the client forgets it."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason  # which check failed, for the audit log only

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'SessionProof algs="ES256"'}


class ProofRequired(ProofRefused):
    code = "proof_required"
    default_message = (
        "This session is bound to the device that signed in, and this request has no proof of it."
    )

    def __init__(self) -> None:
        super().__init__("missing")


class ProofInvalid(ProofRefused):
    code = "proof_invalid"
    default_message = "The proof of this device's key is not valid for this request."


class UseProofNonce(AuthError):
    """A proof refused for its time only (the device's clock is off): the answer carries a nonce
    (`Session-Proof-Nonce`, auth/proofs.py) to sign into the proof, which is then judged by the
    service's clock. Not a rejection: the session stays, and the client tries again, once."""

    status_code = 401
    code = "use_proof_nonce"
    default_message = (
        "This device's clock is too far off to check its proof: sign the nonce this answer carries."
    )

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'SessionProof error="use_proof_nonce", algs="ES256"'}


class ReauthenticationRequired(AuthError):
    """What was asked cannot be undone, and no password was given in this session recently
    (`Settings.reauth_window_s`): give it again (`POST /v1/sessions/current/reauthenticate`)."""

    status_code = 403
    code = "reauthentication_required"
    default_message = "Enter your password again to do this."


class WrongPassword(AuthError):
    """The password given to confirm who the signed-in user is (re-authentication, a password
    change) is not theirs. The session stays; the attempt counts like a failed sign-in."""

    status_code = 403
    code = "wrong_password"
    default_message = "That password is not right."


class NotFound(AuthError):
    status_code = 404
    code = "not_found"
    default_message = "No such endpoint."


class NoSuchSession(AuthError):
    """No session of the caller's own user has that id: the same answer whether the id is another
    user's, unknown or malformed, so that it tells nothing about anyone else."""

    status_code = 404
    code = "no_such_session"
    default_message = "None of your sessions has that id."


class NoSuchConversation(AuthError):
    """The same answer for a conversation that does not exist and for one the caller is not in."""

    status_code = 404
    code = "no_such_conversation"
    default_message = "You have no conversation with that id."


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

    def __init__(self, retry_after_s: int, *, scope: str = "", message: str | None = None) -> None:
        super().__init__(message or f"Too many attempts; try again in {retry_after_s} s.")
        self.retry_after_s = retry_after_s
        self.scope = scope  # which limit (ratelimit.Bucket.scope), for the audit log

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class _Unavailable(AuthError):
    """A refusal for a moment only: `Retry-After` says how many seconds."""

    status_code = 503
    retry_after_s: ClassVar[int] = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class ServiceBusy(_Unavailable):
    """Every password-hashing worker is busy and the queue is full: come back in a moment."""

    code = "busy"
    default_message = "The service is busy; try again in a moment."


class DatabaseUnavailable(_Unavailable):
    """The database does not answer (down, restarting, unreachable): come back in a moment."""

    code = "database_unavailable"
    default_message = "The service cannot reach its database right now; try again in a moment."
    retry_after_s = 5


class TokensNotConfigured(AuthError):
    """The service was started without the public URL that access tokens name as their issuer."""

    status_code = 501
    code = "tokens_not_configured"
    default_message = "This service issues no access tokens: it was started without an issuer."


class CorsRefused(AuthError):
    status_code = 403
    code = "cors_refused"
    default_message = "This origin may not call the service."

"""Every error code, in one table: the error the client raises for it, and what to tell a person.

The codes are the auth service's `error` values (docs/api.md) and the client's own, for failures
that never reached the service. `protocol.error_from_response` picks the client's error class here;
the browser app takes its notices from `user_message()`. A test checks that every code the service
can send has a row.

    >>> ERROR_CODES["invalid_credentials"].error.__name__
    'InvalidCredentials'
    >>> user_message(errors.RateLimited("Slow down", retry_after_s=30))
    'Too many attempts. Try again in 30 s.'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from . import errors

__all__ = ["ERROR_CODES", "ErrorCode", "as_sentence", "user_message"]

# When the service asks to slow down without saying for how long.
_DEFAULT_RETRY_AFTER_S = 60

_UNREACHABLE = "Cannot reach the sign-in service. Check your connection and try again."
_SERVICE_FAULT = "The sign-in service has a problem right now. Please try again later."
_SIGN_IN_AGAIN = "Please sign in again."


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One row. `user_message` may use `{message}` (the error's own sentence, which the service
    writes for a person) and `{retry_after_s}`."""

    code: str
    error: type[errors.AuthError]
    user_message: str


def _table(*rows: ErrorCode) -> Mapping[str, ErrorCode]:
    return MappingProxyType({row.code: row for row in rows})


ERROR_CODES: Mapping[str, ErrorCode] = _table(
    # -- sent by the service ------------------------------------------------------------------
    ErrorCode("invalid_request", errors.InvalidRequest, "{message}"),
    ErrorCode(
        "unknown_application",
        errors.UnknownApplication,
        "The sign-in service does not know this site's application. Please tell the site's owner.",
    ),
    ErrorCode("invalid_credentials", errors.InvalidCredentials, "Wrong username or password."),
    ErrorCode(
        "invalid_ticket",
        errors.InvalidTicket,
        f"Your sign-in ticket is not valid, or has expired. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode(
        "session_unknown",
        errors.SessionUnknown,
        f"Your saved session is no longer valid. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode(
        "session_expired", errors.SessionExpired, f"Your session has expired. {_SIGN_IN_AGAIN}"
    ),
    # Revoked while this device still held it: from the device list or "sign out everywhere"
    # elsewhere (or for a reused secret, when a copy of it was used elsewhere).
    ErrorCode(
        "session_revoked",
        errors.SessionRevoked,
        f"Your session was ended from another device. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode(
        "password_changed",
        errors.PasswordChanged,
        f"The password of your account was changed, so you were signed out. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode("account_deleted", errors.AccountDeleted, "Your account has been deleted."),
    ErrorCode(
        "reauthentication_required",
        errors.ReauthenticationRequired,
        "Enter your password again to do this.",
    ),
    ErrorCode("wrong_password", errors.WrongPassword, "That password is not right."),
    # A device-bound session's proof judged by a clock that is far off: the client signs the
    # service's nonce and tries once more; this is what is left if that failed too.
    ErrorCode(
        "use_proof_nonce",
        errors.UnexpectedResponse,
        "This device's clock is far off, and the sign-in service could not check this browser's "
        "key. Please try again.",
    ),
    # Its message names the usernames, as typed: 'No user named "bob" in this application.'
    ErrorCode("unknown_recipients", errors.UnknownRecipients, "{message}"),
    ErrorCode(
        "no_such_conversation",
        errors.NoSuchConversation,
        "That conversation does not exist, or you are not part of it.",
    ),
    ErrorCode(
        "no_such_session",
        errors.NoSuchSession,
        "That device is not signed in to your account any more.",
    ),
    # A device-bound session used without its device's key: a copy, or a key that was cleared.
    ErrorCode(
        "proof_required",
        errors.ProofRejected,
        "Your saved session is bound to another browser, or to a key this browser no longer "
        f"has. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode(
        "proof_invalid",
        errors.ProofRejected,
        f"This browser could not prove that your saved session is its own. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode(
        "username_taken",
        errors.UsernameTaken,
        "That username is taken. Choose another, or sign in.",
    ),
    ErrorCode(
        "rate_limited", errors.RateLimited, "Too many attempts. Try again in {retry_after_s} s."
    ),
    ErrorCode(
        "busy", errors.ServerError, "The sign-in service is busy. Please try again in a moment."
    ),
    ErrorCode(
        "database_unavailable",
        errors.ServerError,
        "The sign-in service is unavailable for a moment. Please try again shortly.",
    ),
    ErrorCode("internal_error", errors.ServerError, _SERVICE_FAULT),
    # The service runs without an issuer: it gives no access tokens to the application's backend.
    ErrorCode("tokens_not_configured", errors.ServerError, _SERVICE_FAULT),
    # Sent to an application's backend that introspects without its key and secret, never to
    # this client: it is the site's fault.
    ErrorCode("invalid_client", errors.UnexpectedResponse, _SERVICE_FAULT),
    # Not an answer this client asks for: a wrong auth URL, or a proxy in the way.
    ErrorCode("not_found", errors.UnexpectedResponse, _SERVICE_FAULT),
    ErrorCode("method_not_allowed", errors.UnexpectedResponse, _SERVICE_FAULT),
    ErrorCode("payload_too_large", errors.UnexpectedResponse, _SERVICE_FAULT),
    # The service refuses this page's origin (CORS): its operator's setting, not the session's fault.
    ErrorCode(
        "cors_refused",
        errors.UnexpectedResponse,
        "The sign-in service does not accept requests from this site. Please tell the site's owner.",
    ),
    # -- the client's own: no answer, or refused before asking --------------------------------
    ErrorCode("auth_error", errors.AuthError, "Something went wrong. Please try again."),
    ErrorCode("service_unavailable", errors.ServiceUnavailable, _UNREACHABLE),
    ErrorCode("network_error", errors.NetworkError, _UNREACHABLE),
    ErrorCode(
        "timeout",
        errors.Timeout,
        "The sign-in service did not answer in time. Check your connection and try again.",
    ),
    ErrorCode("server_error", errors.ServerError, _SERVICE_FAULT),
    ErrorCode("unexpected_response", errors.UnexpectedResponse, _SERVICE_FAULT),
    ErrorCode("rejected", errors.Rejected, "{message}"),
    ErrorCode(
        "session_rejected",
        errors.SessionRejected,
        f"Your session is no longer valid. {_SIGN_IN_AGAIN}",
    ),
    ErrorCode("not_signed_in", errors.NotSignedIn, f"You are not signed in. {_SIGN_IN_AGAIN}"),
    ErrorCode("invalid_argument", errors.InvalidArgument, "{message}"),
    ErrorCode(
        "invalid_stored_session",
        errors.InvalidStoredSession,
        f"Your saved session could not be read. {_SIGN_IN_AGAIN}",
    ),
)


def user_message(error: errors.AuthError) -> str:
    """What to tell a person about `error`: the row of its code, else the row of its class."""
    row = ERROR_CODES.get(error.code)
    if row is None or not isinstance(error, row.error):
        row = ERROR_CODES[error.default_code]
    retry_after_s = getattr(error, "retry_after_s", None)
    return row.user_message.format(
        message=as_sentence(error.message),
        retry_after_s=round(retry_after_s if retry_after_s is not None else _DEFAULT_RETRY_AFTER_S),
    )


def as_sentence(text: str) -> str:
    """`text` as a sentence: a capital first letter and a full stop, whoever wrote it.

    >>> as_sentence("password: too short")
    'Password: too short.'
    >>> as_sentence("Choose a password of at least 12 characters.")
    'Choose a password of at least 12 characters.'
    """
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."

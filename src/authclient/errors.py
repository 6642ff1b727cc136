"""The one tree of errors this package raises.

Callers tell "could not get an answer" from "the server said no" by type::

    AuthError                     base: .code (the server's error code or ours), .message, .status
    ├── ServiceUnavailable        no definite answer; retry later, keep the stored session
    │   ├── NetworkError          connection refused, DNS failure, connection dropped
    │   ├── Timeout               no answer within timeout_s
    │   ├── ServerError           HTTP 5xx
    │   ├── RateLimited           HTTP 429; .retry_after_s
    │   └── UnexpectedResponse    not the auth API's answer (wrong URL, proxy page, bad JSON)
    ├── Rejected                  the server said no (HTTP 4xx with a known code)
    │   ├── InvalidCredentials    wrong username or password
    │   ├── UsernameTaken
    │   ├── InvalidTicket
    │   ├── InvalidRequest        HTTP 400; .field, the field it is about (if one)
    │   ├── UnknownApplication
    │   ├── NoSuchSession         revoke_session(): none of the user's sessions has that id
    │   ├── UnknownRecipients     a message to usernames no user of the application has; .usernames
    │   ├── NoSuchConversation    the user is in no conversation with that id
    │   ├── ReauthenticationRequired  what cannot be undone needs the password again (reauthenticate)
    │   ├── WrongPassword         the password given to confirm who the user is is not theirs
    │   └── SessionRejected       the session is dead: sign in again
    │       ├── SessionUnknown
    │       ├── SessionExpired
    │       ├── SessionRevoked
    │       │   ├── PasswordChanged   the password was changed on another device
    │       │   └── AccountDeleted    the account was deleted
    │       └── ProofRejected     a device-bound session, without a proof of its key (a copy)
    ├── NotSignedIn               a call that needs a session, made without one
    └── InvalidArgument           (also a ValueError) bad input, refused before any request
        └── InvalidStoredSession  a session object (stored or given) that fails to parse; .reason
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccountDeleted",
    "AuthError",
    "InvalidArgument",
    "InvalidCredentials",
    "InvalidRequest",
    "InvalidStoredSession",
    "InvalidTicket",
    "NetworkError",
    "NoSuchConversation",
    "NoSuchSession",
    "NotSignedIn",
    "PasswordChanged",
    "ProofRejected",
    "RateLimited",
    "ReauthenticationRequired",
    "Rejected",
    "ServerError",
    "ServiceUnavailable",
    "SessionExpired",
    "SessionRejected",
    "SessionRevoked",
    "SessionUnknown",
    "Timeout",
    "UnexpectedResponse",
    "UnknownApplication",
    "UnknownRecipients",
    "UsernameTaken",
    "WrongPassword",
]


class AuthError(Exception):
    """Base class. `code` is the server's `error` code when the server answered, else our own."""

    default_code = "auth_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status

    def __repr__(self) -> str:
        status = f", status={self.status}" if self.status is not None else ""
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}{status})"


class ServiceUnavailable(AuthError):
    """No definite answer from the auth service: worth retrying; a stored session stays."""

    default_code = "service_unavailable"


class NetworkError(ServiceUnavailable):
    default_code = "network_error"


class Timeout(ServiceUnavailable):
    default_code = "timeout"


class ServerError(ServiceUnavailable):
    default_code = "server_error"


class RateLimited(ServiceUnavailable):
    default_code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = 429,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after_s = retry_after_s


class UnexpectedResponse(ServiceUnavailable):
    default_code = "unexpected_response"


class Rejected(AuthError):
    """The auth service answered and said no."""

    default_code = "rejected"


class InvalidCredentials(Rejected):
    default_code = "invalid_credentials"


class UsernameTaken(Rejected):
    default_code = "username_taken"


class InvalidTicket(Rejected):
    default_code = "invalid_ticket"


class InvalidRequest(Rejected):
    """The service refused what was sent; `field` names the request's field the sentence is
    about ("username", "password"), when the service said so."""

    default_code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.field = field


class UnknownApplication(Rejected):
    default_code = "unknown_application"


class NoSuchSession(Rejected):
    """None of the user's sessions has that id: not an answer about this client's own session."""

    default_code = "no_such_session"


class UnknownRecipients(Rejected):
    """A message to names that no user of the application has: `usernames`, as typed."""

    default_code = "unknown_recipients"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        usernames: Sequence[str] = (),
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.usernames = list(usernames)

    def __repr__(self) -> str:
        return f"UnknownRecipients(usernames={self.usernames!r}, message={self.message!r})"


class NoSuchConversation(Rejected):
    """The user is in no conversation with that id (whether or not it exists)."""

    default_code = "no_such_conversation"


class ReauthenticationRequired(Rejected):
    """Signing other devices out or deleting the account needs a password given in this session
    within the last minutes: `reauthenticate(password)`, then try again."""

    default_code = "reauthentication_required"


class WrongPassword(Rejected):
    """The password given to confirm who the signed-in user is (re-authentication, a password
    change) is not theirs. The session stays."""

    default_code = "wrong_password"


class SessionRejected(Rejected):
    """The session can no longer be used: the user must sign in again."""

    default_code = "session_rejected"


class SessionUnknown(SessionRejected):
    default_code = "session_unknown"


class SessionExpired(SessionRejected):
    default_code = "session_expired"


class SessionRevoked(SessionRejected):
    default_code = "session_revoked"


class PasswordChanged(SessionRevoked):
    """Ended because the user's password was changed on another device."""

    default_code = "password_changed"


class AccountDeleted(SessionRevoked):
    """Ended because the user's account was deleted."""

    default_code = "account_deleted"


class ProofRejected(SessionRejected):
    """The session is bound to a device key (authclient.proofs) and this client could not prove
    it holds that key: here the session is over, though its owner's device may still use it."""

    default_code = "proof_invalid"


class NotSignedIn(AuthError):
    default_code = "not_signed_in"


class InvalidArgument(AuthError, ValueError):
    """Input refused before any request was made."""

    default_code = "invalid_argument"


class InvalidStoredSession(InvalidArgument):
    """A session object that does not parse. `reason` says why, without echoing the value."""

    default_code = "invalid_stored_session"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __repr__(self) -> str:
        return f"InvalidStoredSession(reason={self.reason!r}, message={self.message!r})"

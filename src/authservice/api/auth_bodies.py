"""The auth routes' request and response bodies as they are on the wire (camelCase JSON): sign-up,
sign-in, the session object, who am I, the device list, re-authentication and a password change."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from authservice.api.common_bodies import RULE_ERROR, RequestBody, ResponseBody, Time, rule
from authservice.auth.proofs import device_key_json
from authservice.auth.rules import (
    APPLICATION_KEY_PATTERN,
    PASSWORD_MAX_CHARS,
    PASSWORD_MAX_CHARS_AT_SIGN_IN,
    PASSWORD_MIN_CHARS,
    SESSION_ID_PATTERN,
    SESSION_SECRET_PATTERN,
    TICKET_MAX_CHARS,
    TICKET_PATTERN,
    USERNAME_MAX_CHARS,
    USERNAME_MIN_CHARS,
    USERNAME_RULE,
    RuleBroken,
    check_new_password,
    check_text,
    check_username,
)
from authservice.auth.sessions import DeviceSession, IssuedSession, SessionView
from authservice.core.clock import format_time

__all__ = [
    "UNKNOWN_DEVICE",
    "ChangePasswordRequest",
    "DeviceKey",
    "Me",
    "ReauthenticateRequest",
    "ResumeRequest",
    "SessionList",
    "SessionObject",
    "SignInAnswer",
    "SignInRequest",
    "SignUpRequest",
    "UserCreated",
]


def _pattern(name: str, pattern: str, form: str) -> AfterValidator:
    """The rule that a string field must match `pattern`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise RuleBroken(f"The {name} must be {form}.")
        return value

    return rule(check)


def _documented(pattern: str, form: str) -> Any:
    """The pattern and its wording in the OpenAPI document."""
    return Field(json_schema_extra={"pattern": pattern}, description=form)


def _check_version(value: int) -> int:
    if value != 1:
        raise PydanticCustomError(RULE_ERROR, "This service reads session objects of version 1.")
    return value


def _text(name: str, min_chars: int, max_chars: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        check_text(value, name)
        if not min_chars <= len(value) <= max_chars:
            raise RuleBroken(f"The {name} must be {min_chars} to {max_chars} characters.")
        return value

    return check


_APPLICATION_KEY_FORM = "1 to 64 characters of A-Z a-z 0-9 _ -"
_SESSION_ID_FORM = "ses_ and 32 lower-case hex digits"
_SESSION_SECRET_FORM = "43 characters of A-Z a-z 0-9 _ -"
ApplicationKey = Annotated[
    str,
    _pattern("applicationKey", APPLICATION_KEY_PATTERN, _APPLICATION_KEY_FORM),
    _documented(APPLICATION_KEY_PATTERN, _APPLICATION_KEY_FORM),
]
SessionId = Annotated[
    str,
    _pattern("sessionId", SESSION_ID_PATTERN, _SESSION_ID_FORM),
    _documented(SESSION_ID_PATTERN, _SESSION_ID_FORM),
]
SessionSecret = Annotated[
    str,
    _pattern("sessionSecret", SESSION_SECRET_PATTERN, _SESSION_SECRET_FORM),
    _documented(SESSION_SECRET_PATTERN, _SESSION_SECRET_FORM),
]
# Its format is read_ticket's to check: a malformed ticket is `invalid_ticket`, like a forged one.
UserTicket = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": TICKET_PATTERN, "maxLength": TICKET_MAX_CHARS},
        description="signed by the application's backend",
    ),
]
Username = Annotated[
    str,
    rule(check_username),
    Field(
        json_schema_extra={"minLength": USERNAME_MIN_CHARS, "maxLength": USERNAME_MAX_CHARS},
        description=USERNAME_RULE + "; unique regardless of case and width",
    ),
]
# Checked against the policy (length, common passwords) with the username, in SignUpRequest.
NewPassword = Annotated[
    str,
    rule(lambda value: check_text(value, "password")),
    Field(
        json_schema_extra={"minLength": PASSWORD_MIN_CHARS, "maxLength": PASSWORD_MAX_CHARS},
        description=f"{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters, any Unicode, "
        "not one of the most common leaked passwords",
    ),
]
Password = Annotated[str, rule(_text("password", 1, PASSWORD_MAX_CHARS_AT_SIGN_IN))]


class SignUpRequest(RequestBody):
    application_key: ApplicationKey
    username: Username
    password: NewPassword

    # A check of the password field (so its error names that field), after the username's, which
    # it may use: a username that broke its own rule is missing here.
    @field_validator("password")
    @classmethod
    def _password_policy(cls, password: str, info: ValidationInfo) -> str:
        try:
            check_new_password(password, info.data.get("username"))
        except RuleBroken as broken:
            raise PydanticCustomError(RULE_ERROR, str(broken)) from None
        return password


class DeviceKey(BaseModel):
    """The public half of the device's key, as WebCrypto exports it (a JWK; `ext` and `key_ops`
    are ignored). The session is bound to it (docs/api.md, Device-bound sessions)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str = Field(description="base64url, 43 characters")
    y: str = Field(description="base64url, 43 characters")
    d: Any = Field(default=None, description="never sent: the private key stays on the device")

    @model_validator(mode="after")
    def _on_the_curve(self) -> DeviceKey:
        self.stored()
        return self

    def stored(self) -> str:
        """The key as the session keeps it (proofs.device_key_json)."""
        try:
            return device_key_json(self.model_dump(exclude_none=True))
        except ValueError as error:
            raise PydanticCustomError(RULE_ERROR, str(error)) from None


class SignInRequest(RequestBody):
    """Either `username` and `password`, or `userTicket`; and `deviceKey` to bind the session."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["username", "password"]}, {"required": ["userTicket"]}]
        }
    )

    application_key: ApplicationKey
    username: Username | None = None
    password: Password | None = None
    user_ticket: UserTicket | None = None
    device_key: DeviceKey | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> SignInRequest:
        fields = ("username", "password", "user_ticket")
        given = {name for name in fields if getattr(self, name) is not None}
        if given not in ({"username", "password"}, {"user_ticket"}):
            raise PydanticCustomError(
                RULE_ERROR, "Send either a username and a password, or a userTicket."
            )
        return self


class ResumeRequest(RequestBody):
    """The stored session object; fields beyond these are ignored."""

    model_config = ConfigDict(extra="ignore")

    version: Annotated[int, AfterValidator(_check_version)]
    application_key: ApplicationKey
    user_id: Username
    session_id: SessionId
    session_secret: SessionSecret


class ReauthenticateRequest(RequestBody):
    password: Password


class ChangePasswordRequest(RequestBody):
    """The current password, and the new one: checked against the policy of sign-up (with the
    username), its refusal naming `newPassword`."""

    current_password: Password
    new_password: NewPassword


class UserCreated(ResponseBody):
    user_id: str
    username: str


class Me(ResponseBody):
    user_id: str
    application_key: str
    session_id: str
    created_at: Time
    expires_at: Time
    idle_expires_at: Time

    @classmethod
    def of(cls, view: SessionView) -> Me:
        return cls(**_session_fields(view))


class SessionObject(ResponseBody):
    """What the client stores, and presents again to resume."""

    version: Literal[1] = 1
    application_key: str
    user_id: str
    session_id: str
    session_secret: str = Field(description="256 random bits, url-safe; rotated on every resume")
    created_at: Time
    expires_at: Time = Field(description="the absolute end of the session")
    idle_expires_at: Time = Field(description="the end of the session unless it is resumed first")

    @classmethod
    def of(cls, issued: IssuedSession) -> SessionObject:
        return cls(**_session_fields(issued), session_secret=issued.session_secret)


class SignInAnswer(SessionObject):
    """The session object, and beside it (not part of it: a client does not store it) whether
    the password should be changed first."""

    password_change_required: Literal[True] | None = Field(
        default=None,
        description="present (true) after a password sign-in with a password that the policy "
        "would now refuse (one of the most common, or too short): ask for a new one first",
    )

    @classmethod
    def of(cls, issued: IssuedSession) -> SignInAnswer:
        return cls(
            **_session_fields(issued),
            session_secret=issued.session_secret,
            password_change_required=True if issued.password_change_required else None,
        )


def _session_fields(view: SessionView) -> dict[str, Any]:
    return {
        "application_key": view.application_key,
        "user_id": view.user_id,
        "session_id": view.session_id,
        "created_at": format_time(view.created_at),
        "expires_at": format_time(view.expires_at),
        "idle_expires_at": format_time(view.idle_expires_at),
    }


# What the device list calls a session whose User-Agent named no browser or system it knows.
UNKNOWN_DEVICE = "Unknown device"


class SessionListItem(ResponseBody):
    """One live session of the user: which device, since when, last used when. Never a secret."""

    session_id: str
    device: str = Field(
        examples=["Firefox on Linux"],
        description="a short label made from the User-Agent at sign-in (never the header itself), "
        f'or "{UNKNOWN_DEVICE}"',
    )
    created_at: Time
    last_used_at: Time = Field(
        description=(
            "the last resume or Bearer call with this session: to the second for a resume that "
            "rotates the secret, to the minute for any other call"
        )
    )
    current: bool = Field(description="true for the session that made this request")

    @classmethod
    def of(cls, session: DeviceSession) -> SessionListItem:
        return cls(
            session_id=session.session_id,
            device=session.device_label or UNKNOWN_DEVICE,
            created_at=format_time(session.created_at),
            last_used_at=format_time(session.last_used_at),
            current=session.current,
        )


class SessionList(ResponseBody):
    """The user's live sessions (signed in, not expired, not revoked), the most recently used first."""

    sessions: list[SessionListItem]

    @classmethod
    def of(cls, sessions: list[DeviceSession]) -> SessionList:
        return cls(sessions=[SessionListItem.of(session) for session in sessions])

"""Request and response bodies as they are on the wire (camelCase JSON)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from authservice._time import format_time
from authservice.mailbox import MailboxEvent
from authservice.message_views import ConversationView, DeliveryView, MessageView
from authservice.messaging import MESSAGE_ID_MAX, MESSAGE_MAX_CHARS, RECIPIENTS_MAX, Page
from authservice.proofs import device_key_json
from authservice.rules import (
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
from authservice.sessions import DeviceSession, IssuedSession, SessionView

__all__ = [
    "DELIVERED_MAX",
    "RULE_ERROR",
    "UNKNOWN_DEVICE",
    "ConversationBody",
    "ConversationPage",
    "DeliveredRequest",
    "DeliveryBody",
    "DeviceKey",
    "ErrorBody",
    "Health",
    "Me",
    "MessageBody",
    "MessagePage",
    "ResumeRequest",
    "SendMessageRequest",
    "SentMessage",
    "SessionList",
    "SessionObject",
    "SignInRequest",
    "SignUpRequest",
    "StreamReady",
    "UnknownRecipientsBody",
    "UserCreated",
    "event_data",
]

# The error type of a broken rule: its message is a whole sentence for a person.
RULE_ERROR = "rule"


V = TypeVar("V")


def _rule(check: Callable[[V], V]) -> AfterValidator:
    def validate(value: V) -> V:
        try:
            return check(value)
        except RuleBroken as broken:
            raise PydanticCustomError(RULE_ERROR, str(broken)) from None

    return AfterValidator(validate)


def _pattern(name: str, pattern: str, form: str) -> AfterValidator:
    """The rule that a string field must match `pattern`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise RuleBroken(f"The {name} must be {form}.")
        return value

    return _rule(check)


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
    _rule(check_username),
    Field(
        json_schema_extra={"minLength": USERNAME_MIN_CHARS, "maxLength": USERNAME_MAX_CHARS},
        description=USERNAME_RULE + "; unique regardless of case and width",
    ),
]
# Checked against the policy (length, common passwords) with the username, in SignUpRequest.
NewPassword = Annotated[
    str,
    _rule(lambda value: check_text(value, "password")),
    Field(
        json_schema_extra={"minLength": PASSWORD_MIN_CHARS, "maxLength": PASSWORD_MAX_CHARS},
        description=f"{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters, any Unicode, "
        "not one of the most common leaked passwords",
    ),
]
Password = Annotated[str, _rule(_text("password", 1, PASSWORD_MAX_CHARS_AT_SIGN_IN))]
Time = Annotated[str, Field(examples=["2026-11-27T04:00:00Z"], description="UTC, ISO 8601")]


class _Request(BaseModel):
    # strict: a number is not a string, true is not 1.
    model_config = ConfigDict(alias_generator=to_camel, strict=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True
    )


class SignUpRequest(_Request):
    application_key: ApplicationKey
    username: Username
    password: NewPassword

    @model_validator(mode="after")
    def _password_policy(self) -> SignUpRequest:
        try:
            check_new_password(self.password, self.username)
        except RuleBroken as broken:
            raise PydanticCustomError(RULE_ERROR, str(broken)) from None
        return self


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


class SignInRequest(_Request):
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


class ResumeRequest(_Request):
    """The stored session object; fields beyond these are ignored."""

    model_config = ConfigDict(extra="ignore")

    version: Annotated[int, AfterValidator(_check_version)]
    application_key: ApplicationKey
    user_id: Username
    session_id: SessionId
    session_secret: SessionSecret


class UserCreated(_Response):
    user_id: str
    username: str


class Me(_Response):
    user_id: str
    application_key: str
    session_id: str
    created_at: Time
    expires_at: Time
    idle_expires_at: Time

    @classmethod
    def of(cls, view: SessionView) -> Me:
        return cls(**_session_fields(view))


class SessionObject(_Response):
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


class SessionListItem(_Response):
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


class SessionList(_Response):
    """The user's live sessions (signed in, not expired, not revoked), the most recently used first."""

    sessions: list[SessionListItem]

    @classmethod
    def of(cls, sessions: list[DeviceSession]) -> SessionList:
        return cls(sessions=[SessionListItem.of(session) for session in sessions])


class Health(_Response):
    status: Literal["ok"] = "ok"


class ErrorBody(_Response):
    error: str = Field(examples=["invalid_credentials"], description="a stable code")
    message: str = Field(description="a sentence for a person")


# -- messages (docs/api.md, Messages) ------------------------------------------------------------

# Message ids a receipt may name at once.
DELIVERED_MAX = 100
# Longer than any username (rules.USERNAME_MAX_CHARS), short enough to name in an answer.
_RECIPIENT_MAX_CHARS = 64
# The control characters a message may hold: the rest could not be shown (or, NUL, stored).
_LINE_CONTROLS = frozenset("\t\n\r")


def _check_message_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RuleBroken("The message contains something that is not valid text.") from None
    if any(unicodedata.category(char) == "Cc" and char not in _LINE_CONTROLS for char in value):
        raise RuleBroken(
            "A message cannot hold control characters other than tabs and line breaks."
        )
    if not value:
        raise RuleBroken("A message cannot be empty.")
    if len(value) > MESSAGE_MAX_CHARS:
        raise RuleBroken(
            f"A message is at most {MESSAGE_MAX_CHARS} characters; this one has {len(value)}."
        )
    if value.isspace():
        raise RuleBroken("A message must hold more than spaces and line breaks.")
    return value


def _check_recipient(value: str) -> str:
    check_text(value, "recipient's name")
    if not 1 <= len(value) <= _RECIPIENT_MAX_CHARS:
        raise RuleBroken(f"A recipient's name is 1 to {_RECIPIENT_MAX_CHARS} characters.")
    return value


def _check_recipients(value: list[str]) -> list[str]:
    if not 1 <= len(value) <= RECIPIENTS_MAX:
        raise RuleBroken(f"Send a message to 1 to {RECIPIENTS_MAX} users.")
    return value


def _check_message_ids(value: list[int]) -> list[int]:
    if not 1 <= len(value) <= DELIVERED_MAX:
        raise RuleBroken(f"Name 1 to {DELIVERED_MAX} messages.")
    if not all(1 <= message_id <= MESSAGE_ID_MAX for message_id in value):
        raise RuleBroken("A message id is a positive integer.")
    return value


MessageText = Annotated[
    str,
    _rule(_check_message_text),
    Field(
        json_schema_extra={"minLength": 1, "maxLength": MESSAGE_MAX_CHARS},
        description=f"1 to {MESSAGE_MAX_CHARS} characters, not only white space; sent as is",
    ),
]
Recipient = Annotated[
    str,
    _rule(_check_recipient),
    Field(
        json_schema_extra={"minLength": 1, "maxLength": _RECIPIENT_MAX_CHARS},
        description="a username of the sender's application, in any case or width",
    ),
]


class SendMessageRequest(_Request):
    to: Annotated[
        list[Recipient],
        _rule(_check_recipients),
        Field(
            json_schema_extra={"minItems": 1, "maxItems": RECIPIENTS_MAX},
            description="duplicates and the sender's own name are dropped",
        ),
    ]
    text: MessageText


class DeliveredRequest(_Request):
    message_ids: Annotated[
        list[int],
        _rule(_check_message_ids),
        Field(json_schema_extra={"minItems": 1, "maxItems": DELIVERED_MAX}),
    ]


class MessageBody(_Response):
    id: int = Field(description="unique in the service, increasing with time")
    conversation_id: str
    sender: str = Field(serialization_alias="from")
    to: list[str] = Field(description="everyone in the conversation but the sender, sorted")
    text: str
    sent_at: Time
    delivered_to: dict[str, Time] = Field(
        description="the recipients who have received it so far, and when"
    )

    @classmethod
    def of(cls, message: MessageView) -> MessageBody:
        return cls(
            id=message.message_id,
            conversation_id=message.conversation_id,
            sender=message.sender,
            to=list(message.recipients),
            text=message.text,
            sent_at=format_time(message.sent_at),
            delivered_to={
                name: format_time(moment) for name, moment in message.delivered_to.items()
            },
        )


class SentMessage(_Response):
    message: MessageBody

    @classmethod
    def of(cls, message: MessageView) -> SentMessage:
        return cls(message=MessageBody.of(message))


class MessagePage(_Response):
    messages: list[MessageBody] = Field(description="newest first")
    more: bool = Field(description="older ones follow: ask again with before=<the last id>")

    @classmethod
    def of(cls, page: Page[MessageView]) -> MessagePage:
        return cls(messages=[MessageBody.of(item) for item in page.items], more=page.more)


class ConversationBody(_Response):
    conversation_id: str
    participants: list[str] = Field(description="everyone in it, the caller too, sorted")
    last_message: MessageBody

    @classmethod
    def of(cls, conversation: ConversationView) -> ConversationBody:
        return cls(
            conversation_id=conversation.conversation_id,
            participants=list(conversation.participants),
            last_message=MessageBody.of(conversation.last_message),
        )


class ConversationPage(_Response):
    conversations: list[ConversationBody] = Field(description="by last message, newest first")
    more: bool = Field(
        description="older ones follow: ask again with before=<the last one's lastMessage.id>"
    )

    @classmethod
    def of(cls, page: Page[ConversationView]) -> ConversationPage:
        return cls(conversations=[ConversationBody.of(item) for item in page.items], more=page.more)


class DeliveryBody(_Response):
    message_id: int
    conversation_id: str
    recipient: str
    delivered_at: Time

    @classmethod
    def of(cls, delivery: DeliveryView) -> DeliveryBody:
        return cls(
            message_id=delivery.message_id,
            conversation_id=delivery.conversation_id,
            recipient=delivery.recipient,
            delivered_at=format_time(delivery.delivered_at),
        )


class StreamReady(_Response):
    """The data of the stream's first event, `ready`."""

    last_event_id: int = Field(description="the stream starts after this mailbox event")


def event_data(event: MailboxEvent) -> str:
    """The JSON of a mailbox event's `data:` line: one line."""
    if isinstance(event.item, DeliveryView):
        return DeliveryBody.of(event.item).model_dump_json()
    return MessageBody.of(event.item).model_dump_json()


class UnknownRecipientsBody(ErrorBody):
    """A refused send: with `unknown_recipients`, the names that no user has, as typed."""

    usernames: list[str] | None = Field(
        default=None, description="with `unknown_recipients` only: the names, as typed"
    )

"""Request and response bodies as they are on the wire (camelCase JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from authservice._time import format_time
from authservice.rules import (
    PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
    USERNAME_PATTERN,
    USERNAME_RULE,
    is_valid_username,
)
from authservice.sessions import IssuedSession, SessionView

__all__ = [
    "ErrorBody",
    "Health",
    "Me",
    "ResumeRequest",
    "SessionObject",
    "SignInRequest",
    "SignUpRequest",
    "UserCreated",
]


def _check_username(value: str) -> str:
    if not is_valid_username(value):
        raise PydanticCustomError("username", f"must be {USERNAME_RULE}")
    return value


def _check_version(value: int) -> int:
    if value != 1:
        raise PydanticCustomError("version", "this service reads session objects of version 1")
    return value


Username = Annotated[
    str,
    AfterValidator(_check_username),
    Field(json_schema_extra={"pattern": USERNAME_PATTERN}, description=USERNAME_RULE),
]
Password = Annotated[str, Field(min_length=PASSWORD_MIN_CHARS, max_length=PASSWORD_MAX_CHARS)]
Time = Annotated[str, Field(examples=["2026-11-27T04:00:00Z"], description="UTC, ISO 8601")]


class _Request(BaseModel):
    # strict: a number is not a string, true is not 1.
    model_config = ConfigDict(alias_generator=to_camel, strict=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True
    )


class SignUpRequest(_Request):
    application_key: str
    username: Username
    password: Password


class SignInRequest(_Request):
    """Either `username` and `password`, or `userTicket`."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["username", "password"]}, {"required": ["userTicket"]}]
        }
    )

    application_key: str
    username: str | None = None
    password: str | None = None
    user_ticket: str | None = Field(default=None, description="signed by the application's backend")

    @model_validator(mode="after")
    def _one_way_in(self) -> SignInRequest:
        fields = ("username", "password", "user_ticket")
        given = {name for name in fields if getattr(self, name) is not None}
        if given not in ({"username", "password"}, {"user_ticket"}):
            raise PydanticCustomError("sign_in", "send either username and password, or userTicket")
        return self


class ResumeRequest(_Request):
    """The stored session object; fields beyond these are ignored."""

    model_config = ConfigDict(extra="ignore")

    version: Annotated[int, AfterValidator(_check_version)]
    application_key: str
    user_id: str
    session_id: str
    session_secret: str


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


class Health(_Response):
    status: Literal["ok"] = "ok"


class ErrorBody(_Response):
    error: str = Field(examples=["invalid_credentials"], description="a stable code")
    message: str = Field(description="a sentence for a person")

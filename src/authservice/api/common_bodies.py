"""What every route's bodies share: their base classes (camelCase JSON; requests strict), the rule
validator that turns a broken rule into its sentence, times, the error body and the statuses a
route documents, and the health answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from authservice.auth.rules import RuleBroken

__all__ = [
    "ERRORS",
    "RULE_ERROR",
    "ErrorBody",
    "Health",
    "RequestBody",
    "ResponseBody",
    "Time",
    "error_responses",
    "rule",
]

# The error type of a broken rule: its message is a whole sentence for a person.
RULE_ERROR = "rule"

# What each status means, for the OpenAPI document.
ERRORS = {
    400: "`invalid_request`: malformed JSON, a missing or wrongly typed field, a broken rule",
    401: "`unknown_application`, `invalid_credentials`, `invalid_ticket`, `session_unknown`, "
    "`session_expired`, `session_revoked`, `password_changed`, `account_deleted`, or for a "
    "device-bound session `proof_required` or `proof_invalid` (the session is over), or "
    "`use_proof_nonce` (not a refusal of the session: sign the `Session-Proof-Nonce` this answer "
    "carries into a new proof, and try again)",
    403: "`reauthentication_required`: give the password again first "
    "(`POST /v1/sessions/current/reauthenticate`); `wrong_password`: the password given is not "
    "the user's (counted as a failed sign-in)",
    404: "`no_such_session`: none of this user's sessions has that id (whoever else's it is)",
    409: "`username_taken`",
    413: "`payload_too_large`: the body is over the limit (16 KiB by default)",
    429: "`rate_limited`: too many attempts; see the `Retry-After` header (seconds)",
    503: "`busy` (every password-hashing worker is busy) or `database_unavailable`; see the "
    "`Retry-After` header (seconds)",
}

V = TypeVar("V")

Time = Annotated[str, Field(examples=["2026-11-27T04:00:00Z"], description="UTC, ISO 8601")]


def rule(check: Callable[[V], V]) -> AfterValidator:
    """A field validator from a rule: a RuleBroken becomes a RULE_ERROR with its sentence."""

    def validate(value: V) -> V:
        try:
            return check(value)
        except RuleBroken as broken:
            raise PydanticCustomError(RULE_ERROR, str(broken)) from None

    return AfterValidator(validate)


class RequestBody(BaseModel):
    # strict: a number is not a string, true is not 1.
    model_config = ConfigDict(alias_generator=to_camel, strict=True, extra="forbid")


class ResponseBody(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True
    )


class ErrorBody(ResponseBody):
    error: str = Field(examples=["invalid_credentials"], description="a stable code")
    message: str = Field(description="a sentence for a person")
    field: str | None = Field(
        default=None,
        description="with `invalid_request` only, when the sentence is about one field of the "
        "request body: its name (a page shows the sentence beside that field)",
    )


class Health(ResponseBody):
    status: Literal["ok"] = "ok"


def error_responses(
    *statuses: int, described: Mapping[int, str] = ERRORS, model: type[ErrorBody] = ErrorBody
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route that may answer these error statuses."""
    return {status: {"model": model, "description": described[status]} for status in statuses}

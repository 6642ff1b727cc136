"""The error handlers: every failure leaves as `{"error", "message"}` JSON, whatever raised it (and a
refused request names the body field it is about, when it is about one: `field`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from authservice.api.common_bodies import RULE_ERROR
from authservice.core.errors import (
    AuthError,
    DatabaseUnavailable,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceBusy,
)

__all__ = ["error_response", "install_error_handlers"]

logger = logging.getLogger("authservice")

_BY_STATUS: dict[int, type[AuthError]] = {
    400: InvalidRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def error_response(error: AuthError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error.body,
        status_code=error.status_code,
        headers={**error.headers, **(headers or {})},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AuthError, _auth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    # The database went away (a restart, a failover, the network), or every pooled connection is
    # busy: the client keeps its session and tries again (503 with Retry-After), as for `busy`.
    for unavailable in (OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_busy)


async def _auth_error(_request: Request, error: Exception) -> Response:
    if not isinstance(error, AuthError):
        raise TypeError(error)
    return error_response(error)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    logger.warning(
        "%s %s: the database is unavailable: %s", request.method, request.url.path, error
    )
    return error_response(DatabaseUnavailable())


async def _database_busy(request: Request, error: Exception) -> Response:
    logger.warning("%s %s: no database connection free in time", request.method, request.url.path)
    return error_response(ServiceBusy())


async def _validation_error(_request: Request, error: Exception) -> Response:
    if not isinstance(error, RequestValidationError):
        raise TypeError(error)
    problems = error.errors()
    return error_response(InvalidRequest(_describe(problems), field=_field(problems)))


async def _http_error(_request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):
        raise TypeError(error)
    kind = _BY_STATUS.get(error.status_code)
    if kind is None:
        kind = InternalError if error.status_code >= 500 else InvalidRequest
    return error_response(kind(), headers=dict(error.headers or {}))


def _describe(errors: Sequence[Any]) -> str:
    """One sentence on the first problem, for the person (or program) that sent the request."""
    if not errors:
        return InvalidRequest.default_message
    first = errors[0]
    kind = first.get("type")
    if kind == RULE_ERROR:
        return str(first.get("msg"))
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    where = ".".join(_printable(part) for part in first.get("loc", ()) if part != "body")
    if not where:
        if kind == "missing":
            return "A JSON body is required."
        if kind in ("model_attributes_type", "dict_type", "model_type"):
            return "The request body must be a JSON object."
        return f"The request is not valid: {first.get('msg')}."
    if kind == "missing":
        return f"The field {where} is required."
    if kind == "extra_forbidden":
        return f"The field {where} is not one this endpoint takes."
    if kind == "string_type":
        return f"The field {where} must be a string."
    return f"The field {where} is not valid: {first.get('msg')}."


def _field(errors: Sequence[Any]) -> str | None:
    """The body field the first problem is about, when it is one field of the body's top level:
    a page shows the sentence beside it."""
    if not errors:
        return None
    match tuple(errors[0].get("loc", ())):
        case ("body", str(name)):
            return _printable(name)
    return None


def _printable(part: object) -> str:
    """A field name from the request, made safe to send back: valid text, and not too long."""
    text = str(part).encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= 64 else text[:64] + "…"

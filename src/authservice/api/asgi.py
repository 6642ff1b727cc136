"""The ASGI application."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from authservice import messaging_api
from authservice.api import router
from authservice.audit import configure_audit_log
from authservice.fanout import streams_end_on_exit_signals
from authservice.handlers import install_error_handlers
from authservice.middleware import (
    ApiHeadersMiddleware,
    BodyLimitMiddleware,
    InternalErrorMiddleware,
    JsonCorsMiddleware,
)
from authservice.proofs import PROOF_HEADER
from authservice.purge import purge_periodically
from authservice.service import AuthService
from authservice.settings import Settings

__all__ = ["WORKER_ENVIRONMENT", "create_app", "create_app_from_environment", "describe_api"]

# Where `python -m authservice serve` leaves its configuration for its worker processes.
WORKER_ENVIRONMENT = "AUTHSERVICE_SERVE"

_TITLE = "Auth service"
_VERSION = "1"
_DESCRIPTION = """Applications, users and sessions for browser apps.
Every error is `{"error": "<code>", "message": "<sentence>"}`."""


def create_app(settings: Settings) -> FastAPI:
    """Every route is under /v1. The database and server key are opened here, not in a lifespan,
    so the app also works mounted inside another one (whose lifespan would not reach it).

    The client address is the TCP peer's unless `settings.forwarded_allow_ips` names the proxy in
    front: then its X-Forwarded-For is believed (uvicorn's ProxyHeadersMiddleware, applied here
    rather than by the server, so that it holds however the app is served). Whatever serves this
    app must not rewrite the client address itself: run uvicorn with `proxy_headers=False`.

    While a server that sends ASGI lifespan events runs the app, it purges the database every
    `settings.purge_interval_s` (purge.py).
    """
    service = AuthService(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        purging = None
        if settings.purge_interval_s > 0:
            purging = asyncio.create_task(
                purge_periodically(service.purge, settings.purge_interval_s)
            )
        try:
            with streams_end_on_exit_signals(service.fanout.hub):
                yield
        finally:
            if purging is not None:
                purging.cancel()
                with suppress(asyncio.CancelledError):
                    await purging
            service.close()

    app = FastAPI(
        lifespan=lifespan,
        title=_TITLE,
        version=_VERSION,
        description=_DESCRIPTION,
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
        openapi_url="/v1/openapi.json",
    )
    app.state.auth_service = service
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(messaging_api.router)
    app.openapi = describe_api  # type: ignore[method-assign]
    # Added last is outermost: CORS and the API headers go on every answer, 413 and 500 included.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(InternalErrorMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            JsonCorsMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", PROOF_HEADER],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.add_middleware(ApiHeadersMiddleware)
    if settings.forwarded_allow_ips:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips))
    return app


def create_app_from_environment() -> FastAPI:
    """uvicorn's factory in every process of `python -m authservice serve`: the settings and the
    audit log that the command left in the environment (`WORKER_ENVIRONMENT`)."""
    configuration = json.loads(os.environ[WORKER_ENVIRONMENT])
    audit_log = configuration["audit_log"]
    configure_audit_log(Path(audit_log) if audit_log else None)
    return create_app(Settings.from_json(configuration["settings"]))


def describe_api() -> dict[str, Any]:
    """The OpenAPI document that /v1/openapi.json serves, made without opening anything: FastAPI's,
    less the 422 answers it adds by default (this service answers 400)."""
    document = get_openapi(
        title=_TITLE,
        version=_VERSION,
        description=_DESCRIPTION,
        routes=[*router.routes, *messaging_api.router.routes],
    )
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document

"""The ASGI application: `create_app` builds the services once (composition.py), adds the routes,
the error handlers and the middleware; `describe_api` is its OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from authservice.api import auth_routes, health_routes, message_routes, token_routes
from authservice.api.dependencies import document_presented_session
from authservice.api.error_handlers import install_error_handlers
from authservice.api.middleware import (
    ApiHeadersMiddleware,
    BodyLimitMiddleware,
    InternalErrorMiddleware,
    JsonCorsMiddleware,
    ProofNonceMiddleware,
)
from authservice.auth.proofs import NONCE_HEADER, PROOF_HEADER
from authservice.composition import open_services
from authservice.core.settings import Settings
from authservice.database.purge import purge_periodically
from authservice.messaging.fanout import streams_end_on_exit_signals

__all__ = ["create_app", "describe_api"]

_TITLE = "Auth service"
_VERSION = "1"
_DESCRIPTION = """Applications, users and sessions for browser apps.
Every error is `{"error": "<code>", "message": "<sentence>"}`."""
# FastAPI tries the routes in this order (twice within a router: to find it, then to handle the
# request), about 2 µs each: the health probe first, which a load balancer sends every few seconds
# and which should cost little (behind the auth routes it paid a tenth of its CPU to be found).
_ROUTERS = (health_routes.router, auth_routes.router, message_routes.router, token_routes.router)
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings) -> FastAPI:
    """Every route is under /v1. The database and server key are opened here, not in a lifespan,
    so the app also works mounted inside another one (whose lifespan would not reach it).

    The client address is the TCP peer's unless `settings.forwarded_allow_ips` names the proxy in
    front: then its X-Forwarded-For is believed (uvicorn's ProxyHeadersMiddleware, applied here
    rather than by the server, so that it holds however the app is served). Whatever serves this
    app must not rewrite the client address itself: run uvicorn with `proxy_headers=False`.

    While a server that sends ASGI lifespan events runs the app, it purges the database every
    `settings.purge_interval_s` (database/purge.py), and on PostgreSQL the hot paths run in its
    event loop (composition.Services.open_in_loop); without those events they run in threads.
    """
    services = open_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.open_in_loop()
        purging = None
        if settings.purge_interval_s > 0:
            purging = asyncio.create_task(
                purge_periodically(services.purge, settings.purge_interval_s)
            )
        try:
            with streams_end_on_exit_signals(services.fanout.hub):
                yield
        finally:
            if purging is not None:
                purging.cancel()
                with suppress(asyncio.CancelledError):
                    await purging
            await services.close_in_loop()
            services.close()

    app = FastAPI(
        lifespan=lifespan,
        # FastAPI's OpenTelemetry instrumentation acts only where an OpenTelemetry SDK is set up
        # in the process, which the service never does; left on, it asks on every request
        # whether one is (environment variables included): a twentieth of a `GET /v1/me`.
        telemetry=_NO_TELEMETRY,
        title=_TITLE,
        version=_VERSION,
        description=_DESCRIPTION,
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
        openapi_url="/v1/openapi.json",
    )
    app.state.services = services
    install_error_handlers(app)
    for router in _ROUTERS:
        app.include_router(router)
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
            expose_headers=["Retry-After", NONCE_HEADER],
            max_age=600,
        )
    app.add_middleware(ProofNonceMiddleware, nonces=services.auth.proof_nonces)
    app.add_middleware(ApiHeadersMiddleware)
    if settings.forwarded_allow_ips:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips))
    return app


def describe_api() -> dict[str, Any]:
    """The OpenAPI document that /v1/openapi.json serves, made without opening anything: FastAPI's,
    with the Bearer scheme where a route takes the presented session (which reads its headers
    itself: api/dependencies.py), less the 422 answers FastAPI adds by default (this service
    answers 400)."""
    routes = [route for router in _ROUTERS for route in router.routes]
    document = get_openapi(title=_TITLE, version=_VERSION, description=_DESCRIPTION, routes=routes)
    document_presented_session(document, routes)
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document

"""ASGI middleware: the headers of every API response, a fresh proof nonce for every request that
carries a device proof, CORS refusals as JSON errors, a request body limit, and a last line of
defence for unexpected errors."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authservice.api.error_handlers import error_response
from authservice.auth.proofs import NONCE_HEADER, PROOF_HEADER, ProofNonces
from authservice.core.clock import utc_now
from authservice.core.errors import CorsRefused, InternalError, PayloadTooLarge

__all__ = [
    "API_RESPONSE_HEADERS",
    "ApiHeadersMiddleware",
    "BodyLimitMiddleware",
    "InternalErrorMiddleware",
    "JsonCorsMiddleware",
    "ProofNonceMiddleware",
]

# On every answer: session objects must not be kept by any cache (ASVS 8.1.1, 8.2.1), a JSON
# answer must not be sniffed into something else, nor saved and opened as a page (ASVS 14.4). A
# route that sets one of these itself keeps its own (the published keys may be cached).
API_RESPONSE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Disposition": 'attachment; filename="api.json"',
}


class ApiHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in API_RESPONSE_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ProofNonceMiddleware:
    """Every answer to a request that carries a `Session-Proof` (a device-bound session's) carries
    a fresh `Session-Proof-Nonce` (auth/proofs.py): a device whose clock is off signs it into its
    next proof. Errors too: `use_proof_nonce` is one."""

    def __init__(self, app: ASGIApp, nonces: ProofNonces) -> None:
        self.app = app
        self.nonces = nonces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or PROOF_HEADER.lower() not in Headers(scope=scope):
            await self.app(scope, receive, send)
            return

        async def send_with_nonce(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[NONCE_HEADER] = self.nonces.issue(utc_now())
            await send(message)

        await self.app(scope, receive, send_with_nonce)


class JsonCorsMiddleware(CORSMiddleware):
    """Starlette's CORS, but a refused preflight gets the service's JSON error, not plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        # Starlette says what it refused as "Disallowed CORS origin, method, headers".
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        message = f"This cross-origin request is refused; not allowed here: its {refused}."
        return error_response(CorsRefused(message), headers=kept)


logger = logging.getLogger("authservice")


class BodyLimitMiddleware:
    """Answers 413 for a body over `max_body_bytes`: at once when Content-Length says so, else once
    the streamed bytes (a chunked upload has no Content-Length) pass the limit. The body is read
    whole before the app runs; at 16 KiB that is cheap."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"The request body is over {self.max_body_bytes} bytes.")
        await error_response(error, headers={"Connection": "close"})(scope, receive, send)


class InternalErrorMiddleware:
    """Logs an unexpected exception with its trace and answers 500 `internal_error` without one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late to answer; the server closes the connection
            await error_response(InternalError())(scope, receive, tracking_send)

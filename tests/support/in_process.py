"""The real auth service in this process, as a client `Transport`: fast tests of decision logic.

    transport = InProcessTransport(create_app(settings))
    client = SessionClient(key, InProcessTransport.AUTH_URL, transport=transport)

Each request goes into the service's ASGI app through Starlette's TestClient: the same routes,
database and rules as over HTTP, without a server or a socket. `offline = True` makes it fail as a
browser without network does: `NetworkError`, and the request never reaches the service.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from authclient import HttpRequest, HttpResponse
from authclient.errors import NetworkError

__all__ = ["InProcessTransport"]


class InProcessTransport:
    ORIGIN = "http://auth.test"
    AUTH_URL = ORIGIN + "/v1"

    def __init__(self, app: Any) -> None:
        self._client = TestClient(app, base_url=self.ORIGIN)
        self.offline = False
        # What reached the service, in order.
        self.sent: list[HttpRequest] = []

    def __repr__(self) -> str:
        return f"InProcessTransport(offline={self.offline}, sent={len(self.sent)})"

    def send(self, request: HttpRequest) -> HttpResponse:
        if self.offline:
            raise NetworkError(f"Could not reach {request.origin}: offline (simulated)")
        self.sent.append(request)
        answer = self._client.request(
            request.method, request.url, headers=dict(request.headers), content=request.body
        )
        return HttpResponse.build(answer.status_code, dict(answer.headers), answer.content)

    def paths_sent(self) -> list[str]:
        return [request.url.removeprefix(self.AUTH_URL) for request in self.sent]

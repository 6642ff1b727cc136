"""The signed-in view's line about the application's own backend (examples/app_backend): the page
asks it who is calling, with the session's access token and, for a device-bound session, a DPoP
proof signed by the device's key, and shows what it answers.

It goes through the same kind of transport as the client's calls to the auth service (a worker's
XHR, the main thread's fetch), to the backend's URL on the page's origin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from authclient import HttpRequest, SessionClient, Transport, errors, user_message
from authclient.proofs import DPOP_HEADER

from . import views
from .page import Page

__all__ = ["BACKEND_UNREACHABLE", "WHOAMI_PATH", "BackendPanel"]

logger = logging.getLogger("webapp")

WHOAMI_PATH = "/whoami"
BACKEND_UNREACHABLE = "Your app’s backend cannot be reached right now."
BACKEND_REFUSED = "Your app’s backend refused the access token (HTTP {status})."


class BackendPanel:
    def __init__(
        self,
        client: SessionClient,
        page: Page,
        transport: Transport,
        backend_url: str,
        *,
        on_rejected: Callable[[errors.SessionRejected], None],
    ) -> None:
        self.client = client
        self.page = page
        self.transport = transport
        self.url = backend_url.rstrip("/") + WHOAMI_PATH
        self.on_rejected = on_rejected

    def __repr__(self) -> str:
        return f"BackendPanel(url={self.url!r})"

    def ask(self) -> None:
        """Ask the backend who is calling, and show its answer (or why there is none)."""
        try:
            token = self.client.get_access_token()
        except errors.SessionRejected as exc:
            self.on_rejected(exc)
            return
        except errors.NotSignedIn:
            return  # another tab signed out: the app says so
        except errors.AuthError as exc:
            self._show(None, user_message(exc))
            return
        headers = {"Accept": "application/json", "Authorization": token.authorization}
        if token.token_type == "DPoP":
            proof = self.client.make_dpop_proof("GET", self.url, token)
            if proof is not None:
                headers[DPOP_HEADER] = proof
        try:
            response = self.transport.send(HttpRequest("GET", self.url, headers))
        except errors.ServiceUnavailable as exc:
            logger.warning("The app's backend did not answer: %s", exc.message)
            self._show(None, BACKEND_UNREACHABLE)
            return
        caller = _caller(response.body) if response.status == 200 else None
        if caller is None:
            logger.warning("The app's backend answered HTTP %s", response.status)
            self._show(None, BACKEND_REFUSED.format(status=response.status))
            return
        self._show(caller)

    def _show(self, caller: dict[str, object] | None, problem: str | None = None) -> None:
        self.page.fill("backend", views.render_backend(caller, problem))


def _caller(body: bytes) -> dict[str, object] | None:
    """Who the backend's answer names, or None if it is not the answer expected."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("userId"), str):
        return None
    return {"user_id": data["userId"], "bound": data.get("boundToDevice") is True}

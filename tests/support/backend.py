"""What the browser tests of every engine ask of the application's backend (examples/app_backend)
and of the page's `window.appSession`."""

from __future__ import annotations

import base64
import json
from typing import Any

from webapp.config import DEFAULT_BACKEND_URL

WHOAMI = DEFAULT_BACKEND_URL + "/whoami"
BACKEND_CALLER = "[data-field=backend-caller]"

# What the page's own scripts would do: a token, a proof for one request when the token is bound,
# the call. The token's type is read from its claims (cnf), as a backend would.
CALL_BACKEND_FROM_SCRIPT = """async (url) => {
  const token = await window.appSession.getAccessToken();
  const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  const headers = claims.cnf
    ? {Authorization: `DPoP ${token}`, DPoP: await window.appSession.makeDpopProof("GET", url, token)}
    : {Authorization: `Bearer ${token}`};
  const response = await fetch(url, {headers});
  return {token, status: response.status, body: await response.json()};
}"""
ASK_TOKEN = "() => window.appSession.getAccessToken()"


def backend_says(username: str, *, bound: bool) -> str:
    """The signed-in view's line when the backend answered."""
    how = (
        "from a token bound to this device’s key (DPoP)."
        if bound
        else "from a bearer token (this session is not bound to a device key)."
    )
    return f"It says you are {username}, {how}"


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (the backend verified them)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded

"""Accounts, stored values and page steps for the page tests, the same in every browser engine."""

from __future__ import annotations

import json
import uuid

__all__ = ["CLICK_RETRY_IF_SHOWN", "GARBAGE", "PASSWORD", "new_username"]

PASSWORD = "correct horse battery"

# Clicks "Retry" if it is still there, in one step of the page: the app also retries by itself, with
# a backoff, and may have resumed the session as the service came back.
CLICK_RETRY_IF_SHOWN = """() => {
  const retry = [...document.querySelectorAll("#app button")].find((b) => b.textContent.trim() === "Retry");
  retry?.click();
  return Boolean(retry);
}"""

# Values under the storage key that are no session: each must give the login form, quietly.
GARBAGE = {
    "empty": "",
    "not JSON": "{not json",
    "null": "null",
    "a list": "[1, 2]",
    "a number": "42",
    "no userId": json.dumps({"version": 1, "sessionId": "x"}),
    "wrong types": json.dumps(
        {
            "version": 1,
            "applicationKey": "k",
            "userId": 7,
            "sessionId": [],
            "sessionSecret": None,
            "expiresAt": 1,
        }
    ),
    "unknown version": json.dumps(
        {"version": 99, "userId": "alice", "sessionId": "s", "sessionSecret": "x"}
    ),
    "huge": json.dumps({"userId": "alice", "padding": "x" * 100_000}),
    "markup": "<img src=x onerror=\"document.title='pwned'\">",
}


def new_username() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"

"""User tickets: a partner backend vouches for one of its users.

A ticket is `base64url(payload) "." base64url(HMAC-SHA256(applicationSecret, base64url(payload)))`,
unpadded, where the payload is JSON. Standard library only, so that a partner backend can import
`sign_ticket` without the service's dependencies::

    from authservice import sign_ticket
    ticket = sign_ticket("app_3f9c...", application_secret, "alice", ttl_s=300)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from authservice.auth.rules import TICKET_MAX_CHARS, USERNAME_RULE, is_valid_username
from authservice.core.clock import format_time, parse_time, utc_now

__all__ = ["MAX_TICKET_TTL_S", "TicketClaims", "TicketError", "read_ticket", "sign_ticket"]

MAX_TICKET_TTL_S = 60 * 60
# Partner clocks drift: a ticket issued up to this far in our future still counts as issued now.
CLOCK_SKEW_S = 30
_NONCE_BYTES = 16  # 128 bits
_FIELDS = ("applicationKey", "userId", "issuedAt", "expiresAt", "nonce")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class TicketError(ValueError):
    """The ticket is malformed, forged, for another application, expired or not yet valid."""


@dataclass(frozen=True)
class TicketClaims:
    application_key: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    nonce: str


def sign_ticket(
    application_key: str,
    application_secret: str,
    user_id: str,
    ttl_s: float = 300,
    *,
    now: datetime | None = None,
) -> str:
    if not 0 < ttl_s <= MAX_TICKET_TTL_S:
        raise ValueError(f"ttl_s must be more than 0 and at most {MAX_TICKET_TTL_S}")
    if not is_valid_username(user_id):
        raise ValueError(f"user_id must be {USERNAME_RULE}")
    issued_at = (now or utc_now()).replace(microsecond=0)
    payload = {
        "applicationKey": application_key,
        "userId": user_id,
        "issuedAt": format_time(issued_at),
        "expiresAt": format_time(issued_at + timedelta(seconds=ttl_s)),
        "nonce": _encode(secrets.token_bytes(_NONCE_BYTES)),
    }
    body = _encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_encode(_mac(application_secret, body))}"


def read_ticket(
    ticket: str, application_key: str, application_secret: str, *, now: datetime | None = None
) -> TicketClaims:
    """The claims of a genuine, current ticket for this application; else TicketError.

    Whether the nonce was seen before is the caller's to check: it needs storage.
    """
    if len(ticket) > TICKET_MAX_CHARS:
        raise TicketError(f"The ticket is longer than {TICKET_MAX_CHARS} characters.")
    body, _, signature = ticket.partition(".")
    if not (_BASE64URL.fullmatch(body) and _BASE64URL.fullmatch(signature)):
        raise TicketError("The ticket is not two base64url parts joined by a dot.")
    if not hmac.compare_digest(_decode(signature), _mac(application_secret, body)):
        raise TicketError("The ticket's signature does not match this application's secret.")
    claims = _claims(body)
    now = now or utc_now()
    if claims.application_key != application_key:
        raise TicketError("The ticket is for another application.")
    if claims.issued_at > now + timedelta(seconds=CLOCK_SKEW_S):
        raise TicketError("The ticket is issued in the future.")
    if claims.expires_at <= now:
        raise TicketError("The ticket has expired.")
    if claims.expires_at - claims.issued_at > timedelta(seconds=MAX_TICKET_TTL_S):
        raise TicketError("The ticket is valid for more than an hour.")
    return claims


def _claims(body: str) -> TicketClaims:
    try:
        payload = json.loads(_decode(body))
    except ValueError:
        raise TicketError("The ticket's payload is not JSON.") from None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(f), str) for f in _FIELDS):
        raise TicketError(f"The ticket's payload needs the string fields {', '.join(_FIELDS)}.")
    if not is_valid_username(payload["userId"]):
        raise TicketError(f"The ticket's userId must be {USERNAME_RULE}.")
    nonce = payload["nonce"]
    if not (_BASE64URL.fullmatch(nonce) and len(nonce) <= 64) or len(_decode(nonce)) < _NONCE_BYTES:
        raise TicketError("The ticket's nonce must be 128 to 384 random bits, base64url.")
    try:
        issued_at, expires_at = parse_time(payload["issuedAt"]), parse_time(payload["expiresAt"])
    except ValueError:
        raise TicketError("The ticket's times must look like 2026-11-27T04:00:00Z.") from None
    return TicketClaims(payload["applicationKey"], payload["userId"], issued_at, expires_at, nonce)


def _mac(application_secret: str, body: str) -> bytes:
    return hmac.new(application_secret.encode(), body.encode(), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TicketError("The ticket is not valid base64url.") from None

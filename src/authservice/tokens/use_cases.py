"""What the token routes do, without HTTP (TokenService): issue an access token to the caller of a
live session, publish the keys that verify them (the JWKS) and the issuer's metadata, and tell an
application's backend whether a token is still live (introspection).

A token is issued to a caller authenticated as `GET /v1/me` authenticates one (the composition root
hands the check in as `authenticate`): issuing rotates nothing and writes nothing more than that
check does. Introspection writes nothing.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from authservice.auth.applications import find_application
from authservice.auth.handed_out import Authenticate, SessionEnd
from authservice.auth.presented import PresentedSession
from authservice.core.audit import AuditEvent, record_event
from authservice.core.clock import utc_now
from authservice.core.errors import (
    InvalidClient,
    InvalidRequest,
    SessionRejected,
    TokensNotConfigured,
)
from authservice.core.sealing import SecretSealer
from authservice.core.settings import Settings
from authservice.database.tables import ApplicationAudienceRow, ApplicationRow
from authservice.tokens.access_tokens import (
    IssuedToken,
    access_token_claims,
    read_access_token,
    sign_access_token,
)
from authservice.tokens.signing_keys import ALGORITHM, SigningKeys

__all__ = ["JWKS_PATH", "METADATA_PATH", "TokenService"]

# Under the issuer (which ends in /v1), as the routes serve them.
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
INTROSPECTION_PATH = "/introspect"


class TokenService:
    """Built once, by the composition root."""

    def __init__(
        self,
        settings: Settings,
        database: sessionmaker[Session],
        server_key: bytes,
        *,
        authenticate: Authenticate,
        session_end: SessionEnd,
    ) -> None:
        self._issuer = settings.issuer
        self._ttl_s = settings.access_token_ttl_s
        self._db = database
        self._authenticate = authenticate
        self._session_end = session_end
        self._keys = SigningKeys(server_key)
        self._sealer = SecretSealer(server_key)

    def __repr__(self) -> str:
        return f"TokenService(issuer={self._issuer!r}, ttl_s={self._ttl_s})"

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise TokensNotConfigured()
        return self._issuer

    def issue(self, presented: PresentedSession, audience: str | None) -> IssuedToken:
        """A token for the session `presented` (checked as `GET /v1/me` checks it), for `audience`:
        the application key by default, or an audience the application registered."""
        issuer = self.issuer
        session = self._authenticate(presented)
        now = utc_now()
        with self._db() as db, db.begin():
            if audience is not None and audience != session.application_key:
                _require_audience(db, session.application_key, audience)
            key = self._keys.current(db, now)
        claims = access_token_claims(
            issuer=issuer,
            session=session,
            audience=audience or session.application_key,
            now=now,
            ttl_s=self._ttl_s,
            device_key=None if session.device_key is None else json.loads(session.device_key),
        )
        return sign_access_token(claims, key, now)

    def key_set(self) -> dict[str, Any]:
        """The JWKS (RFC 7517): every signing key not removed."""
        with self._db() as db, db.begin():
            return {"keys": [key.jwk for key in self._keys.published(db)]}

    def metadata(self) -> dict[str, Any]:
        """The issuer's metadata, in the shape of RFC 8414."""
        issuer = self.issuer
        return {
            "issuer": issuer,
            "jwks_uri": issuer + JWKS_PATH,
            "introspection_endpoint": issuer + INTROSPECTION_PATH,
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
            "access_token_signing_alg_values_supported": [ALGORITHM],
            "dpop_signing_alg_values_supported": [ALGORITHM],
            "response_types_supported": [],
        }

    def introspect(
        self, application_key: str, application_secret: str, token: str, client_address: str
    ) -> dict[str, Any]:
        """RFC 7662: whether `token` is live (signed here, not expired, issued to this application,
        its session not signed out, revoked or expired: checked now), with its claims if it is.
        InvalidClient unless the application authenticates."""
        issuer = self.issuer
        now = utc_now()
        with self._db() as db, db.begin():
            application = find_application(db, application_key)
            if application is None or not _secret_matches(
                self._sealer, application, application_secret
            ):
                record_event(
                    AuditEvent.INTROSPECTION_REFUSED,
                    application=application_key if application else None,
                    address=client_address,
                )
                raise InvalidClient()
            keys = {key.kid: key for key in self._keys.published(db)}
            claims = read_access_token(token, keys, issuer, now)
            if claims is None or claims.get("client_id") != application.key:
                return {"active": False}
            try:
                self._session_end(db, str(claims.get("sid")), now)
            except SessionRejected:
                return {"active": False}
        return {"active": True, "token_type": "DPoP" if "cnf" in claims else "Bearer", **claims}


def _require_audience(db: Session, application_key: str, audience: str) -> None:
    registered = db.scalar(
        select(ApplicationAudienceRow.audience)
        .join(ApplicationRow, ApplicationRow.id == ApplicationAudienceRow.application_id)
        .where(ApplicationRow.key == application_key, ApplicationAudienceRow.audience == audience)
    )
    if registered is None:
        raise InvalidRequest(
            "That audience is not one this application registered; leave it out for a token "
            "for the application itself.",
            field="audience",
        )


def _secret_matches(sealer: SecretSealer, application: ApplicationRow, secret: str) -> bool:
    expected = sealer.unseal(application.secret, application.key)
    return hmac.compare_digest(expected.encode(), secret.encode())

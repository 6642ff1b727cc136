"""Application management: create, list and ensure applications (`python -m authservice create-app`,
`list-apps`, `add-audience`, the dev server). An application has a public key (it is in the web
page) and a secret for the application's backend, which is stored sealed (core/sealing.py): the
database alone does not give it away. It may register audiences, the URLs of its APIs, which its
access tokens may then name as `aud` (tokens/).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from authservice.auth.applications import find_application
from authservice.auth.rules import APPLICATION_KEY_PATTERN
from authservice.core.clock import utc_now
from authservice.core.keys import load_server_key, new_application_key, new_secret
from authservice.core.sealing import SecretSealer
from authservice.core.settings import Settings
from authservice.database.engine import one_off_session
from authservice.database.tables import AUDIENCE_MAX_CHARS, ApplicationAudienceRow, ApplicationRow

__all__ = [
    "Application",
    "add_audience",
    "create_application",
    "ensure_application",
    "list_applications",
]

_KEY = re.compile(APPLICATION_KEY_PATTERN)


@dataclass(frozen=True)
class Application:
    name: str
    key: str
    secret: str = field(repr=False)
    audiences: tuple[str, ...] = ()


def ensure_application(
    settings: Settings, name: str = "development", application_key: str | None = None
) -> Application:
    """The application with that key (or, without a key, that name); created if missing."""
    with _database(settings) as (db, sealer), db.begin():
        if application_key is not None:
            row = find_application(db, application_key)
        else:
            oldest_first = select(ApplicationRow).order_by(ApplicationRow.id)
            row = db.scalars(oldest_first.where(ApplicationRow.name == name)).first()
        if row is None:
            row = _insert(db, sealer, name, application_key)
        return _public(row, sealer, db)


def create_application(
    settings: Settings,
    name: str,
    application_key: str | None = None,
    audiences: Iterable[str] = (),
) -> Application:
    """A new application, with these audiences for its access tokens; ValueError if that name or
    key is taken, or an audience is not an absolute URL."""
    with _database(settings) as (db, sealer), db.begin():
        if db.scalars(select(ApplicationRow).where(ApplicationRow.name == name)).first():
            raise ValueError(f"an application named {name!r} exists")
        if application_key is not None and find_application(db, application_key):
            raise ValueError(f"an application with key {application_key!r} exists")
        row = _insert(db, sealer, name, application_key)
        for audience in dict.fromkeys(audiences):
            db.add(ApplicationAudienceRow(application_id=row.id, audience=_checked(audience)))
        db.flush()
        return _public(row, sealer, db)


def add_audience(settings: Settings, application_key: str, audience: str) -> Application:
    """Register one more audience for the application's access tokens (done if it is already)."""
    with _database(settings) as (db, sealer), db.begin():
        row = find_application(db, application_key)
        if row is None:
            raise ValueError(f"no application has the key {application_key!r}")
        audience = _checked(audience)
        if db.get(ApplicationAudienceRow, (row.id, audience)) is None:
            db.add(ApplicationAudienceRow(application_id=row.id, audience=audience))
            db.flush()
        return _public(row, sealer, db)


def list_applications(settings: Settings) -> list[Application]:
    with _database(settings) as (db, sealer):
        rows = db.scalars(select(ApplicationRow).order_by(ApplicationRow.id)).all()
        return [_public(row, sealer, db) for row in rows]


@contextmanager
def _database(settings: Settings) -> Iterator[tuple[Session, SecretSealer]]:
    with one_off_session(settings) as db:
        yield db, SecretSealer(load_server_key(settings))


def _insert(
    db: Session, sealer: SecretSealer, name: str, application_key: str | None
) -> ApplicationRow:
    if application_key is not None and not _KEY.fullmatch(application_key):
        raise ValueError("an application key is 1 to 64 characters of A-Z a-z 0-9 _ -")
    if not 1 <= len(name) <= 100:
        raise ValueError("an application name is 1 to 100 characters")
    key = application_key or new_application_key()
    row = ApplicationRow(
        key=key, name=name, secret=sealer.seal(new_secret(), key), created_at=utc_now()
    )
    db.add(row)
    db.flush()
    return row


def _checked(audience: str) -> str:
    """An audience is an absolute http(s) URL (of one of the application's APIs)."""
    parts = urllib.parse.urlsplit(audience)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValueError(
            f"an audience is an absolute URL such as https://api.example, not {audience!r}"
        )
    if len(audience) > AUDIENCE_MAX_CHARS:
        raise ValueError(f"an audience is at most {AUDIENCE_MAX_CHARS} characters")
    return audience


def _public(row: ApplicationRow, sealer: SecretSealer, db: Session) -> Application:
    audiences = tuple(
        db.scalars(
            select(ApplicationAudienceRow.audience)
            .where(ApplicationAudienceRow.application_id == row.id)
            .order_by(ApplicationAudienceRow.audience)
        )
    )
    return Application(
        name=row.name, key=row.key, secret=sealer.unseal(row.secret, row.key), audiences=audiences
    )

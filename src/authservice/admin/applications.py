"""Application management: create, list and ensure applications (`python -m authservice create-app`,
`list-apps`, the dev server). An application has a public key (it is in the web page) and a secret
for the application's backend, which is stored sealed (core/sealing.py): the database alone does
not give it away.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
from authservice.database.engine import open_database
from authservice.database.tables import ApplicationRow

__all__ = ["Application", "create_application", "ensure_application", "list_applications"]

_KEY = re.compile(APPLICATION_KEY_PATTERN)


@dataclass(frozen=True)
class Application:
    name: str
    key: str
    secret: str = field(repr=False)


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
        return _public(row, sealer)


def create_application(
    settings: Settings, name: str, application_key: str | None = None
) -> Application:
    """A new application; ValueError if that name or key is taken."""
    with _database(settings) as (db, sealer), db.begin():
        if db.scalars(select(ApplicationRow).where(ApplicationRow.name == name)).first():
            raise ValueError(f"an application named {name!r} exists")
        if application_key is not None and find_application(db, application_key):
            raise ValueError(f"an application with key {application_key!r} exists")
        return _public(_insert(db, sealer, name, application_key), sealer)


def list_applications(settings: Settings) -> list[Application]:
    with _database(settings) as (db, sealer):
        rows = db.scalars(select(ApplicationRow).order_by(ApplicationRow.id))
        return [_public(row, sealer) for row in rows]


@contextmanager
def _database(settings: Settings) -> Iterator[tuple[Session, SecretSealer]]:
    engine = open_database(settings)
    try:
        with Session(engine, expire_on_commit=False) as db:
            yield db, SecretSealer(load_server_key(settings))
    finally:
        engine.dispose()


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


def _public(row: ApplicationRow, sealer: SecretSealer) -> Application:
    return Application(name=row.name, key=row.key, secret=sealer.unseal(row.secret, row.key))

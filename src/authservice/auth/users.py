"""Users of one application: looked up, added by sign-up, or added by their first ticket.

Looked up by `username_key`, so that case and width variants of a name are the same user.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authservice.auth.rules import username_key
from authservice.core.clock import utc_now
from authservice.core.errors import UsernameTaken
from authservice.database.tables import ApplicationRow, UserRow

__all__ = ["add_user", "find_or_add_user", "find_user"]


def find_user(db: Session, application: ApplicationRow, username: str) -> UserRow | None:
    query = select(UserRow).where(UserRow.application_id == application.id)
    return db.scalars(query.where(UserRow.username_key == username_key(username))).first()


def add_user(
    db: Session, application: ApplicationRow, username: str, password_hash: str | None
) -> UserRow:
    """Raises UsernameTaken if the application has that user already."""
    user = UserRow(
        application=application,
        username=username,
        username_key=username_key(username),
        password_hash=password_hash,
        created_at=utc_now(),
    )
    try:
        # A savepoint, so that losing a race to an equal sign-up leaves the transaction usable.
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        raise UsernameTaken() from None
    return user


def find_or_add_user(db: Session, application: ApplicationRow, username: str) -> UserRow:
    user = find_user(db, application, username)
    if user is None:
        try:
            user = add_user(db, application, username, password_hash=None)
        except UsernameTaken:  # a concurrent first ticket for the same user won
            user = find_user(db, application, username)
            if user is None:
                raise
    return user

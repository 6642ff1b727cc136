"""Applications as sign-up and sign-in find them: by their public key (the one in the web page).
Creating and listing them is administration (admin/applications.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from authservice.core.errors import UnknownApplication
from authservice.database.tables import ApplicationRow

__all__ = ["find_application", "require_application"]


def find_application(db: Session, application_key: str) -> ApplicationRow | None:
    return db.scalars(select(ApplicationRow).where(ApplicationRow.key == application_key)).first()


def require_application(db: Session, application_key: str) -> ApplicationRow:
    """The application with that key; UnknownApplication if there is none."""
    application = find_application(db, application_key)
    if application is None:
        raise UnknownApplication()
    return application

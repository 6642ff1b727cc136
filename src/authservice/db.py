"""The database engine: SQLite in the data directory by default (WAL), or any SQLAlchemy URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect

from authservice.files import ensure_private_dir, ensure_private_file
from authservice.models import Base
from authservice.settings import Settings

__all__ = ["OutdatedSchema", "open_database"]


class OutdatedSchema(ValueError):
    """The database was made by an older version of the service and needs migrating."""


def open_database(settings: Settings) -> Engine:
    """An engine for the configured database, with every table created. The data folder is made
    private (0700) and a SQLite database file private (0600) before SQLite first opens it."""
    ensure_private_dir(settings.data_dir)
    engine = create_engine(settings.database_url or "")
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            ensure_private_file(Path(engine.url.database))
        _configure_sqlite(engine)
    Base.metadata.create_all(engine)
    _check_schema(engine)
    return engine


def _check_schema(engine: Engine) -> None:
    """`create_all` adds missing tables but not missing columns: an older database would fail on
    its first query. Say so at start-up instead, in one sentence."""
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column.name for column in table.columns if column.name not in present]
        if missing:
            raise OutdatedSchema(
                f"The database {engine.url.render_as_string(hide_password=True)} was made by an "
                f"older version of the auth service (table {table.name} has no column "
                f"{missing[0]}): migrate it, or, for development data, start with a new data "
                "folder."
            )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below), not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=5000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Take the write lock up front: two transactions that read and then write the same
        # session then queue (busy_timeout) instead of one failing with SQLITE_BUSY.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

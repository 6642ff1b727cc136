"""Which version of the schema a database is at, and migrating it (Alembic drives the revisions in
`migrations/versions/`).

`migrate` brings a database to this version's schema in one transaction (SQLite and PostgreSQL
both change schemas transactionally), so a migration that fails leaves the database as it was.
`require_current_schema` is what every start checks: a database that is empty, older or newer than
this version is refused in one sentence that says what to do.

Databases made before migrations existed (by `create_all`, with no version table) are recognised
by their columns and stamped with the revision they match before the upgrade.
"""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select, table, text

__all__ = [
    "MIGRATE_COMMAND",
    "MigrationRefused",
    "SchemaNotCurrent",
    "describe_migration",
    "head_revision",
    "migrate",
    "require_current_schema",
]

MIGRATE_COMMAND = "python -m authservice migrate"
SCRIPT_LOCATION = "authservice.database:migrations"
# What the migrations find in `config.attributes`: the connection to run on, and the server key
# (application secrets are sealed with it). Revision 0002 reads the key under this name, copied
# into it: keep the name.
CONNECTION_ATTRIBUTE = "connection"
SERVER_KEY_ATTRIBUTE = "server_key"
# Any fixed number: the PostgreSQL advisory lock that lets one process migrate at a time.
_MIGRATION_LOCK = 0x61757468_0001
# The tables of the first revision, and those the second one added.
_FIRST_TABLES = frozenset({"applications", "users", "sessions", "ticket_nonces"})
_HARDENING_TABLES = frozenset({"retired_session_secrets", "rate_limits"})


class SchemaNotCurrent(ValueError):
    """The database's schema is not the one this version of the service works with."""


class MigrationRefused(ValueError):
    """Something in the database stops a migration; nothing was changed."""


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError("the auth service ships no migrations")
    return head


def require_current_schema(engine: Engine) -> None:
    """SchemaNotCurrent, in one sentence, unless the database is at this version's revision."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        has_tables = bool(inspect(connection).get_table_names())
    head = head_revision()
    if current == head:
        return
    where = f"The database {engine.url.render_as_string(hide_password=True)}"
    then = f"run `{MIGRATE_COMMAND}` with the same --data-dir and --database-url, or serve with --migrate"
    if current is None and not has_tables:
        raise SchemaNotCurrent(f"{where} has no tables yet: {then}.")
    if current is None:
        raise SchemaNotCurrent(
            f"{where} was made by a version of the auth service from before migrations: {then}."
        )
    if _is_known(current):
        raise SchemaNotCurrent(
            f"{where} is at schema revision {current}, older than this version's {head}: {then}."
        )
    raise SchemaNotCurrent(
        f"{where} is at schema revision {current}, which this version of the auth service does "
        f"not know (a newer version migrated it): run that version, or one at least as new."
    )


def migrate(
    engine: Engine, *, server_key: bytes | None, revision: str = "head"
) -> tuple[str | None, str]:
    """Upgrade to `revision` (the newest by default), or downgrade to it if the database is
    newer; (the revision before, the revision now)."""
    target = head_revision() if revision == "head" else revision
    if not _is_known(target):
        raise ValueError(f"There is no schema revision {revision!r}; there are {_known()}.")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several processes may start with --migrate at once: one migrates, the others then
            # find the database migrated.
            connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        context = MigrationContext.configure(connection)
        before = context.get_current_revision() or _stamp_unversioned(connection, context)
        config = Config()
        config.set_main_option("script_location", SCRIPT_LOCATION)
        config.attributes[CONNECTION_ATTRIBUTE] = connection
        config.attributes[SERVER_KEY_ATTRIBUTE] = server_key
        if before is not None and _order(target) < _order(before):
            command.downgrade(config, target)
        else:
            command.upgrade(config, target)
        if connection.dialect.name == "sqlite":
            _check_foreign_keys(connection)
    return before, target


def describe_migration(where: str, before: str | None, after: str) -> str:
    """What `migrate` did to the database `where`, in one sentence."""
    if before == after:
        return f"{where} is at schema revision {after} already"
    if before is None:
        return f"made the tables of schema revision {after} in {where}"
    return f"migrated {where} from schema revision {before} to {after}"


def _stamp_unversioned(connection: Connection, context: MigrationContext) -> str | None:
    """A database that an auth service made with `create_all`, before migrations, is stamped with
    the revision its tables match (which is returned); an empty one is left for the first
    revision to fill."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if not tables:
        return None
    where = f"The database {connection.engine.url.render_as_string(hide_password=True)}"
    if not _FIRST_TABLES <= tables or not tables <= _FIRST_TABLES | _HARDENING_TABLES:
        raise MigrationRefused(
            f"{where} holds tables that the auth service did not make ({', '.join(sorted(tables))}):"
            " give it a database of its own."
        )
    session_columns = {column["name"] for column in inspector.get_columns("sessions")}
    if "previous_secret_hash" not in session_columns:
        context.stamp(_scripts(), "0002")  # the hardened schema, as create_all made it
        return "0002"
    # The first version's schema. A start of the hardened version before migrations (refused, as
    # its columns were missing) may have added that version's two tables, empty: the second
    # revision makes them again, properly.
    for name in sorted(tables & _HARDENING_TABLES):
        if connection.execute(select(func.count()).select_from(table(name))).scalar_one():
            raise MigrationRefused(f"{where} has rows in {name} but an older schema elsewhere.")
        connection.execute(text(f"DROP TABLE {name}"))
    context.stamp(_scripts(), "0001")
    return "0001"


def _check_foreign_keys(connection: Connection) -> None:
    """SQLite checks no foreign key while a migration runs (engine.migrate_database): check them all
    before committing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table_name, row_id, parent, _ = broken[0]
        raise MigrationRefused(
            f"The migration would leave {len(broken)} rows pointing at nothing (the first: "
            f"row {row_id} of {table_name}, into {parent}); nothing was changed."
        )


def _is_known(revision: str) -> bool:
    return revision in _known()


def _known() -> list[str]:
    """Every revision id, oldest first (the history is one line)."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def _order(revision: str) -> int:
    return _known().index(revision)


@cache
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return ScriptDirectory.from_config(config)

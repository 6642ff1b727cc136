"""Migrations (Alembic), on SQLite and PostgreSQL: a database of the first version, holding users
and live sessions, is upgraded and everything in it still works; what cannot be migrated is
refused in one sentence, with nothing changed."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import argon2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, create_engine, insert, inspect, text

import authservice.database
from authservice import Application, Settings
from authservice.admin.applications import list_applications
from authservice.auth.passwords import ARGON2_MEMORY_KIB, ARGON2_PARALLELISM, ARGON2_TIME_COST
from authservice.core.keys import derive_rotated_secret, hash_secret, load_server_key, new_secret
from authservice.database.engine import migrate_database, open_database
from authservice.database.schema_versions import SchemaNotCurrent, head_revision, migrate
from authservice.database.tables import Base
from tests.service.conftest import Backend
from tests.service.helpers import PASSWORD, Api, assert_error, parse_time, start_service

APPLICATION_KEY = "app_first_version"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "authservice", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Iterator[Settings]:
    """An empty database of the backend, and the data folder of its server key."""
    (tmp_path / "data").mkdir(mode=0o700)
    yield Settings(data_dir=tmp_path / "data", database_url=backend.new_database_url())


def database_options(settings: Settings) -> list[str]:
    return ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url or ""]


@dataclass
class FirstVersionData:
    """What the first version of the service had stored, and what its clients hold."""

    application_secret: str
    fresh: dict[str, Any]  # a session never resumed
    rotated: dict[str, Any]  # resumed a moment ago: its previous secret is within the grace window
    rotated_previous_secret: str
    stolen: dict[str, Any]  # resumed an hour ago: its previous secret is a copy if it comes back
    stolen_previous_secret: str
    expired: dict[str, Any]


def make_first_version_database(settings: Settings, usernames: list[str]) -> FirstVersionData:
    """The tables as the first version's `create_all` made them (revision 0001, then no version
    table: that version had none), with its rows: a plain application secret, no username keys,
    sessions whose previous secret is a column."""
    engine = plain_engine(settings)
    try:
        migrate(engine, server_key=None, revision="0001")
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
            return insert_first_version_rows(connection, settings, usernames)
    finally:
        engine.dispose()


def insert_first_version_rows(
    connection: Connection, settings: Settings, usernames: list[str]
) -> FirstVersionData:
    tables = MetaData()
    tables.reflect(connection)
    applications, users, sessions = (
        tables.tables[name] for name in ("applications", "users", "sessions")
    )
    now = datetime.now(UTC)
    server_key = load_server_key(settings)  # the first version kept it in the same place
    secret = new_secret()
    application_id = connection.execute(
        insert(applications)
        .values(key=APPLICATION_KEY, name="first", secret=secret, created_at=now)
        .returning(applications.c.id)
    ).scalar_one()
    hasher = argon2.PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
    )
    user_ids = [
        connection.execute(
            insert(users)
            .values(
                application_id=application_id,
                username=name,
                password_hash=None if name == "Ticket.User" else hasher.hash(PASSWORD),
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        for name in [*usernames, "Ticket.User"]
    ]

    def session(
        number: int, *, rotated_ago: timedelta | None, ends_in: timedelta
    ) -> tuple[dict[str, Any], str | None]:
        session_id = f"ses_{number:032x}"
        first = new_secret()
        current, previous = first, None
        if rotated_ago is not None:
            current, previous = derive_rotated_secret(server_key, session_id, 1, first), first
        connection.execute(
            insert(sessions).values(
                id=session_id,
                user_id=user_ids[0],
                generation=0 if previous is None else 1,
                secret_hash=hash_secret(current),
                previous_secret_hash=None if previous is None else hash_secret(previous),
                rotated_at=None if rotated_ago is None else now - rotated_ago,
                created_at=now - timedelta(hours=2),
                expires_at=now + ends_in,
                idle_expires_at=now + ends_in,
            )
        )
        stored = {
            "version": 1,
            "applicationKey": APPLICATION_KEY,
            "userId": usernames[0],
            "sessionId": session_id,
            "sessionSecret": current,
        }
        return stored, previous

    day = timedelta(days=1)
    fresh, _ = session(1, rotated_ago=None, ends_in=day)
    rotated, rotated_previous = session(2, rotated_ago=timedelta(seconds=1), ends_in=day)
    stolen, stolen_previous = session(3, rotated_ago=timedelta(hours=1), ends_in=day)
    expired, _ = session(4, rotated_ago=None, ends_in=-timedelta(seconds=1))
    assert rotated_previous and stolen_previous
    return FirstVersionData(
        secret, fresh, rotated, rotated_previous, stolen, stolen_previous, expired
    )


def plain_engine(settings: Settings) -> Engine:
    return create_engine(settings.database_url or "")


def test_a_first_version_database_is_refused_then_migrated_and_every_user_and_session_works(
    settings: Settings, username: str
) -> None:
    data = make_first_version_database(settings, [username])

    refused = run_cli("serve", *database_options(settings), "--port", "0")
    migrated = run_cli("migrate", *database_options(settings))

    assert refused.returncode == 2 and "from before migrations" in refused.stderr, refused.stderr
    assert migrated.returncode == 0, migrated.stderr
    assert f"from schema revision 0001 to {head_revision()}" in migrated.stdout
    (application,) = list_applications(settings)
    assert application == Application("first", APPLICATION_KEY, data.application_secret)
    service = start_service(
        settings.data_dir, database_url=settings.database_url, rotation_grace_s=600
    )
    try:
        api = Api(service.process.url, application)
        # Users, by any case of their name; the ticket signed with the old secret still works.
        assert api.sign_in(username.upper()).body["userId"] == username
        assert_error(api.sign_up(username.upper()), 409, "username_taken")
        assert api.sign_in_with_ticket(api.ticket("ticket.user")).body["userId"] == "Ticket.User"
        # Sessions: live ones resume; the one rotated a moment ago still takes its previous
        # secret (grace window) to the same current one.
        assert api.resume(data.fresh).status == 200
        again = api.resume({**data.rotated, "sessionSecret": data.rotated_previous_secret})
        assert again.status == 200 and again.body["sessionSecret"] == data.rotated["sessionSecret"]
        assert api.resume(data.rotated).status == 200
        assert_error(api.resume(data.expired), 401, "session_expired")
        # Theft detection: the previous secret of a session rotated an hour ago revokes it.
        stolen_copy = {**data.stolen, "sessionSecret": data.stolen_previous_secret}
        assert_error(api.resume(stolen_copy), 401, "session_revoked")
        assert_error(api.resume(data.stolen), 401, "session_revoked")
    finally:
        service.process.stop()
    ((stored,),) = rows(
        settings, f"SELECT secret FROM applications WHERE key = '{APPLICATION_KEY}'"
    )
    assert stored.startswith("v1:") and data.application_secret not in stored


def test_a_database_at_0002_gains_the_device_list_and_keeps_its_users_and_live_sessions(
    settings: Settings, username: str
) -> None:
    data = make_first_version_database(settings, [username])
    assert migrate_database(settings, "0002") == ("0001", "0002")

    migrated = run_cli("migrate", *database_options(settings))

    assert migrated.returncode == 0, migrated.stderr
    assert f"from schema revision 0002 to {head_revision()}" in migrated.stdout
    (application,) = list_applications(settings)
    service = start_service(
        settings.data_dir, database_url=settings.database_url, rotation_grace_s=600
    )
    try:
        api = Api(service.process.url, application)
        listed = api.list_sessions(data.fresh)
        assert listed.status == 200, listed
        devices = {item["sessionId"]: item for item in listed.body["sessions"]}
        # The live sessions, the one asking first (it was used just now), then by their last
        # use as the migration filled it: the last rotation, or the start.
        assert list(devices) == [
            data.fresh["sessionId"],
            data.rotated["sessionId"],
            data.stolen["sessionId"],
        ]
        assert {item["device"] for item in devices.values()} == {"Unknown device"}
        stolen = devices[data.stolen["sessionId"]]
        rotated_after = parse_time(stolen["lastUsedAt"]) - parse_time(stolen["createdAt"])
        assert abs(rotated_after.total_seconds() - 3600) < 5  # rotated an hour ago, made two
        # Every session still works, and a new sign-in joins the list with its device.
        assert api.resume(data.rotated).status == 200
        assert api.sign_in(username.upper()).status == 201
        laptop = api.new_session(
            username, user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"
        )
        newest = api.list_sessions(laptop).body["sessions"][0]
        assert (newest["sessionId"], newest["device"]) == (laptop["sessionId"], "Firefox on Linux")
    finally:
        service.process.stop()


MESSAGING_TABLES = {
    "conversations",
    "conversation_participants",
    "messages",
    "message_deliveries",
    "mailboxes",
    "mailbox_events",
}


def test_a_database_at_0004_gains_messaging_and_its_users_write_to_each_other_at_once(
    settings: Settings, username: str
) -> None:
    data = make_first_version_database(settings, [username])
    assert migrate_database(settings, "0004") == ("0001", "0004")

    migrated = run_cli("migrate", *database_options(settings))

    assert migrated.returncode == 0, migrated.stderr
    assert f"from schema revision 0004 to {head_revision()}" in migrated.stdout
    (application,) = list_applications(settings)
    service = start_service(
        settings.data_dir, database_url=settings.database_url, rotation_grace_s=600
    )
    try:
        api = Api(service.process.url, application)
        reply = api.send_message(data.fresh, ["ticket.user"], "hello from before messaging")
        assert reply.status == 201, reply
        assert reply.body["message"]["to"] == ["Ticket.User"]
        ticket_user = api.new_session("ticket.user")
        listed = api.list_conversations(ticket_user).body["conversations"]
        assert [item["lastMessage"] for item in listed] == [reply.body["message"]]
    finally:
        service.process.stop()

    # Back to 0004 (through every later revision's downgrade): the messages go, everything else
    # stays.
    assert migrate_database(settings, "0004") == (head_revision(), "0004")
    engine = plain_engine(settings)
    try:
        assert not MESSAGING_TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert rows(settings, "SELECT count(*) FROM sessions")[0][0] >= 5


def test_usernames_that_now_collide_are_reported_and_nothing_is_migrated(
    settings: Settings, username: str
) -> None:
    data = make_first_version_database(settings, [username, username.upper(), "someone-else"])

    refused = run_cli("migrate", *database_options(settings))

    assert refused.returncode == 2
    assert (
        f"'{username.upper()}' and '{username}' in application {APPLICATION_KEY}" in refused.stderr
    )
    assert "nothing was changed" in refused.stderr and "Traceback" not in refused.stderr
    engine = plain_engine(settings)
    try:
        inspector = inspect(engine)
        assert "alembic_version" not in inspector.get_table_names()
        assert "previous_secret_hash" in {c["name"] for c in inspector.get_columns("sessions")}
    finally:
        engine.dispose()
    assert rows(settings, "SELECT secret FROM applications") == [(data.application_secret,)]


def test_a_database_migrated_down_and_up_again_keeps_its_sessions_and_secrets(
    settings: Settings, username: str
) -> None:
    data = make_first_version_database(settings, [username])
    migrate_database(settings)
    secrets_before = rows(
        settings, "SELECT session_id, generation, secret_hash FROM retired_session_secrets"
    )

    assert migrate_database(settings, "0001") == (head_revision(), "0001")
    (plain,) = rows(settings, "SELECT secret FROM applications")
    previous = dict(rows(settings, "SELECT id, previous_secret_hash FROM sessions"))
    assert migrate_database(settings) == ("0001", head_revision())

    assert plain == (data.application_secret,)
    assert previous[data.rotated["sessionId"]] == hash_secret(data.rotated_previous_secret)
    assert sorted(secrets_before) == sorted(
        rows(settings, "SELECT session_id, generation, secret_hash FROM retired_session_secrets")
    )
    assert list_applications(settings)[0].secret == data.application_secret


def rows(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    engine = plain_engine(settings)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_the_migrations_make_exactly_the_tables_the_models_describe(settings: Settings) -> None:
    migrate_database(settings)

    engine = open_database(settings)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()

    assert differences == []


def test_a_database_made_by_the_hardened_version_before_migrations_is_taken_as_it_is(
    settings: Settings,
) -> None:
    # The hardened version's create_all made the schema of revision 0002, and no version table.
    migrate_database(settings, "0002")
    engine = plain_engine(settings)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    engine.dispose()

    assert migrate_database(settings) == ("0002", head_revision())
    open_database(settings).dispose()


def test_processes_that_migrate_at_once_migrate_once(settings: Settings) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: migrate_database(settings), range(4)))

    assert Counter(results) == {(None, head_revision()): 1, (head_revision(), head_revision()): 3}


@pytest.mark.parametrize(
    ("prepare", "sentence"),
    [
        (lambda settings: None, "has no tables yet: run `python -m authservice migrate`"),
        (
            lambda settings: migrate_database(settings, "0001"),
            f"is at schema revision 0001, older than this version's {head_revision()}: run",
        ),
        (
            lambda settings: set_revision(settings, "0099"),
            "is at schema revision 0099, which this version of the auth service does not know",
        ),
    ],
    ids=["empty", "older", "newer"],
)
def test_a_database_not_at_this_version_s_revision_is_refused_in_one_sentence(
    tmp_path: Path, prepare: Any, sentence: str
) -> None:
    settings = Settings(data_dir=tmp_path)
    prepare(settings)

    with pytest.raises(SchemaNotCurrent) as refused:
        open_database(settings)

    assert sentence in str(refused.value)
    assert str(refused.value).count(". ") == 0 and str(refused.value).endswith(".")


def set_revision(settings: Settings, revision: str) -> None:
    migrate_database(settings)
    engine = plain_engine(settings)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def test_no_migration_imports_the_service() -> None:
    # A revision must do what it did when it was written, whatever the service becomes: what it
    # needs of the service is copied into it (src/authservice/database/migrations/README.md).
    versions = Path(authservice.database.__file__).parent / "migrations" / "versions"
    imported = {
        (script.name, name)
        for script in sorted(versions.glob("*.py"))
        for node in ast.walk(ast.parse(script.read_text()))
        for name in _imported(node)
        if name == "authservice" or name.startswith("authservice.")
    }

    assert len(list(versions.glob("*.py"))) == int(head_revision())  # one file each, in order
    assert imported == set()


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return []

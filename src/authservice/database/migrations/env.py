"""Alembic runs this for every command: the migrations run on the connection that
`authservice.database.schema_versions.migrate` hands over, inside its transaction (there is no
alembic.ini)."""

from __future__ import annotations

from alembic import context

from authservice.database.schema_versions import CONNECTION_ATTRIBUTE
from authservice.database.tables import Base

if context.is_offline_mode():
    raise RuntimeError("the auth service's migrations run on a database, not as SQL scripts")

connection = context.config.attributes[CONNECTION_ATTRIBUTE]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot drop a column or add a constraint in place: batch mode rebuilds the table.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

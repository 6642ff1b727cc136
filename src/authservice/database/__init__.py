"""The database: its engine (SQLite or PostgreSQL), its tables, the versions of its schema and
their migrations (Alembic), the rate-limit store, the health check and the purge."""

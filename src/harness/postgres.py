"""A throw-away PostgreSQL cluster for the tests and the benchmarks, from the server's own programs
(Debian's `postgresql` package: initdb, pg_ctl), in a temporary folder that is removed at the end.

    with PostgresCluster.create() as cluster:
        url = cluster.create_database()  # postgresql+psycopg://postgres@/db_1?host=/tmp/...

It listens on no TCP port, only on a Unix socket inside its own 0700 folder: no port to race other
test runs for, and no one but root and the cluster's user can connect, which is why trust
authentication (no password) is fine. PostgreSQL refuses to run as root, and CI runs as root: then
the cluster runs as the unprivileged `postgres` user that Debian's package creates (the programs
are started with that user id; the folder is that user's).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["INSTALL_HINT", "PostgresCluster", "PostgresError", "find_postgres_bin_dir"]

INSTALL_HINT = "Debian: apt-get install postgresql; or set POSTGRES_BIN_DIR to its bin folder"
# Where Debian puts each major version's programs (they are not on PATH).
_DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_SUPERUSER = "postgres"
_PORT = 5432  # only names the socket file, in a folder of its own
# Throw-away data: durability traded for speed (no fsync, no waiting for the log at commit).
_FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresError(RuntimeError):
    """A PostgreSQL program failed; the message carries its output."""


def find_postgres_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: $POSTGRES_BIN_DIR, else PATH, else Debian's newest."""
    configured = os.environ.get("POSTGRES_BIN_DIR")
    if configured:
        return Path(configured)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(glob.glob(_DEBIAN_BIN_DIRS), key=_major_version, reverse=True)
    candidates = [Path(folder) for folder in found if (Path(folder) / "initdb").exists()]
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class _RunAs:
    """Who runs the server: this process's user, or `postgres` when this process is root."""

    uid: int
    gid: int

    @classmethod
    def unprivileged(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(os.geteuid(), os.getegid())
        try:
            entry = pwd.getpwnam(_SUPERUSER)
        except KeyError:
            raise PostgresError(
                "PostgreSQL refuses to run as root and there is no `postgres` user to run it as "
                "(Debian's postgresql package creates one)"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid)

    def subprocess_options(self) -> dict[str, Any]:
        """What makes subprocess.run start a program as this user (nothing, if it is us)."""
        if self.uid == os.geteuid():
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


class PostgresCluster:
    """A running cluster in `root` (its data, its socket, its log). `durable=False` (the tests)
    turns fsync and synchronous commit off; `durable=True` (the benchmark) keeps what a real
    server would have."""

    def __init__(self, bin_dir: Path, root: Path, run_as: _RunAs) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self._run_as = run_as
        self._databases = 0
        self.running = False

    @classmethod
    def create(cls, bin_dir: Path | None = None, *, durable: bool = False) -> PostgresCluster:
        bin_dir = bin_dir or find_postgres_bin_dir()
        if bin_dir is None:
            raise PostgresError(f"PostgreSQL is not installed ({INSTALL_HINT})")
        run_as = _RunAs.unprivileged()
        # Not under pytest's temporary folder: that one is root's and 0700 in CI, so the
        # `postgres` user could not reach into it.
        root = Path(tempfile.mkdtemp(prefix="authservice-pg-"))
        os.chown(root, run_as.uid, run_as.gid)
        cluster = cls(bin_dir, root, run_as)
        try:
            cluster._initdb(durable=durable)
            cluster.start()
        except BaseException:
            cluster.close()
            raise
        return cluster

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"PostgresCluster({str(self.root)!r}, {state})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def server_pid(self) -> int | None:
        """The postmaster's process id while the server runs (its backends are its children)."""
        pid_file = self.data_dir / "postmaster.pid"
        if not self.running or not pid_file.exists():
            return None
        return int(pid_file.read_text().split("\n", 1)[0])

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database, over the cluster's socket."""
        return f"postgresql+psycopg://{_SUPERUSER}@/{database}?host={self.root}&port={_PORT}"

    def start(self) -> None:
        self._pg_ctl("start", "--wait", "--timeout=60", f"--log={self.log_file}")
        self.running = True

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when a database server goes away."""
        if self.running:
            self._pg_ctl("stop", "--wait", "--timeout=60", "--mode=fast")
            self.running = False

    def create_database(self, *, log_statements: bool = False) -> str:
        """A new empty database; its URL. With `log_statements`, the server writes every statement
        sent to it to `log_file` (`log_statement = all`, for this database only)."""
        import psycopg

        self._databases += 1
        name = f"db_{self._databases}"
        with psycopg.connect(self._libpq_url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
            if log_statements:
                connection.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
        return self.url(name)

    def close(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _initdb(self, *, durable: bool) -> None:
        self._run(
            "initdb",
            f"--pgdata={self.data_dir}",
            f"--username={_SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.root}'",
            "port": str(_PORT),
            # Every test's service processes keep pools of their own (15 connections each).
            "max_connections": "300",
            **({} if durable else _FAST_SETTINGS),
        }
        lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# set by harness.postgres\n" + lines)

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", f"--pgdata={self.data_dir}", *args)

    def _run(self, program: str, *args: str) -> None:
        completed = subprocess.run(
            [str(self.bin_dir / program), *args],
            **self._run_as.subprocess_options(),
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if completed.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise PostgresError(
                f"{program} {' '.join(args)} failed ({completed.returncode}):\n"
                f"{completed.stdout}{completed.stderr}{log}"
            )

    def _libpq_url(self, database: str) -> str:
        return f"postgresql://{_SUPERUSER}@/{database}?host={self.root}&port={_PORT}"


def _major_version(folder: str) -> int:
    version = Path(folder).parent.name
    return int(version) if version.isdigit() else 0

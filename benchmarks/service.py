"""CPU per request of the auth service's resume, `/me` and health, beside its floor and a
hello-world, on SQLite and PostgreSQL: from /proc, the service and the database apart.

    .venv/bin/python benchmarks/service.py [--requests 250] [--rounds 12]

Five servers run at once, on loopback, each one process (uvicorn, no access log):
- the auth service (`python -m authservice serve`) on SQLite and on PostgreSQL;
- the floor (benchmarks/floor.py): a bare Starlette app doing the same work on the same databases in
  as few statements as it can (one per request on PostgreSQL, through async psycopg);
- FastAPI's hello-world (benchmarks/hello_world.py).
PostgreSQL is a throw-away cluster (harness.postgres) with its durable settings (fsync and
synchronous commit on), reached over a Unix socket.

The targets: `POST /v1/sessions/resume` (each request presents the secret the previous answer gave:
a real rotation every time), `GET /v1/me` (a Bearer session) and `GET /v1/health` of the service and
of the floor on each database, and the hello-world's `GET /`. Each round sends `--requests`
sequential requests on one kept-alive connection to each target in turn (so that a change in the
machine's load falls on all of them alike; the rounds are short because this machine's speed drifts
by up to a third within half an hour); the figure is the median over `--rounds` rounds.

CPU time is utime + stime from /proc of the server's process tree, and of PostgreSQL's (the
postmaster, its backends and background processes) apart, before and after each batch: what a
request costs, whatever else the shared machine runs meanwhile (printed too: how many of its cores
were busy, and how much of that was not these servers). The load generator runs on the same machine
but is not counted. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authservice import Application
from harness.api_client import ApiConnection, bearer
from harness.cpu import Busy, MachineLoad, tree_cpu_s
from harness.postgres import PostgresCluster
from harness.processes import AuthServiceProcess, ServerProcess, free_port

HERE = Path(__file__).resolve().parent
WARMUP_REQUESTS = 100
UNLIMITED: dict[str, Any] = {"login_attempts_per_ip": 1_000_000}
OPERATIONS = ("resume", "me", "health")


@dataclass
class Server:
    """A running server: where it answers, and the roots of the process trees that serve it (its
    own; PostgreSQL's postmaster, or None on SQLite)."""

    name: str
    url: str
    pid: int
    database_pid: int | None


@dataclass
class Target:
    """One operation of one server, and the CPU each of its rounds cost per request (ms)."""

    server: Server
    operation: str
    send: Callable[[ApiConnection], int]  # one request; its status
    server_ms: list[float] = field(default_factory=list)
    database_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.operation:<7} {self.server.name}"

    @property
    def total_ms(self) -> float:
        return statistics.median(s + d for s, d in zip(self.server_ms, self.database_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=250, help="per target and round")
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()

    print(f"{os.cpu_count()} cores; load average at start {_load_average()}", flush=True)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cluster = stack.enter_context(PostgresCluster.create(durable=True))
        targets = []
        for database, url in (("SQLite", None), ("PostgreSQL", cluster.create_database())):
            data_dir = work / database
            database_pid = cluster.server_pid if url else None
            service = stack.enter_context(auth_service(data_dir, url, database))
            application = service.ensure_application("benchmark")
            floor = stack.enter_context(
                floor_server(f"floor, {database}", data_dir, service.database_url, database_pid)
            )
            for server in (
                Server(f"service, {database}", service.url, _pid(service), database_pid),
                floor,
            ):
                targets += session_targets(server, service.url, application)
        targets.append(stack.enter_context(hello_world()))
        for target in targets:
            measure(target, WARMUP_REQUESTS, counted=False)
        machine = MachineLoad.now()
        # This benchmark's own CPU: the load generator and the servers (its children), PostgreSQL.
        own_before_s = tree_cpu_s(os.getpid()) + tree_cpu_s(_pid_of(cluster))
        for number in range(args.rounds):
            for target in targets:
                measure(target, args.requests)
            print(f"round {number + 1} of {args.rounds} done", flush=True)
        own_s = tree_cpu_s(os.getpid()) + tree_cpu_s(_pid_of(cluster)) - own_before_s
        busy = MachineLoad.now().busy_since(machine, own_s)
    report(targets, args, busy)


def session_targets(server: Server, service_url: str, application: Application) -> list[Target]:
    """Resume, /me and health of `server`, on sessions the service opens."""
    opener = ApiConnection(service_url)
    try:
        user = "-".join(server.name.replace(",", "").split()).lower()
        resumed = opener.open_session(application, f"resume-{user}")
        shown = opener.open_session(application, f"me-{user}")
    finally:
        opener.close()
    headers = {"Content-Type": "application/json"}

    def resume(connection: ApiConnection) -> int:
        body = json.dumps({key: resumed[key] for key in _SESSION_KEYS}).encode()
        status, raw = connection.request("POST", "/v1/sessions/resume", body, headers)
        if status == 200:
            resumed.update(json.loads(raw))
        return status

    def me(connection: ApiConnection) -> int:
        return connection.request("GET", "/v1/me", headers={"Authorization": bearer(shown)})[0]

    def health(connection: ApiConnection) -> int:
        return connection.request("GET", "/v1/health")[0]

    return [Target(server, name, send) for name, send in zip(OPERATIONS, (resume, me, health))]


_SESSION_KEYS = ("version", "applicationKey", "userId", "sessionId", "sessionSecret")


@contextmanager
def auth_service(
    data_dir: Path, database_url: str | None, name: str
) -> Iterator[AuthServiceProcess]:
    with AuthServiceProcess(
        data_dir, database_url=database_url, no_access_log=True, purge_interval_s=0, **UNLIMITED
    ) as service:
        print(f"service, {name}: {service.url}", flush=True)
        yield service


@contextmanager
def floor_server(
    name: str, data_dir: Path, database_url: str, database_pid: int | None
) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, str(HERE / "floor.py"), "--port", str(port)]
    command += ["--database-url", database_url, "--data-dir", str(data_dir)]
    url = f"http://127.0.0.1:{port}"
    with ServerProcess(command, url=url, ready_url=url + "/v1/health") as server:
        print(f"{name}: {url}", flush=True)
        yield Server(name, url, _pid(server), database_pid)


@contextmanager
def hello_world() -> Iterator[Target]:
    port = free_port()
    command = [sys.executable, str(HERE / "hello_world.py"), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with ServerProcess(command, url=url, ready_url=url + "/") as server:

        def get(connection: ApiConnection) -> int:
            return connection.request("GET", "/")[0]

        yield Target(Server("FastAPI hello-world", url, _pid(server), None), "GET /", get)


def measure(target: Target, requests: int, *, counted: bool = True) -> None:
    """`requests` sequential requests on a new kept-alive connection (uvicorn closes one that is
    idle for 5 s, as it is between two rounds)."""
    server, database = target.server.pid, target.server.database_pid
    connection = ApiConnection(target.server.url)
    try:
        server_before = tree_cpu_s(server)
        database_before = tree_cpu_s(database) if database else 0.0
        started = time.perf_counter()
        for _ in range(requests):
            _check(target, target.send(connection))
        wall_s = time.perf_counter() - started
        server_s = tree_cpu_s(server) - server_before
        database_s = tree_cpu_s(database) - database_before if database else 0.0
    finally:
        connection.close()
    if counted:
        target.server_ms.append(1000 * server_s / requests)
        target.database_ms.append(1000 * database_s / requests)
        target.wall_ms.append(1000 * wall_s / requests)


def report(targets: list[Target], args: argparse.Namespace, busy: Busy) -> None:
    print(
        f"\nCPU per request in ms, the median of {args.rounds} rounds of {args.requests} requests "
        f"(min-max over the rounds), and the wall time per request.\nThe machine meanwhile: "
        f"{busy.cores:.2f} of its {os.cpu_count()} cores busy on average, {busy.own_cores:.2f} "
        f"with this benchmark (servers, PostgreSQL, the load generator), {busy.other_cores:.2f} "
        f"with other work; load average at end {_load_average()}."
    )
    width = max(len(target.label) for target in targets)
    print(
        f"{'':{width}}  {'server':>17}  {'PostgreSQL':>17}  {'total':>6}  {'÷ floor':>7}  "
        f"{'wall':>6}"
    )
    floors = {
        (t.operation, t.server.name.split(", ")[-1]): t.total_ms
        for t in targets
        if t.server.name.startswith("floor")
    }
    for target in targets:
        floor = floors.get((target.operation, target.server.name.split(", ")[-1]))
        ratio = f"{target.total_ms / floor:7.2f}" if floor else f"{'':7}"
        database = _spread(target.database_ms) if target.server.database_pid else f"{'-':>17}"
        print(
            f"{target.label:{width}}  {_spread(target.server_ms)}  {database}  "
            f"{target.total_ms:6.2f}  {ratio}  {statistics.median(target.wall_ms):6.2f}"
        )


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} ({min(values):4.2f}-{max(values):4.2f})"


def _check(target: Target, status: int) -> None:
    if status != 200:
        raise SystemExit(f"{target.label}: answered {status}")


def _pid_of(cluster: PostgresCluster) -> int:
    if cluster.server_pid is None:
        raise SystemExit(f"{cluster!r} is not running")
    return cluster.server_pid


def _pid(server: ServerProcess) -> int:
    if server.pid is None:
        raise SystemExit(f"{server!r} is not running")
    return server.pid


def _load_average() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()

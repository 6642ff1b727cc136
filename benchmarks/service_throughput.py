"""Resume requests per second, and their p50/p99, beside a bare FastAPI hello-world.

    .venv/bin/python benchmarks/service_throughput.py [--duration-s 5] [--concurrency 1 16 64]

(What one request costs, apart from throughput, is benchmarks/service.py's.)

Five servers, one after the other, each on loopback with uvicorn and no access log:
- the auth service (`python -m authservice serve`) on SQLite with 1 worker, on PostgreSQL with 1
  worker and with 4 workers: `POST /v1/sessions/resume`, each request presenting a session's
  current secret and the next one presenting the secret it got back (a real rotation every time);
- FastAPI's hello-world (`benchmarks/hello_world.py`, served the same way) with 1 and with 4
  workers: `GET /`.
One load generator, wrk (Debian: apt-get install wrk), at each concurrency (connections), for
`--duration-s` each after a short warm-up; it prints each figure and the ratio of the service's
throughput to the hello-world's with as many workers.

PostgreSQL is a throw-away cluster (harness.postgres) with its durable settings (fsync and
synchronous commit on), reached over a Unix socket. Everything shares the machine's cores: the
load generator, the workers and PostgreSQL. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authservice import Application
from harness.api_client import ApiConnection
from harness.cpu import tree_cpu_s
from harness.postgres import PostgresCluster
from harness.processes import AuthServiceProcess, ServerProcess, free_port

HERE = Path(__file__).resolve().parent
RESUME_SCRIPT = HERE / "wrk_resume.lua"
WRK_THREADS = 2
UNLIMITED: dict[str, Any] = {
    "login_attempts_per_user_address": 1_000_000,
    "login_attempts_per_user": 1_000_000,
    "login_attempts_per_ip": 1_000_000,
}
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class Figures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors
    # CPU time the server's processes (and PostgreSQL's) spent per answer: what throughput
    # comes to when the cores are the limit, whatever else runs on the machine.
    cpu_ms: float

    def __str__(self) -> str:
        errors = f", {self.errors} errors" if self.errors else ""
        return (
            f"{self.requests_per_s:6.0f}/s p50 {self.p50_ms:6.1f} p99 {self.p99_ms:6.1f} ms "
            f"cpu {self.cpu_ms:5.2f} ms{errors}"
        )


@dataclass(frozen=True)
class Target:
    """A running server, and the application to resume sessions of (None: the hello-world).
    `processes` are the roots of the process trees that serve it (its own, PostgreSQL's)."""

    name: str
    url: str
    processes: tuple[int, ...]
    application: Application | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=int, default=5, help="per concurrency (default: 5)")
    parser.add_argument("--warmup-s", type=int, default=1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    print(f"{os.cpu_count()} cores; load average at start {_load()}")
    results: dict[str, dict[int, Figures]] = {}
    with tempfile.TemporaryDirectory() as work, PostgresCluster.create(durable=True) as cluster:
        work_dir = Path(work)
        runs = [
            ("SQLite, 1 worker", None, 1),
            ("PostgreSQL, 1 worker", cluster, 1),
            ("PostgreSQL, 4 workers", cluster, 4),
        ]
        for name, database, workers in runs:
            url = database.create_database() if database else None
            data_dir = work_dir / f"data-{len(results)}"
            database_pid = database.server_pid if database else None
            with auth_service(data_dir, url, database_pid, workers, name) as target:
                results[name] = measure(target, args, work_dir)
        for workers in (1, 4):
            name = f"hello-world, {workers} worker{'s' if workers > 1 else ''}"
            with hello_world(workers, name) as target:
                results[name] = measure(target, args, work_dir)
    print(f"load average at end {_load()}\n")
    report(results, args.concurrency)


@contextmanager
def auth_service(
    data_dir: Path, database_url: str | None, database_pid: int | None, workers: int, name: str
) -> Iterator[Target]:
    with AuthServiceProcess(
        data_dir, database_url=database_url, workers=workers, no_access_log=True, **UNLIMITED
    ) as service:
        print(f"{name}: {service.url}", flush=True)
        processes = tuple(pid for pid in (service.pid, database_pid) if pid is not None)
        yield Target(name, service.url, processes, service.ensure_application("benchmark"))


@contextmanager
def hello_world(workers: int, name: str) -> Iterator[Target]:
    port = free_port()
    command = [sys.executable, str(HERE / "hello_world.py"), "--port", str(port)]
    command += ["--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    with ServerProcess(command, url=url, ready_url=url + "/", workers=workers) as server:
        print(f"{name}: {url}", flush=True)
        yield Target(name, url, tuple(pid for pid in (server.pid,) if pid is not None))


def measure(target: Target, args: argparse.Namespace, work_dir: Path) -> dict[int, Figures]:
    run_wrk(target, 16, args.warmup_s, work_dir)
    figures = {}
    for concurrency in args.concurrency:
        figures[concurrency] = run_wrk(target, concurrency, args.duration_s, work_dir)
        print(f"  {concurrency:>3} connections: {figures[concurrency]}", flush=True)
    return figures


def run_wrk(target: Target, concurrency: int, duration_s: int, work_dir: Path) -> Figures:
    threads = min(WRK_THREADS, concurrency)
    command = ["wrk", f"--threads={threads}", f"--connections={concurrency}"]
    command += [f"--duration={duration_s}s", "--timeout=10s", "--latency"]
    if target.application is None:
        command.append(target.url + "/")
    else:
        # Sessions of their own for every run: a rotated secret only lives in wrk's memory.
        sessions = work_dir / "sessions.txt"
        write_sessions(target.url, target.application, 2 * concurrency + 8, sessions)
        command += ["--script", str(RESUME_SCRIPT), target.url]
        command += ["--", str(sessions), target.application.key, str(threads)]
    cpu_before_s = cpu_time_s(target.processes)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 120)
    cpu_s = cpu_time_s(target.processes) - cpu_before_s
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout, cpu_s)


def write_sessions(url: str, application: Application, count: int, path: Path) -> None:
    """Sessions opened with tickets (no password hashing), as wrk_resume.lua reads them."""
    api = ApiConnection(url)
    try:
        sessions = [api.open_session(application, f"bench-{n}") for n in range(count)]
    finally:
        api.close()
    lines = [f"{s['sessionId']} {s['sessionSecret']} {s['userId']}\n" for s in sessions]
    path.write_text("".join(lines))


def cpu_time_s(roots: tuple[int, ...]) -> float:
    return sum(tree_cpu_s(root) for root in roots)


def parse_wrk(output: str, cpu_s: float) -> Figures:
    def duration_ms(label: str) -> float:
        found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if not found:
            raise SystemExit(f"no {label} latency in wrk's output:\n{output}")
        return float(found[1]) * _UNITS_MS[found[2]]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not rate:
        raise SystemExit(f"no rate in wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors += int(non_2xx[1]) if non_2xx else 0
    answered = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    cpu_ms = 1000 * cpu_s / int(answered[1]) if answered and int(answered[1]) else 0.0
    return Figures(float(rate[1]), duration_ms("50%"), duration_ms("99%"), errors, cpu_ms)


def report(results: dict[str, dict[int, Figures]], concurrencies: list[int]) -> None:
    width = max(len(name) for name in results)
    print(f"{'':{width}}  " + "  ".join(f"{f'{c} connections':^48}" for c in concurrencies))
    for name, figures in results.items():
        print(f"{name:{width}}  " + "  ".join(f"{figures[c]!s:48}" for c in concurrencies))
    print("\nresume throughput / hello-world throughput, with as many workers:")
    for name, figures in results.items():
        if name.startswith("hello-world"):
            continue
        workers = 4 if name.endswith("4 workers") else 1
        baseline = results[f"hello-world, {workers} worker{'s' if workers > 1 else ''}"]
        ratios = "  ".join(
            f"{c} connections: {figures[c].requests_per_s / baseline[c].requests_per_s:5.2f}"
            for c in concurrencies
        )
        print(f"{name:{width}}  {ratios}")


def _load() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()

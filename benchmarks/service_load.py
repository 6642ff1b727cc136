"""Auth service under a burst of sign-ins: peak memory, and how long sign-in and /v1/health take.

    .venv/bin/python benchmarks/service_load.py [--bursts 3] [--password-hash-workers N]

First, how long one argon2id hash takes here for a few parameter sets at or above OWASP's minimum
(m=19 MiB, t=2, p=1): the figures behind the parameters in src/authservice/auth/passwords.py. Then a
real service process (`python -m authservice serve`, SQLite in a temporary folder), with limits lifted:
sign-ins at concurrency 1, then bursts of 50 concurrent sign-ins, while one client asks /v1/health
every 10 ms. It prints p50/p99 of both, the answers' statuses (503 is `busy`: the hashing queue was
full) and the service's peak resident memory (sampled every 5 ms, and the kernel's high-water mark).

It prints figures and asserts nothing: timings on a shared 2-core machine are noisy, and the load
generator shares the cores with the service. Loopback only; bounded in count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self, TypeVar

import argon2

from harness.processes import AuthServiceProcess

PASSWORD = "benchmark password, long enough"
CANDIDATES = [(19, 2), (32, 2), (46, 2), (64, 3)]  # (MiB, passes), one lane each
T = TypeVar("T")
BURST = 50
QUIET_LIMITS = {
    "login_attempts_per_user_address": 1_000_000,
    "login_attempts_per_user": 1_000_000,
    "login_attempts_per_ip": 1_000_000,
}


class Api:
    """Just enough of the auth API over HTTP: one connection per call, as a browser tab makes."""

    def __init__(self, url: str, application_key: str) -> None:
        self.address = url.removeprefix("http://").split(":")
        self.application_key = application_key

    def request(self, method: str, path: str, body: object = None) -> int:
        connection = http.client.HTTPConnection(self.address[0], int(self.address[1]), timeout=60)
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, path, payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def sign_up(self, username: str) -> int:
        return self.request("POST", "/v1/users", self._credentials(username, PASSWORD))

    def sign_in(self, username: str, password: str = PASSWORD) -> int:
        return self.request("POST", "/v1/sessions", self._credentials(username, password))

    def _credentials(self, username: str, password: str) -> dict[str, str]:
        return {"applicationKey": self.application_key, "username": username, "password": password}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def timed(call: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def argon2_costs(runs: int) -> None:
    print(f"argon2id, one hash, this machine (median of {runs}):")
    for memory_mib, passes in CANDIDATES:
        hasher = argon2.PasswordHasher(
            time_cost=passes, memory_cost=memory_mib * 1024, parallelism=1
        )
        hasher.hash(PASSWORD)
        times = [timed(lambda: hasher.hash(PASSWORD))[0] for _ in range(runs)]  # noqa: B023
        print(f"  m={memory_mib:>2} MiB t={passes}: {statistics.median(times):6.1f} ms")


class Sampler:
    """Samples the service's resident memory, and times /v1/health every 10 ms, until stopped."""

    def __init__(self, api: Api, pid: int) -> None:
        self.api = api
        self.status_file = Path(f"/proc/{pid}/status")
        self.peak_rss_kib = 0
        self.health_ms: list[float] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._sample_memory, daemon=True),
            threading.Thread(target=self._probe_health, daemon=True),
        ]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _sample_memory(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_rss_kib = max(self.peak_rss_kib, _status_kib(self.status_file, "VmRSS"))

    def _probe_health(self) -> None:
        while not self._stop.wait(0.01):
            elapsed_ms, _ = timed(lambda: self.api.request("GET", "/v1/health"))
            self.health_ms.append(elapsed_ms)


def _status_kib(status_file: Path, field: str) -> int:
    for line in status_file.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def sign_in_load(
    api: Api, pid: int, usernames: list[str], concurrency: int, bursts: int
) -> tuple[list[float], Sampler, Counter[int]]:
    """`bursts` rounds of `concurrency` sign-ins started together (a barrier), 0.5 s apart: the
    times of those that succeeded, the sampler's figures, and every answer's status."""
    sign_in_ms: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    with Sampler(api, pid) as sampler:

        def sign_in(username: str, start: threading.Barrier) -> None:
            start.wait()
            elapsed_ms, status = timed(lambda: api.sign_in(username))
            with lock:
                statuses[status] += 1
                if status == 201:
                    sign_in_ms.append(elapsed_ms)

        for burst in range(bursts):
            start = threading.Barrier(concurrency)
            first = burst * concurrency
            names = [usernames[(first + n) % len(usernames)] for n in range(concurrency)]
            threads = [threading.Thread(target=sign_in, args=(name, start)) for name in names]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            time.sleep(0.5)
    return sign_in_ms, sampler, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=3, help="bursts of 50 (default 3)")
    parser.add_argument("--sequential", type=int, default=30, help="sign-ins at concurrency 1")
    parser.add_argument("--argon2-runs", type=int, default=5)
    parser.add_argument("--password-hash-workers", type=int, help="default: the service's")
    parser.add_argument("--password-hash-queue", type=int, help="default: the service's")
    args = parser.parse_args()

    argon2_costs(args.argon2_runs)
    flags: dict[str, Any] = dict(QUIET_LIMITS)
    for name in ("password_hash_workers", "password_hash_queue"):
        if getattr(args, name) is not None:
            flags[name] = getattr(args, name)
    with tempfile.TemporaryDirectory() as data_dir:
        audit_log = Path(data_dir) / "audit"
        with AuthServiceProcess(Path(data_dir), audit_log=audit_log, **flags) as service:
            application = service.ensure_application("benchmark")
            run(service, Api(service.url, application.key), args)


def run(service: AuthServiceProcess, api: Api, args: argparse.Namespace) -> None:
    pid = service.pid
    if pid is None:
        raise SystemExit("the service is not running")
    usernames = [f"bench-{uuid.uuid4().hex[:10]}" for _ in range(BURST)]
    for username in usernames:
        api.sign_up(username)
    print(
        f"\nservice: pid {pid}, {len(usernames)} users; memory after start-up and sign-ups: "
        f"{_status_kib(Path(f'/proc/{pid}/status'), 'VmRSS') / 1024:.0f} MiB"
    )

    known_ms: list[float] = []
    unknown_ms: list[float] = []
    for _ in range(15):  # interleaved, so that a change in the machine's load hits both alike
        known_ms.append(timed(lambda: api.sign_in(usernames[0], "a wrong password"))[0])
        unknown_ms.append(timed(lambda: api.sign_in(f"nobody-{uuid.uuid4().hex[:8]}"))[0])
    print(
        f"wrong password, known user: p50 {statistics.median(known_ms):6.1f} ms;"
        f" unknown user: p50 {statistics.median(unknown_ms):6.1f} ms"
    )

    print(
        f"\n{'concurrent sign-ins':>20} | {'sign-in p50':>11} {'p99':>8} | "
        f"{'health p50':>10} {'p99':>8} | {'peak RSS':>8} | statuses"
    )
    for concurrency, bursts in ((1, args.sequential), (BURST, args.bursts)):
        sign_in_ms, sampler, statuses = sign_in_load(api, pid, usernames, concurrency, bursts)
        health_ms = sampler.health_ms
        print(
            f"{concurrency:>20} | {percentile(sign_in_ms, 0.5):8.1f} ms "
            f"{percentile(sign_in_ms, 0.99):5.0f} ms | {percentile(health_ms, 0.5):7.1f} ms "
            f"{percentile(health_ms, 0.99):5.1f} ms | {sampler.peak_rss_kib / 1024:5.0f} MiB | "
            f"{dict(sorted(statuses.items()))}  ({len(health_ms)} health probes)"
        )
    print(
        "\nkernel's high-water mark of the service's memory: "
        f"{_status_kib(Path(f'/proc/{pid}/status'), 'VmHWM') / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()

"""Many worker processes on one database, on SQLite and PostgreSQL: the limits, the used tickets,
usernames and session rotation stay exact however requests are spread over the workers."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from authservice.admin.serving import tcp_listener
from harness.postgres import PostgresCluster
from tests.service.conftest import Backend
from tests.service.helpers import Reply, RunningService, assert_error, start_service
from tests.support.loops import run_coroutine

T = TypeVar("T")

WORKERS = 4
PER_USER_ADDRESS = 5
SESSIONS, RESUMES_EACH = 50, 4  # 200 concurrent resumes


@pytest.fixture(scope="module")
def workers(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = start_service(
        tmp_path_factory.mktemp("workers"),
        database_url=backend.new_database_url(),
        workers=WORKERS,
        login_attempts_per_user_address=PER_USER_ADDRESS,
        login_attempts_per_ip=100_000,
        rate_window_s=600,  # one attempt drains every 120 s: none during a test
        rotation_grace_s=60,  # wide enough for 200 requests on a busy machine to fall inside
    )
    yield running
    running.process.stop()


def all_at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in a thread of its own, released together."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def workers_using_the_database(service: RunningService) -> int:
    """How many of the service's processes hold a connection to its database."""
    url = service.database_url
    if url.startswith("postgresql"):
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                return int(
                    connection.scalar(
                        text(
                            "SELECT count(DISTINCT application_name) FROM pg_stat_activity "
                            "WHERE datname = current_database() "
                            "AND application_name LIKE 'authservice %'"
                        )
                    )
                    or 0
                )
        finally:
            engine.dispose()
    database = (service.data_dir / "auth.sqlite3").resolve()
    return sum(1 for pid in worker_pids(service) if holds_open(pid, database))


def worker_pids(service: RunningService) -> list[int]:
    parent = service.process.pid
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def holds_open(pid: int, path: Path) -> bool:
    try:
        return any(fd.resolve() == path for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def test_n_workers_together_let_exactly_the_limit_through(
    workers: RunningService, username: str
) -> None:
    api = workers.api.from_address("127.0.2.1")
    api.sign_up(username)

    replies = all_at_once([lambda: api.sign_in(username, "a wrong password!") for _ in range(40)])

    assert Counter(reply.status for reply in replies) == {
        401: PER_USER_ADDRESS,
        429: 40 - PER_USER_ADDRESS,
    }
    assert workers_using_the_database(workers) >= 2


def test_200_concurrent_resumes_of_50_sessions_lose_none_and_theft_is_still_caught(
    workers: RunningService,
) -> None:
    api = workers.api
    with ThreadPoolExecutor(10) as pool:
        first = list(pool.map(lambda n: api.new_session(f"resumer-{n}"), range(SESSIONS)))
    requests = [session for session in first for _ in range(RESUMES_EACH)]
    random.shuffle(requests)

    resumed = all_at_once([lambda session=session: api.resume(session) for session in requests])

    assert_no_server_error(resumed)
    assert {reply.status for reply in resumed} == {200}
    new_secrets: dict[str, set[str]] = {}
    for reply in resumed:
        new_secrets.setdefault(reply.body["sessionId"], set()).add(reply.body["sessionSecret"])
    assert all(len(secrets) == 1 for secrets in new_secrets.values()), new_secrets
    assert len(new_secrets) == SESSIONS
    current = [
        {**session, "sessionSecret": new_secrets[session["sessionId"]].pop()} for session in first
    ]
    # None lost: each session resumes with its one new secret.
    again = all_at_once([lambda session=session: api.resume(session) for session in current])
    assert {reply.status for reply in again} == {200}
    # Theft detection intact: the first secret is now two generations old, and revokes.
    replayed = all_at_once([lambda session=session: api.resume(session) for session in first])
    for reply in replayed:
        assert_error(reply, 401, "session_revoked")
    for reply in again:
        assert_error(api.me(reply.body), 401, "session_revoked")


def test_revoke_all_from_every_session_of_one_user_at_once_revokes_them_all(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    sessions = [api.new_session(username) for _ in range(10)]

    replies = all_at_once([lambda session=session: api.revoke_all(session) for session in sessions])

    assert_no_server_error(replies)
    assert {reply.status for reply in replies} <= {204, 401} and 204 in {r.status for r in replies}
    for session in sessions:
        assert_error(api.me(session), 401, "session_revoked")


def test_devices_of_one_user_signing_each_other_out_at_once_never_wait_on_each_other(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    sessions = [api.new_session(username) for _ in range(8)]
    # A ring: each signs out the next, so every two neighbours take their two rows in both orders.
    pairs = list(zip(sessions, sessions[1:] + sessions[:1], strict=True))

    replies = all_at_once(
        [
            lambda caller=caller, target=target: api.revoke_session(caller, target["sessionId"])
            for caller, target in pairs
        ]
    )

    assert_no_server_error(replies)
    assert {reply.status for reply in replies} <= {204, 401} and 204 in {r.status for r in replies}
    # Each 204 ended its target (no one else named it); each 401 came from a caller ended first.
    ended = [api.me(session).status == 401 for session in sessions]
    assert sum(ended) == [reply.status for reply in replies].count(204)
    assert all(ended[n] for n, reply in enumerate(replies) if reply.status == 401)


def test_one_ticket_sent_to_every_worker_at_once_signs_in_once(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    ticket = api.ticket(username)

    replies = all_at_once([lambda: api.sign_in_with_ticket(ticket) for _ in range(20)])

    assert Counter(reply.status for reply in replies) == {201: 1, 401: 19}
    assert {reply.error for reply in replies if reply.status == 401} == {"invalid_ticket"}


def test_one_username_signed_up_at_once_in_several_spellings_is_one_user(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    spellings = [username, username.upper(), username.capitalize(), username.swapcase()] * 2

    replies = all_at_once([lambda name=name: api.sign_up(name) for name in spellings])

    assert Counter(reply.status for reply in replies) == {201: 1, 409: len(spellings) - 1}


def assert_no_server_error(replies: Sequence[Reply]) -> None:
    failed = [reply for reply in replies if reply.status >= 500]
    assert not failed, failed[:3]


def test_connections_to_a_listener_shared_by_workers_are_not_delayed_by_nagle() -> None:
    listener = tcp_listener(uvicorn.Config(app=None, host="127.0.0.1", port=0).bind_socket())
    nodelay: list[int] = []

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            connection = transport.get_extra_info("socket")
            nodelay.append(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        with socket.create_connection(listener.getsockname()[:2]):
            for _ in range(100):
                if nodelay:
                    break
                await asyncio.sleep(0.01)
        server.close()

    run_coroutine(accept_one())

    assert nodelay == [1]


def test_two_machines_with_one_server_key_serve_one_postgresql_database_as_one(
    postgres_cluster: PostgresCluster,
    fresh_service: Callable[..., RunningService],
    tmp_path: Path,
    username: str,
) -> None:
    database_url = postgres_cluster.create_database()
    first = fresh_service(database_url=database_url)
    second_data = tmp_path / "second-machine"
    second_data.mkdir(mode=0o700)
    shutil.copy2(first.data_dir / "server.key", second_data / "server.key")  # docs/deploy.md
    second = start_service(second_data, database_url=database_url)
    try:
        session = first.api.new_session(username)
        rotated = first.api.resume(session).body

        # The secret rotated out on the first machine, within the grace window, on the second.
        assert second.api.resume(session).body == rotated
        assert second.api.resume(rotated).status == 200
        # The application secret the first sealed opens on the second.
        assert second.application == first.application
    finally:
        second.process.stop()

"""Message streams on a service of four worker processes on PostgreSQL: wherever a message is sent
and wherever a stream is served, it arrives at once (NOTIFY/LISTEN, docs/api.md "The message
stream"), and concurrent senders to one user give one mailbox numbered without a gap or a repeat.

The service pings every 15 s: a message that arrives within 2 s came through the fan-out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from harness.postgres import PostgresCluster
from tests.service.conftest import QUIET_LIMITS, Backend
from tests.service.helpers import RunningService, start_service
from tests.service.streams import EventStream
from tests.service.test_service_message_stream import LIVE_S, open_stream, ready
from tests.service.test_service_messaging import sent, users
from tests.service.test_service_workers import all_at_once, worker_pids

WORKERS = 4
SENDERS, MESSAGES_EACH = 8, 6


@pytest.fixture(scope="module")
def workers(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    running = start_service(
        tmp_path_factory.mktemp("message-workers"),
        database_url=Backend("postgresql", postgres_cluster).new_database_url(),
        workers=WORKERS,
        **QUIET_LIMITS,
    )
    yield running
    running.process.stop()


def serving_worker(service: RunningService, stream: EventStream) -> int:
    """The worker process that holds the stream's connection (from /proc: the socket whose peer
    is the stream's local port, and the process that has it open)."""
    port = service.process.url.rsplit(":", 1)[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            peer_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == int(port) and peer_port == stream.local_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in worker_pids(service):
        try:
            if any(str(fd.readlink()) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
        except OSError:
            continue
    raise AssertionError(f"no worker holds the connection from port {stream.local_port}")


def test_streams_on_different_workers_get_each_other_s_messages_at_once(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    sessions, streams, held_by = [], [], set()
    with ExitStack() as opened:
        # The kernel hands each connection to one worker: open streams until two workers hold some.
        while len(held_by) < 2 or len(streams) < 6:
            assert len(streams) < 40, f"every stream went to the same worker {held_by}"
            (session,) = users(api, username, f"u{len(streams)}")
            stream = opened.enter_context(open_stream(workers, session))
            ready(stream)
            sessions.append(session)
            streams.append(stream)
            held_by.add(serving_worker(workers, stream))
        ring = list(zip(sessions, sessions[1:] + sessions[:1], strict=True))

        messages = [
            sent(api.send_message(sender, [receiver["userId"]], f"from {sender['userId']}"))
            for sender, receiver in ring
        ]
        finished = time.monotonic()

        for n, stream in enumerate(streams):
            got = {event.data["id"]: event for event in stream.events(2, LIVE_S)}
            # Its own message echoed, and the one from the previous user in the ring.
            assert set(got) == {messages[n]["id"], messages[n - 1]["id"]}
            assert max(event.received_at for event in got.values()) - finished < LIVE_S


def test_concurrent_senders_to_one_user_give_a_mailbox_without_gaps_or_repeats(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    recipient, *senders = users(api, username, "recipient", *(f"s{n}" for n in range(SENDERS)))
    with open_stream(workers, recipient) as live:
        assert ready(live) == 0

        replies = all_at_once(
            [
                lambda sender=sender, n=n: api.send_message(
                    sender, [recipient["userId"]], f"{sender['userId']} #{n}"
                )
                for sender in senders
                for n in range(MESSAGES_EACH)
            ]
        )

        total = SENDERS * MESSAGES_EACH
        assert [reply.status for reply in replies] == [201] * total
        sent_ids = sorted(reply.body["message"]["id"] for reply in replies)
        events = live.events(total, timeout_s=30)
        live.assert_quiet(0.5)
    assert [event.event_id for event in events] == list(range(1, total + 1))
    assert sorted(event.data["id"] for event in events) == sent_ids
    # The same mailbox, read again from the start.
    with open_stream(workers, recipient, after=0) as again:
        ready(again)
        replayed = again.events(total, timeout_s=30)
    assert [(e.event_id, e.data) for e in replayed] == [(e.event_id, e.data) for e in events]


def test_receipts_from_many_recipients_at_once_reach_the_sender_once_each(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    sender, *recipients = users(api, username, "sender", *(f"r{n}" for n in range(10)))
    with ThreadPoolExecutor(4) as pool:
        messages = list(
            pool.map(lambda r: sent(api.send_message(sender, [r["userId"]], "hi")), recipients)
        )
    with open_stream(workers, sender) as stream:
        ready(stream)

        # Each recipient says it twice, at once: a receipt counts once.
        replies = all_at_once(
            [
                lambda r=r, m=m: api.mark_delivered(r, [m["id"]])
                for r, m in zip(recipients, messages, strict=True)
                for _ in range(2)
            ]
        )

        assert {reply.status for reply in replies} == {204}
        receipts = stream.events(len(recipients), LIVE_S)
        stream.assert_quiet(0.5)
    assert sorted(event.data["recipient"] for event in receipts) == sorted(
        r["userId"] for r in recipients
    )
    numbers = [event.event_id for event in receipts]
    assert numbers == list(range(numbers[0], numbers[0] + len(recipients)))


def test_streams_miss_nothing_when_the_workers_lose_their_listening_connections(
    workers: RunningService, username: str
) -> None:
    api = workers.api
    alice, bob = users(api, username, "alice", "bob")
    with open_stream(workers, bob) as stream:
        ready(stream)
        # A worker listens once a stream opens there: at least the one that serves this one.
        listening = listening_connections(workers, terminate=False)
        assert 1 <= listening <= WORKERS

        # Cut every LISTEN connection (as a PostgreSQL restart or a network failure would), and
        # send at once: a notification may be lost; the message may not.
        # At least those: another worker of the shared service may have begun listening since.
        assert listening_connections(workers, terminate=True) >= listening
        started = time.monotonic()
        message = sent(api.send_message(alice, [bob["userId"]], "while you were away"))

        event = stream.next_event(10)
        assert event.data == message
        assert event.received_at - started < 5  # well before the 15 s periodic check
    assert "listening to PostgreSQL failed" in workers.process.output
    deadline = time.monotonic() + 10
    while listening_connections(workers, terminate=False) < listening:
        assert time.monotonic() < deadline, "the workers did not listen again"
        time.sleep(0.1)


def listening_connections(service: RunningService, *, terminate: bool) -> int:
    """How many connections to the service's database wait for notifications (terminated first
    when `terminate`)."""
    engine = create_engine(service.database_url)
    action = "pg_terminate_backend(pid)" if terminate else "pid"
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    f"SELECT {action} FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query = 'LISTEN authservice_mailbox'"
                )
            ).all()
    finally:
        engine.dispose()
    return len(rows)

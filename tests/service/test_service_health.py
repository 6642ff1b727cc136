"""/v1/health says whether the database answers; the service rides out a PostgreSQL restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from harness.postgres import PostgresCluster
from tests.service.helpers import Api, Reply, RunningService, assert_error


@pytest.fixture
def stopped_later(postgres_cluster: PostgresCluster) -> Iterator[PostgresCluster]:
    """The shared cluster, for a test that stops it: running again afterwards, whatever happens."""
    yield postgres_cluster
    if not postgres_cluster.running:
        postgres_cluster.start()


def wait_for_health(api: Api, status: int, timeout_s: float = 20) -> Reply:
    deadline = time.monotonic() + timeout_s
    while True:
        reply = api.request("GET", "/v1/health")
        if reply.status == status or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def test_health_is_503_while_postgresql_is_down_and_every_worker_recovers_when_it_is_back(
    stopped_later: PostgresCluster,
    fresh_service: Callable[..., RunningService],
    username: str,
) -> None:
    service = fresh_service(database_url=stopped_later.create_database(), workers=2)
    api = service.api
    session = api.new_session(username)

    stopped_later.stop()
    down = api.request("GET", "/v1/health")
    resume_while_down = api.resume(session)
    stopped_later.start()
    back = wait_for_health(api, 200)

    assert_error(down, 503, "database_unavailable")
    assert down.headers["retry-after"] == "5"
    assert_error(resume_while_down, 503, "database_unavailable")  # the client keeps the session
    assert back.status == 200 and back.body == {"status": "ok"}
    # Every pooled connection of every worker died with the server: none fails a request.
    assert {api.request("GET", "/v1/health").status for _ in range(20)} == {200}
    assert api.resume(session).status == 200
    assert "Traceback" not in service.process.output

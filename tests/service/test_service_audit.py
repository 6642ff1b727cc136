"""The audit log (`--audit-log PATH`): one JSON line per security event, never a secret."""

from __future__ import annotations

import base64
import json
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from authservice.core.audit import AuditEvent
from tests.service.devices import Device, bound_session, proved
from tests.service.helpers import PASSWORD, Api, RunningService, assert_error, start_service

WRONG = "not the password at all"
NEW_PASSWORD = "a brand new passphrase"
# Short, so that a session signed in at the start is no longer recent at the end.
REAUTH_WINDOW_S = 5.0


@dataclass
class Audited:
    service: RunningService
    log: Path
    secrets: list[str]  # every session secret and ticket the service handed out or was sent


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    """A service that has just seen one of every security event, and its audit log."""
    data_dir = tmp_path_factory.mktemp("audited")
    log = data_dir.parent / f"{data_dir.name}-audit.jsonl"
    service = start_service(
        data_dir,
        audit_log=log,
        rotation_grace_s=0,
        login_attempts_per_user_address=2,
        password_hash_workers=1,
        password_hash_queue=0,
        reauth_window_s=REAUTH_WINDOW_S,
    )
    try:
        yield Audited(service, log, _provoke_every_event(service))
    finally:
        service.process.stop()


def _provoke_every_event(service: RunningService) -> list[str]:
    api = service.api
    assert api.sign_up("audited-user").status == 201
    session = api.sign_in("audited-user").body
    assert api.sign_up("audited-account").status == 201
    account = api.sign_in("audited-account").body
    stale_at = time.monotonic() + REAUTH_WINDOW_S
    assert_error(api.sign_in("audited-user", WRONG), 401, "invalid_credentials")
    assert_error(api.sign_in("audited-user", WRONG), 401, "invalid_credentials")
    assert_error(api.sign_in("audited-user", WRONG), 429, "rate_limited")
    assert_error(api.sign_in_with_ticket("bm90.aXQ"), 401, "invalid_ticket")
    assert_error(api.resume({**session, "sessionSecret": "x" * 43}), 401, "session_unknown")
    resumed = api.resume(session).body
    assert_error(api.resume(session), 401, "session_revoked")  # grace 0: reuse at once
    ticket = api.ticket("audited-user")
    other = api.sign_in_with_ticket(ticket).body
    device = api.new_session("audited-user")
    assert api.revoke_session(other, device["sessionId"]).status == 204
    assert api.revoke_all(other).status == 204
    last = api.new_session("audited-user")
    assert api.sign_out(last).status == 204
    bound = bound_session(api, "audited-user", Device())
    copied = api.post(
        "/v1/sessions/resume",
        bound,
        headers=proved(Device().proof("POST", "/v1/sessions/resume", bound)),
    )
    assert_error(copied, 401, "proof_invalid")
    wrong_secret = base64.b64encode(f"{api.application.key}:{WRONG}".encode()).decode()
    introspected = api.request(
        "POST",
        "/v1/introspect",
        body=b"token=eyJ.not.checked",
        headers={
            "Authorization": f"Basic {wrong_secret}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert_error(introspected, 401, "invalid_client")
    start = threading.Barrier(6)

    def sign_in(n: int) -> int:
        start.wait()
        return api.sign_in(f"nobody-{n}").status

    with ThreadPoolExecutor(6) as pool:
        assert 503 in set(pool.map(sign_in, range(6)))
    changed = _provoke_the_account_s_events(api, account, stale_at)
    sessions = (session, resumed, other, device, last, bound, account, changed)
    return [ticket, NEW_PASSWORD, *(each["sessionSecret"] for each in sessions)]


def _provoke_the_account_s_events(
    api: Api, account: dict[str, Any], stale_at: float
) -> dict[str, Any]:
    """Re-authentication, a password change and the account's deletion, each failing once;
    `account` is no longer recently authenticated from `stale_at` on. The failures come between
    successes: at most 2 attempts of one user from one address wait in the bucket."""
    time.sleep(max(0.0, stale_at - time.monotonic()))
    assert_error(api.reauthenticate(account, WRONG), 403, "wrong_password")
    assert_error(api.revoke_others(account), 403, "reauthentication_required")
    assert api.reauthenticate(account, PASSWORD).status == 204
    assert api.revoke_others(account).status == 204
    changed = api.change_password(account, PASSWORD, NEW_PASSWORD)
    assert changed.status == 200, changed
    assert_error(api.change_password(changed.body, WRONG, PASSWORD), 403, "wrong_password")
    assert api.delete_account(changed.body).status == 204
    return dict(changed.body)


def lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_every_kind_of_security_event_is_one_json_line_per_occurrence(audited: Audited) -> None:
    events = lines(audited.log)

    counts = Counter(event["event"] for event in events)
    assert set(counts) == {str(kind) for kind in AuditEvent}
    assert counts["sign_up"] == 2  # the user who signs in, and the one who leaves
    for once in (
        "rate_limited",
        "ticket.refused",
        "session.refused",
        "session.reuse_detected",
        "session.proof_refused",
        "sign_out",
        "revoke_all",
        "revoke_session",
        "revoke_others",
        "session.reauthentication_required",
        "reauthenticate.failed",
        "reauthenticate.succeeded",
        "password.changed",
        "password.change_failed",
        "account.deleted",
        "introspection.refused",
    ):
        assert counts[once] == 1, (once, counts)
    # Two wrong passwords, then the unknown users of the burst that the pool let in.
    assert counts["sign_in.failed"] + counts["busy"] == 2 + 6
    for event in events:
        assert event["time"].endswith("Z") and event["address"] == "127.0.0.1", event


def test_audit_lines_say_who_and_why(audited: Audited) -> None:
    first: dict[str, dict[str, Any]] = {}
    for event in lines(audited.log):
        first.setdefault(event["event"], event)
    application = audited.service.application.key

    assert first["sign_up"]["application"] == application
    assert first["sign_up"]["user"] == "audited-user"
    assert (first["sign_in.succeeded"]["method"], first["sign_in.succeeded"]["user"]) == (
        "password",
        "audited-user",
    )
    assert first["sign_in.failed"]["reason"] == "invalid_credentials"
    assert first["rate_limited"]["scope"] == "user_address"
    assert first["ticket.refused"]["reason"].startswith("The ticket")
    assert first["session.refused"]["reason"] == "session_unknown"
    reuse = first["session.reuse_detected"]
    assert (reuse["user"], reuse["generation"], reuse["current_generation"]) == (
        "audited-user",
        0,
        1,
    )
    assert first["revoke_all"]["revoked"] >= 1
    revoked = first["revoke_session"]
    assert (revoked["user"], revoked["outcome"]) == ("audited-user", "revoked")
    assert revoked["target"] != revoked["session"]
    assert first["introspection.refused"]["application"] == application
    proof = first["session.proof_refused"]
    assert (proof["error"], proof["reason"]) == ("proof_invalid", "signature")
    assert proof["session"].startswith("ses_")
    for name in ("reauthenticate.failed", "password.change_failed"):
        assert (first[name]["user"], first[name]["reason"]) == ("audited-account", "wrong_password")
    assert first["password.changed"]["revoked"] == 0  # the other devices were signed out before
    assert first["account.deleted"]["user"] == "audited-account"
    assert first["session.reauthentication_required"]["session"].startswith("ses_")


def test_the_audit_log_holds_no_secret_and_is_private(audited: Audited) -> None:
    text = audited.log.read_text()

    for secret in [PASSWORD, WRONG, audited.service.application.secret, *audited.secrets]:
        assert secret not in text
    assert stat.S_IMODE(audited.log.stat().st_mode) == 0o600


def test_a_username_that_failed_to_sign_in_is_logged_only_as_a_keyed_hash(
    audited: Audited,
) -> None:
    failed = [event for event in lines(audited.log) if event["event"] == "sign_in.failed"]

    assert failed and all("user" not in event for event in failed)
    assert len({event["user_hash"] for event in failed[:2]}) == 1  # the same name, twice
    assert all("audited-user" not in json.dumps(event) for event in failed)


def test_audit_lines_go_to_stderr_without_a_path(
    fresh_service: Callable[..., RunningService], username: str
) -> None:
    service = fresh_service()
    service.api.sign_up(username)
    service.process.stop()

    logged = [line for line in service.process.output.splitlines() if line.startswith("{")]
    assert any(json.loads(line)["event"] == "sign_up" for line in logged)

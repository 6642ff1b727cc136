"""The user's devices: GET /v1/users/me/sessions lists their live sessions, DELETE
/v1/users/me/sessions/{sessionId} signs one out; only ever the caller's own user's sessions."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from authservice import Settings
from authservice.auth import devices
from authservice.auth.devices import describe_user_agent
from authservice.auth.fast_paths import FastPaths
from authservice.auth.presented import PresentedSession
from authservice.auth.proofs import NO_PROOF
from authservice.auth.sessions import LAST_USE_STEP, SessionManager
from authservice.database.engine import open_database
from authservice.database.tables import DEVICE_LABEL_MAX_CHARS, SessionRow
from tests.service.helpers import Api, RunningService, assert_error, parse_time

FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
LISTED_FIELDS = {"sessionId", "device", "createdAt", "lastUsedAt", "current"}


def listed(api: Api, session: dict) -> dict[str, dict]:
    """The caller's device list, by session id."""
    reply = api.list_sessions(session)
    assert reply.status == 200, reply
    return {item["sessionId"]: item for item in reply.body["sessions"]}


def test_the_list_shows_every_live_session_of_the_user_with_its_device_and_marks_this_one(
    api: Api, username: str
) -> None:
    laptop = api.new_session(username, user_agent=FIREFOX_ON_LINUX)
    phone = api.new_session(username, user_agent=SAFARI_ON_IPHONE)
    script = api.new_session(username)  # no User-Agent at all

    devices = listed(api, laptop)

    assert set(devices) == {laptop["sessionId"], phone["sessionId"], script["sessionId"]}
    assert all(set(item) == LISTED_FIELDS for item in devices.values())
    assert devices[laptop["sessionId"]]["device"] == "Firefox on Linux"
    assert devices[phone["sessionId"]]["device"] == "Safari on iPhone"
    assert devices[script["sessionId"]]["device"] == "Unknown device"
    assert [item["current"] for item in devices.values()].count(True) == 1
    assert devices[laptop["sessionId"]]["current"] is True
    assert devices[phone["sessionId"]]["createdAt"] == phone["createdAt"]


def test_the_list_holds_no_secret_and_not_the_user_agent_itself(api: Api, username: str) -> None:
    marked = FIREFOX_ON_LINUX + " tracking-id/8f3a2c"
    first = api.new_session(username, user_agent=marked)
    second = api.new_session(username)

    text = json.dumps(api.list_sessions(second).body)

    for secret in (first["sessionSecret"], second["sessionSecret"]):
        assert secret not in text
    assert "tracking-id" not in text and "Gecko" not in text
    assert "Firefox on Linux" in text


def test_other_users_and_ended_sessions_are_not_listed(api: Api, username: str) -> None:
    mine, signed_out = api.new_session(username), api.new_session(username)
    stranger = api.new_session("other-" + username)
    api.sign_out(signed_out)

    assert set(listed(api, mine)) == {mine["sessionId"]}
    assert set(listed(api, stranger)) == {stranger["sessionId"]}


def test_a_session_that_idled_out_is_not_listed(
    short_idle_service: RunningService, username: str
) -> None:
    api = short_idle_service.api
    idled = api.new_session(username)
    time.sleep(1.2)  # the idle lifetime is 1 s

    fresh = api.new_session(username)

    assert set(listed(api, fresh)) == {fresh["sessionId"]}
    assert idled["sessionId"] not in listed(api, fresh)


def test_last_used_moves_with_every_resume(api: Api, username: str) -> None:
    other, this = api.new_session(username), api.new_session(username)
    time.sleep(1.1)  # the list has whole seconds
    assert api.resume(other).status == 200

    after_resume = listed(api, this)[other["sessionId"]]

    assert parse_time(other["createdAt"]) < parse_time(after_resume["lastUsedAt"])
    assert after_resume["createdAt"] == other["createdAt"]
    # The most recently used first: the resumed one (asking with this one, less than
    # LAST_USE_STEP after its sign-in, records nothing).
    assert [item["sessionId"] for item in api.list_sessions(this).body["sessions"]] == [
        other["sessionId"],
        this["sessionId"],
    ]


@pytest.mark.parametrize("path", ["the full path", "the common case"])
def test_a_bearer_call_records_the_last_use_at_most_once_a_step_and_never_backwards(
    backend_service: RunningService, username: str, path: str
) -> None:
    session = backend_service.api.new_session(username)
    settings = Settings(
        data_dir=backend_service.data_dir, database_url=backend_service.database_url
    )
    engine = open_database(settings)
    manager = SessionManager(
        server_key=bytes(32),
        session_ttl_s=3600,
        idle_ttl_s=3600,
        rotation_grace_s=0,
        reauth_window_s=300,
    )
    fast = FastPaths(engine, server_key=bytes(32), idle_ttl_s=3600, nonces=manager.proof_nonces)
    session_id, secret = session["sessionId"], session["sessionSecret"]
    started = parse_time(session["createdAt"])

    def last_used_after_a_call_at(now: datetime) -> datetime:
        with Session(engine) as db:
            if path == "the common case":
                assert fast.describe(PresentedSession(session_id, secret, "test"), now) is not None
            else:
                manager.describe(db, session_id, secret, NO_PROOF, now)
            return db.scalars(
                select(SessionRow.last_used_at).where(SessionRow.id == session_id)
            ).one()

    try:
        within_a_step = last_used_after_a_call_at(started + LAST_USE_STEP / 2)
        a_step_later = last_used_after_a_call_at(started + LAST_USE_STEP * 2)
        late_arrival = last_used_after_a_call_at(started + LAST_USE_STEP)
    finally:
        engine.dispose()

    assert within_a_step < started + timedelta(seconds=1)  # nothing written
    assert a_step_later == started + LAST_USE_STEP * 2
    assert late_arrival == a_step_later  # a call that waited for the row does not go back


def test_signing_out_another_device_revokes_that_session_only(api: Api, username: str) -> None:
    laptop, phone = api.new_session(username), api.new_session(username)

    reply = api.revoke_session(laptop, phone["sessionId"])

    assert (reply.status, reply.body) == (204, None)
    assert_error(api.resume(phone), 401, "session_revoked")
    assert api.me(laptop).status == 200
    assert set(listed(api, laptop)) == {laptop["sessionId"]}


def test_signing_out_a_device_that_already_ended_is_no_error(api: Api, username: str) -> None:
    laptop, phone = api.new_session(username), api.new_session(username)
    api.sign_out(phone)

    assert api.revoke_session(laptop, phone["sessionId"]).status == 204
    assert api.revoke_session(laptop, phone["sessionId"]).status == 204


def test_naming_this_device_signs_it_out(api: Api, username: str) -> None:
    session = api.new_session(username)

    assert api.revoke_session(session, session["sessionId"]).status == 204

    assert_error(api.me(session), 401, "session_revoked")


def test_another_user_s_session_is_404_like_one_that_does_not_exist_and_lives_on(
    api: Api, username: str
) -> None:
    mine = api.new_session(username)
    stranger = api.new_session("other-" + username)

    foreign = api.revoke_session(mine, stranger["sessionId"])
    unknown = api.revoke_session(mine, "ses_" + "0" * 32)
    malformed = api.revoke_session(mine, "not a session id")

    for reply in (foreign, unknown, malformed):
        assert_error(reply, 404, "no_such_session")
    assert foreign.body == unknown.body == malformed.body
    assert api.me(stranger).status == 200


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_the_device_endpoints_need_a_live_session(api: Api, username: str, method: str) -> None:
    session = api.new_session(username)
    path = "/v1/users/me/sessions" + ("/" + session["sessionId"] if method == "DELETE" else "")

    assert_error(api.request(method, path), 401, "session_unknown")
    api.sign_out(session)
    assert_error(api.list_sessions(session), 401, "session_revoked")
    assert_error(api.revoke_session(session, session["sessionId"]), 401, "session_revoked")


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36"
            ),
            "Chrome on Windows",
        ),
        (
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
            ),
            "Edge on Windows",
        ),
        (
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Mobile Safari/537.36"
            ),
            "Chrome on Android",
        ),
        (
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "HeadlessChrome/156.0.0.0 Safari/537.36"
            ),
            "Chrome on Linux",
        ),
        (
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
                "Gecko) Version/18.1 Safari/605.1.15"
            ),
            "Safari on macOS",
        ),
        ("Python-urllib/3.11", "Python app"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "Linux"),
        ("curl/8.5.0", None),
        ("", None),
        (None, None),
    ],
)
def test_the_device_label_names_the_browser_and_the_system(
    user_agent: str | None, label: str | None
) -> None:
    assert describe_user_agent(user_agent) == label


def test_every_device_label_fits_the_column_that_keeps_it() -> None:
    # Every browser with every system: the longest labels there are (the lists are the module's).
    labels = [
        describe_user_agent(f"{browser_mark} ({system_mark})")
        for browser_mark, _ in devices._BROWSERS
        for system_mark, _ in devices._SYSTEMS
    ]

    assert all(labels)
    assert max(len(label or "") for label in labels) <= DEVICE_LABEL_MAX_CHARS

"""Keep-alive while the page stays open: refreshed before its idle deadline (by one tab for all),
at once when the tab becomes visible after a long time, the login form with the reason once the
session is over, and a word before its absolute end."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, Tab, stored, until


def refreshes(tab: Tab) -> list[dict]:
    return [detail for detail in tab.page.announced if detail["event"] == "refreshed"]


async def test_a_tab_left_open_for_several_idle_lifetimes_stays_signed_in(
    open_short_idle_tab: OpenTab, profile: Profile, short_idle_service: Service
) -> None:
    tab = open_short_idle_tab()
    tab.page.press("sign-in", **short_idle_service.new_user())
    first = stored(profile, short_idle_service)

    await asyncio.sleep(3.0)  # three idle lifetimes

    assert tab.page.view == "signed-in"
    assert len(refreshes(tab)) >= 3
    now = stored(profile, short_idle_service)
    assert now["sessionId"] == first["sessionId"]
    assert now["sessionSecret"] != first["sessionSecret"]
    assert (
        short_idle_service.client(signer=profile.device_key).start(now)["sessionId"]
        == first["sessionId"]
    )


async def test_two_tabs_keep_the_session_alive_without_refreshing_the_same_secret_twice(
    open_short_idle_tab: OpenTab, short_idle_service: Service
) -> None:
    first = open_short_idle_tab()
    first.page.press("sign-in", **short_idle_service.new_user())
    second = open_short_idle_tab()

    await asyncio.sleep(2.0)

    assert first.page.view == second.page.view == "signed-in"
    sent = [
        json.loads(request.body)["sessionSecret"]
        for tab in (first, second)
        for request in tab.transport.sent
        if request.url.endswith("/sessions/resume")
    ]
    assert len(sent) >= 3
    # Each secret was refreshed once, by one tab: the other adopted the result from storage.
    assert len(set(sent)) == len(sent)


async def test_a_session_that_expired_while_the_service_was_out_of_reach_gives_the_reason(
    open_short_idle_tab: OpenTab, profile: Profile, short_idle_service: Service
) -> None:
    tab = open_short_idle_tab()
    tab.page.press("sign-in", **short_idle_service.new_user())
    tab.transport.offline = True
    await asyncio.sleep(1.3)  # past the idle deadline: no refresh could get through
    assert tab.page.view == "signed-in"
    assert stored(profile, short_idle_service) is not None  # no answer: kept

    tab.transport.offline = False
    tab.page.go_online()

    await until(lambda: tab.page.view == "login")
    assert "Your session has expired. Please sign in again." in tab.page.text()
    assert stored(profile, short_idle_service) is None


async def test_becoming_visible_after_a_long_time_refreshes_at_once(
    open_tab: OpenTab, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    tab = open_tab()
    tab.page.press("sign-in", **service.new_user())
    await asyncio.sleep(0.05)
    assert refreshes(tab) == []
    # Four days pass while the tab is hidden and the machine sleeps: its timers do not fire.
    later = datetime.now(UTC) + timedelta(days=4)
    monkeypatch.setattr("authclient.client.utc_now", lambda: later)

    tab.page.become_visible()

    await until(lambda: len(refreshes(tab)) == 1, timeout_s=0.5)
    assert tab.page.view == "signed-in"


async def test_before_its_absolute_end_the_page_says_when_then_shows_the_login_form_why(
    open_short_lived_tab: OpenTab, short_lived_service: Service
) -> None:
    tab = open_short_lived_tab()
    tab.page.press("sign-in", **short_lived_service.new_user())

    await until(lambda: "Your session ends at" in tab.page.text())
    assert "Sign in again then to go on." in tab.page.text()
    assert [d["event"] for d in tab.page.announced].count("session_expiring") == 1

    await until(lambda: tab.page.view == "login", timeout_s=3.0)
    assert "Your session has expired. Please sign in again." in tab.page.text()

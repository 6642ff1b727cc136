"""What the page's own scripts are told: an initial event once per page load, once the resume has
settled (signed in or not, and why), then one for every change; never a secret."""

from __future__ import annotations

import json

from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, Tab, store, until


def initial_events(tab: Tab) -> list[dict]:
    return [detail for detail in tab.page.announced if detail["event"] == "initial_session"]


async def test_a_page_load_without_a_session_announces_once_that_it_is_signed_out(
    open_tab: OpenTab,
) -> None:
    tab = open_tab()

    assert tab.page.announced == [
        {
            "event": "initial_session",
            "userId": None,
            "signedIn": False,
            "outcome": "login_needed",
            "reason": "no_session",
        }
    ]


async def test_a_page_load_that_resumes_announces_once_that_it_is_signed_in(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    saved = service.signed_in_session()
    store(profile, service, saved)

    tab = open_tab()

    (initial,) = initial_events(tab)
    assert (initial["signedIn"], initial["userId"], initial["reason"]) == (
        True,
        saved["userId"],
        None,
    )
    assert [detail["event"] for detail in tab.page.announced] == ["resumed", "initial_session"]


async def test_a_page_load_that_retries_announces_the_initial_event_once_then_each_change(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    store(profile, service, service.signed_in_session())
    tab = open_tab(offline=True)
    await until(lambda: tab.page.view == "unreachable")
    tab.transport.offline = False
    tab.page.go_online()
    tab.page.press("sign-out")
    tab.page.press("sign-in", **service.new_user())

    assert len(initial_events(tab)) == 1
    assert initial_events(tab)[0]["reason"] == "network_error"
    assert [detail["event"] for detail in tab.page.announced] == [
        "service_unreachable",
        "initial_session",
        "resumed",
        "signed_out",
        "signed_in",
    ]
    assert [detail["signedIn"] for detail in tab.page.announced] == [
        False,
        False,
        True,
        False,
        True,
    ]


async def test_no_announcement_holds_a_secret(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    saved = service.signed_in_session()
    store(profile, service, saved)
    tab = open_tab()
    held = tab.client.get_session()
    tab.page.press("sign-out")

    text = json.dumps(tab.page.announced)

    for secret in (saved["sessionSecret"], held["sessionSecret"]):
        assert secret not in text
    assert "sessionSecret" not in text

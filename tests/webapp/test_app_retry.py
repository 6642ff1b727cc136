"""When the service cannot be reached at page load: the session is kept, the page retries by itself
with a bounded backoff, and at once on the Retry button, when the browser comes back online and
when the tab becomes visible."""

from __future__ import annotations

from typing import Any

from tests.webapp.fake_page import Profile
from tests.webapp.helpers import FAST_BACKOFF, OpenTab, Service, Tab, store, stored, until


async def offline_with_a_stored_session(
    open_tab: OpenTab, profile: Profile, service: Service
) -> tuple[Tab, dict[str, Any]]:
    """A tab opened with a session saved by an earlier visit, while the service is out of reach."""
    saved = service.signed_in_session()
    store(profile, service, saved)
    tab = open_tab(offline=True)
    await until(lambda: tab.page.view == "unreachable")
    return tab, saved


async def test_an_unreachable_service_keeps_the_session_and_says_when_it_tries_again(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, saved = await offline_with_a_stored_session(open_tab, profile, service)

    assert "Cannot reach the sign-in service" in tab.page.text()
    # The first delay is 0.02 s: a whole second, never "0 s".
    assert "Trying again in 1 s." in tab.page.text()
    assert stored(profile, service) == saved
    tab.app.stop_retrying()


async def test_the_page_resumes_by_itself_once_the_service_answers_again(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, saved = await offline_with_a_stored_session(open_tab, profile, service)

    tab.transport.offline = False
    await until(lambda: tab.page.view == "signed-in")

    assert "Resumed from your last visit" in tab.page.text()
    assert stored(profile, service)["sessionSecret"] != saved["sessionSecret"]


async def test_after_the_last_automatic_retry_the_page_waits_for_the_retry_button(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, saved = await offline_with_a_stored_session(open_tab, profile, service)

    await until(lambda: "Press Retry" in tab.page.text())
    await until(lambda: tab.app.retrying is None)

    # One view per retry with its delay, then the last one without.
    assert tab.page.shown == ["unreachable"] * (FAST_BACKOFF.max_attempts + 1)
    assert stored(profile, service) == saved

    tab.transport.offline = False
    tab.page.press("retry")

    assert tab.page.view == "signed-in"


async def test_the_retry_button_resumes_at_once_and_stops_the_automatic_retries(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, _ = await offline_with_a_stored_session(open_tab, profile, service)
    assert tab.app.retrying is not None

    tab.transport.offline = False
    tab.page.press("retry")

    assert tab.page.view == "signed-in"
    assert tab.app.retrying is None
    assert tab.transport.paths_sent() == ["/sessions/resume"]


async def test_the_retry_button_while_still_offline_keeps_the_session_and_retrying(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, saved = await offline_with_a_stored_session(open_tab, profile, service)

    tab.page.press("retry")

    assert tab.page.view == "unreachable"
    assert tab.app.retrying is not None
    assert stored(profile, service) == saved
    tab.app.stop_retrying()


async def test_signing_out_in_another_tab_while_retrying_shows_the_login_form_and_stops(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    offline, _ = await offline_with_a_stored_session(open_tab, profile, service)
    online = open_tab()
    assert online.page.view == "signed-in"

    online.page.press("sign-out")

    assert offline.page.view == "login"
    assert "You signed out in another tab." in offline.page.text()
    assert offline.app.retrying is None


async def test_coming_back_online_retries_at_once(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, _ = await offline_with_a_stored_session(open_tab, profile, service)
    await until(lambda: "Press Retry" in tab.page.text())

    tab.transport.offline = False
    tab.page.go_online()

    assert tab.page.view == "signed-in"
    assert "Resumed from your last visit" in tab.page.text()


async def test_becoming_visible_retries_at_once(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab, _ = await offline_with_a_stored_session(open_tab, profile, service)
    await until(lambda: "Press Retry" in tab.page.text())

    tab.transport.offline = False
    tab.page.become_visible()

    assert tab.page.view == "signed-in"

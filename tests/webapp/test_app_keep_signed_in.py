""" "Keep me signed in" on the login form: checked (the default) keeps the session in localStorage,
unchecked in the tab's sessionStorage, under the same key; a page load looks in both."""

from __future__ import annotations

from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, stored


async def test_the_box_is_there_and_checked_by_default(open_tab: OpenTab) -> None:
    tab = open_tab()

    assert tab.page.checked_boxes() == {"keep-signed-in": "yes"}
    assert "Keep me signed in" in tab.page.text()


async def test_checked_a_new_tab_resumes(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    first = open_tab()
    first.page.press("sign-in", **service.new_user())

    second = open_tab()

    assert stored(profile, service) is not None
    assert second.page.view == "signed-in"


async def test_unchecked_the_session_is_this_tab_s_only_and_a_new_tab_asks_to_sign_in(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    first = open_tab()
    first.page.uncheck("keep-signed-in")
    first.page.press("sign-in", **service.new_user())
    assert first.page.view == "signed-in"

    second = open_tab()

    assert stored(profile, service) is None
    assert first.page.session_storage.get_item(service.storage_key) is not None
    assert second.page.view == "login"
    assert 'role="alert"' not in second.page.html  # nothing went wrong: there is no session
    # The tab itself resumes on a reload: its sessionStorage outlives that.
    reloaded = open_tab(reload=first)
    assert reloaded.page.view == "signed-in"
    assert "Resumed from your last visit" in reloaded.page.text()


async def test_the_box_stays_as_it_was_when_a_sign_in_is_refused(
    open_tab: OpenTab, service: Service
) -> None:
    tab = open_tab()
    tab.page.uncheck("keep-signed-in")

    tab.page.press("sign-in", username=service.new_user()["username"], password="wrong password!")

    assert tab.page.view == "login"
    assert tab.page.checked_boxes() == {}


async def test_a_new_account_follows_the_box_too(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = open_tab()
    tab.page.uncheck("keep-signed-in")

    tab.page.press(
        "create-account",
        username="tab-only-" + service.new_user()["username"][5:],
        password="correct horse battery",
    )

    assert tab.page.view == "signed-in"
    assert stored(profile, service) is None

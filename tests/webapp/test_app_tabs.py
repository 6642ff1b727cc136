"""Tabs of one browser profile share the stored session and follow each other's changes to it."""

from __future__ import annotations

from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, stored


async def test_signing_out_in_one_tab_shows_the_login_form_in_the_other(
    open_tab: OpenTab, service: Service
) -> None:
    first = open_tab()
    first.page.press("sign-in", **service.new_user())
    second = open_tab()
    assert second.page.view == "signed-in"

    second.page.press("sign-out")

    assert first.page.view == "login"
    assert "You signed out in another tab." in first.page.text()
    # Only the tab that signed out told the service.
    assert first.transport.paths_sent() == ["/sessions"]


async def test_a_tab_adopts_the_secret_another_tab_rotated_so_its_sign_out_works(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    first = open_tab()
    first.page.press("sign-in", **service.new_user())
    # The second tab's resume rotates the secret; the first one adopts it from storage.
    second = open_tab()
    assert first.client.get_session() == stored(profile, service)

    first.page.press("sign-out")

    assert first.page.view == "login"
    assert "You have signed out." in first.page.text()
    assert second.page.view == "login"
    assert stored(profile, service) is None


async def test_signing_in_in_one_tab_signs_in_the_other(
    open_tab: OpenTab, service: Service
) -> None:
    first = open_tab()
    second = open_tab()
    credentials = service.new_user()

    first.page.press("sign-in", **credentials)

    assert second.page.view == "signed-in"
    assert credentials["username"] in second.page.text()
    assert second.transport.sent == []


async def test_a_tab_that_finds_another_tab_signed_out_before_the_storage_event_says_so(
    open_tab: OpenTab, service: Service
) -> None:
    first = open_tab()
    first.page.press("sign-in", **service.new_user())
    second = open_tab()
    first.page.storage_listeners.clear()  # its storage event is late
    second.page.press("sign-out")
    sent = len(first.transport.sent)

    first.page.press("sign-out-everywhere")

    assert first.page.view == "login"
    assert "You signed out in another tab." in first.page.text()
    assert len(first.transport.sent) == sent  # nothing left to sign out of

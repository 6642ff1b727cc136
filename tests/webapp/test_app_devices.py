"""Your devices in the signed-in view: this one, the others with a "Sign out" button each (named
after the device), and what signing one out does there and on the device itself."""

from __future__ import annotations

import pytest

from authclient import SessionClient, errors
from tests.webapp.conftest import tab_opener
from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, Tab, until


def other_device_button(tab: Tab) -> str:
    (name,) = [name for name, value in tab.page.buttons().items() if value == "revoke-session"]
    return name


async def signed_in_with_another_device(
    open_tab: OpenTab, service: Service
) -> tuple[Tab, SessionClient]:
    credentials = service.new_user()
    phone = service.client()
    phone.start(credentials)
    tab = open_tab()
    tab.page.press("sign-in", **credentials)
    await until(lambda: "this device" in tab.page.text())
    return tab, phone


async def test_the_signed_in_view_lists_this_device_and_a_sign_out_button_for_each_other(
    open_tab: OpenTab, service: Service
) -> None:
    tab, phone = await signed_in_with_another_device(open_tab, service)

    name = other_device_button(tab)

    assert name.startswith("Sign out Unknown device, last used ")
    assert tab.page.device_form_fields(name) == {"session": phone.get_session()["sessionId"]}
    assert "Sign out everywhere" in tab.page.buttons()
    assert tab.page.text().count("this device") == 1
    assert phone.get_session()["sessionSecret"] not in tab.page.html


async def test_signing_another_device_out_ends_its_session_and_updates_the_list(
    open_tab: OpenTab, service: Service
) -> None:
    tab, phone = await signed_in_with_another_device(open_tab, service)
    name = other_device_button(tab)

    tab.page.press("revoke-session", **tab.page.device_form_fields(name))

    assert tab.page.view == "signed-in"
    assert "That device is signed out." in tab.page.text()
    assert [value for value in tab.page.buttons().values() if value == "revoke-session"] == []
    with pytest.raises(errors.SessionRevoked):
        phone.who_am_i()


async def test_the_signed_out_device_s_next_load_says_its_session_was_ended(
    open_tab: OpenTab, service: Service
) -> None:
    credentials = service.new_user()
    open_phone = tab_opener(service, Profile())
    phone = open_phone()
    phone.page.press("sign-in", **credentials)
    tab = open_tab()
    tab.page.press("sign-in", **credentials)
    await until(lambda: "revoke-session" in tab.page.buttons().values())

    tab.page.press("revoke-session", **tab.page.device_form_fields(other_device_button(tab)))
    phone_again = open_phone()

    assert phone_again.page.view == "login"
    assert "Your session was ended from another device." in phone_again.page.text()


async def test_a_device_that_signed_out_meanwhile_is_no_error(
    open_tab: OpenTab, service: Service
) -> None:
    tab, phone = await signed_in_with_another_device(open_tab, service)
    phone.terminate()

    tab.page.press("revoke-session", **tab.page.device_form_fields(other_device_button(tab)))

    assert "That device is signed out." in tab.page.text()


async def test_a_list_that_cannot_be_loaded_says_why_and_the_page_stays_signed_in(
    open_tab: OpenTab, service: Service
) -> None:
    tab = open_tab()
    tab.page.press("sign-in", **service.new_user())
    tab.transport.offline = True  # before the list is asked for, just after the view is drawn

    await until(lambda: "Cannot reach the sign-in service" in tab.page.text())

    assert tab.page.view == "signed-in"
    assert tab.client.is_signed_in

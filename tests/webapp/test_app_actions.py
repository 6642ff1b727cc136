"""What each button does, in CPython against the real service: sign in, create an account, sign out;
submissions queued while Python loaded; submissions from a view no longer shown."""

from __future__ import annotations

import pytest

from authclient import errors
from tests.webapp.fake_page import Profile
from tests.webapp.helpers import PASSWORD, OpenTab, Service, store, stored
from webapp.page import Action


async def test_sign_in_saves_the_session_and_shows_the_signed_in_view(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    credentials = service.new_user()
    tab = open_tab()

    tab.page.press("sign-in", **credentials)

    assert tab.page.view == "signed-in"
    assert credentials["username"] in tab.page.text()
    assert "Started just now" in tab.page.text()
    assert tab.page.busy == ["login"]
    assert stored(profile, service)["userId"] == credentials["username"]


async def test_a_wrong_password_says_so_and_keeps_the_username(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    credentials = service.new_user()
    tab = open_tab()

    tab.page.press("sign-in", username=credentials["username"], password="not the password")

    assert tab.page.view == "login"
    assert "Wrong username or password." in tab.page.text()
    assert tab.page.field("username") == credentials["username"]
    assert stored(profile, service) is None
    tab.page.press("sign-in", **credentials)
    assert tab.page.view == "signed-in"


async def test_create_account_signs_the_new_user_in(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = open_tab()

    tab.page.press("create-account", username="fresh-user-" + PASSWORD[:4], password=PASSWORD)

    assert tab.page.view == "signed-in"
    assert tab.transport.paths_sent() == ["/users", "/sessions"]
    assert stored(profile, service) is not None


async def test_a_taken_username_is_an_error_and_nothing_is_saved(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    credentials = service.new_user()
    tab = open_tab()

    tab.page.press("create-account", **credentials)

    assert tab.page.view == "login"
    assert tab.page.field_error("username") == (
        "That username is taken. Choose another, or sign in."
    )
    assert tab.page.field_error("password") is None
    assert stored(profile, service) is None


async def test_the_service_s_refusal_of_a_new_password_is_shown_beside_the_password_field(
    open_tab: OpenTab,
) -> None:
    tab = open_tab()

    tab.page.press("create-account", username="shorty", password="short")

    assert tab.page.view == "login"
    assert tab.page.field_error("password") == "Choose a password of at least 12 characters."
    assert tab.page.field_error("username") is None
    assert "notice" not in tab.page.html  # said once, beside the field
    assert tab.page.field("username") == "shorty"


async def test_a_wrong_password_is_not_pinned_on_either_field(open_tab: OpenTab) -> None:
    tab = open_tab()

    tab.page.press("sign-in", username="nobody-here", password="not the password")

    assert 'class="notice notice-error" role="alert"' in tab.page.html
    assert tab.page.field_error("username") is tab.page.field_error("password") is None


async def test_user_supplied_text_reaches_the_page_escaped(open_tab: OpenTab) -> None:
    hostile = '"><img id=pwned src=x>'
    tab = open_tab()

    tab.page.press("create-account", username=hostile, password=PASSWORD)

    assert tab.page.view == "login"
    assert "<img id=pwned" not in tab.page.html
    assert tab.page.field("username") == hostile


async def test_signing_in_while_offline_says_the_service_cannot_be_reached(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    credentials = service.new_user()
    tab = open_tab(offline=True)

    tab.page.press("sign-in", **credentials)

    assert tab.page.view == "login"
    assert "Cannot reach the sign-in service" in tab.page.text()
    assert 'class="notice notice-warning"' in tab.page.html
    assert tab.page.field("username") == credentials["username"]


async def test_a_click_made_while_python_loaded_is_handled_once_it_is_ready(
    open_tab: OpenTab, service: Service
) -> None:
    credentials = service.new_user()
    queued = Action("sign-in", "login", credentials)

    tab = open_tab(queued=[queued])

    assert tab.page.view == "signed-in"
    assert tab.transport.paths_sent() == ["/sessions"]


async def test_a_click_queued_on_a_form_that_the_resumed_session_replaced_is_ignored(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    store(profile, service, service.signed_in_session())
    queued = Action("sign-in", "login", service.new_user())

    tab = open_tab(queued=[queued])

    assert tab.page.view == "signed-in"
    assert tab.transport.paths_sent() == ["/sessions/resume"]


async def test_a_second_click_from_a_view_no_longer_shown_is_ignored(
    open_tab: OpenTab, service: Service
) -> None:
    tab = open_tab()
    tab.page.press("sign-in", **service.new_user())
    tab.page.press("sign-out")
    sent = list(tab.transport.sent)

    tab.page.press("sign-out", form="signed-in")

    assert tab.page.view == "login"
    assert tab.transport.sent == sent


async def test_an_unknown_button_changes_nothing(open_tab: OpenTab) -> None:
    tab = open_tab()

    tab.page.press("self-destruct")

    assert tab.page.shown == []
    assert tab.transport.sent == []


async def test_sign_out_clears_storage_and_the_service_refuses_the_old_session(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = open_tab()
    tab.page.press("sign-in", **service.new_user())
    session = stored(profile, service)

    tab.page.press("sign-out")

    assert tab.page.view == "login"
    assert "You have signed out." in tab.page.text()
    assert stored(profile, service) is None
    with pytest.raises(errors.SessionRevoked):
        service.client(signer=profile.device_key).start(session)


async def test_signing_out_of_a_session_the_service_already_ended_signs_out_here_too(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = open_tab()
    tab.page.press("sign-in", **service.new_user())
    # Ended by the service meanwhile (from this device: a copy elsewhere cannot touch it).
    elsewhere = service.client(signer=profile.device_key)
    elsewhere.start(stored(profile, service))
    elsewhere.terminate(everywhere=True)

    tab.page.press("sign-out")

    assert tab.page.view == "login"
    assert "You have signed out." in tab.page.text()
    assert stored(profile, service) is None

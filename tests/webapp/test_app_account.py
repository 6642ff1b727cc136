"""The account's controls in the signed-in view, in CPython against the real service: each asks
to confirm, saying what will happen; the password asked again in place, then what was asked done;
a password change and an account's deletion as the other devices' pages see them; a password the
policy now refuses, changed before anything else."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
from sqlalchemy import update

from authservice.auth.passwords import ARGON2_MEMORY_KIB, ARGON2_TIME_COST
from authservice.database.engine import open_database
from authservice.database.tables import UserRow
from tests.webapp.conftest import in_process_service, tab_opener
from tests.webapp.fake_page import FakePage, Profile
from tests.webapp.helpers import PASSWORD, OpenTab, Service, Tab, until
from tests.webapp.test_app_messages import region, senders, signed_in, write
from webapp.app import ACCOUNT_DELETED, OTHERS_SIGNED_OUT, PASSWORD_CHANGED, SIGNED_OUT_EVERYWHERE
from webapp.views import DELETED_ACCOUNT

NEW_PASSWORD = "a brand new passphrase"
COMMON_PASSWORD = "password1234"
REAUTH_WINDOW_S = 0.5


@pytest.fixture(scope="module")
def forgetful_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Asks for the password again half a second after it was given."""
    data_dir = Path(tmp_path_factory.mktemp("auth-forgetful"))
    with in_process_service(
        data_dir, "webapp-forgetful", reauth_window_s=REAUTH_WINDOW_S
    ) as running:
        yield running


def account(page: FakePage) -> str:
    """The account region's text, markup left out."""
    return " ".join(re.sub(r"<[^>]+>", " ", region(page, "account")).split())


def field_error(page: FakePage, name: str) -> str:
    found = re.search(rf'<span id="{name}-error" class="field-error">(.*?)</span>', page.html)
    assert found, f"no refusal beside {name!r}"
    return found[1]


async def test_changing_the_password_asks_first_then_ends_the_other_devices_pages(
    open_tab: OpenTab, service: Service
) -> None:
    credentials = service.new_user()
    laptop = await signed_in(open_tab, credentials)
    phone = await signed_in(open_tab, credentials)

    laptop.page.press("ask-change-password", "account")
    assert "Every other device where you are signed in will be signed out." in account(laptop.page)
    laptop.page.press(
        "change-password", "account", **{"current-password": PASSWORD, "new-password": NEW_PASSWORD}
    )

    assert PASSWORD_CHANGED in account(laptop.page)
    assert laptop.page.view == "signed-in"
    await until(lambda: phone.page.view == "login")
    assert "The password of your account was changed" in phone.page.text()


async def test_a_wrong_current_password_or_a_common_new_one_is_said_beside_its_field(
    open_tab: OpenTab, service: Service
) -> None:
    tab = await signed_in(open_tab, service.new_user())
    tab.page.press("ask-change-password", "account")

    tab.page.press(
        "change-password", "account", **{"current-password": "wrong!", "new-password": NEW_PASSWORD}
    )
    assert field_error(tab.page, "current-password") == "That password is not right."
    tab.page.press(
        "change-password",
        "account",
        **{"current-password": PASSWORD, "new-password": COMMON_PASSWORD},
    )
    assert "common" in field_error(tab.page, "new-password")
    tab.page.press("account-cancel", "account")
    assert "Change password" in tab.page.buttons()


async def test_what_cannot_be_undone_asks_for_the_password_in_place_and_then_does_it(
    forgetful_service: Service,
) -> None:
    open_tab = tab_opener(forgetful_service, Profile())
    credentials = forgetful_service.new_user()
    laptop = await signed_in(open_tab, credentials)
    phone = await signed_in(open_tab, credentials, Profile())
    await asyncio.sleep(REAUTH_WINDOW_S + 0.2)

    laptop.page.press("ask-sign-out-others", "signed-in")
    assert "This one stays signed in." in account(laptop.page)
    laptop.page.press("sign-out-others", "account")
    assert "Enter your password again" in account(laptop.page)
    assert "To sign out the other devices, confirm that it is you." in account(laptop.page)
    laptop.page.submit("account", "reauthenticate")  # with what the form holds: nothing yet
    laptop.page.press(
        "reauthenticate", "account", then="sign-out-others", **{"reauth-password": "wrong!"}
    )
    assert field_error(laptop.page, "reauth-password") == "That password is not right."

    laptop.page.press(
        "reauthenticate", "account", then="sign-out-others", **{"reauth-password": PASSWORD}
    )

    assert OTHERS_SIGNED_OUT in account(laptop.page)
    await until(lambda: phone.page.view == "login")
    assert laptop.page.view == "signed-in"


async def test_sign_out_everywhere_asks_for_the_password_when_it_is_not_recent(
    forgetful_service: Service,
) -> None:
    open_tab = tab_opener(forgetful_service, Profile())
    tab = await signed_in(open_tab, forgetful_service.new_user())
    await asyncio.sleep(REAUTH_WINDOW_S + 0.2)

    tab.page.press("sign-out-everywhere")
    assert "To sign out on every device, confirm that it is you." in account(tab.page)
    assert tab.client.is_signed_in
    tab.page.press(
        "reauthenticate", "account", then="sign-out-everywhere", **{"reauth-password": PASSWORD}
    )

    assert tab.page.view == "login"
    assert SIGNED_OUT_EVERYWHERE in tab.page.text()


async def test_deleting_the_account_asks_first_and_the_others_see_a_deleted_account(
    open_tab: OpenTab, service: Service
) -> None:
    leaver, stayer = service.new_user(), service.new_user()
    alice = await signed_in(open_tab, leaver)
    alice_phone = await signed_in(open_tab, leaver, Profile())
    bob_s_browser = Profile()
    bob = await signed_in(open_tab, stayer, bob_s_browser)
    write(alice.page, stayer["username"], "goodbye")
    await until(lambda: "goodbye" in bob.page.text())

    alice.page.press("ask-delete-account", "account")
    assert "cannot be brought back" in account(alice.page)
    alice.page.press("delete-account", "account")

    assert alice.page.view == "login"
    assert ACCOUNT_DELETED in alice.page.text()
    await until(lambda: alice_phone.page.view == "login")
    assert "Your account has been deleted." in alice_phone.page.text()
    reloaded = open_tab(profile=bob_s_browser, reload=bob)
    await until(lambda: f"{DELETED_ACCOUNT}: goodbye" in reloaded.page.text())
    reloaded.page.press("open-conversation", "messages", conversation=_only_conversation(reloaded))
    await until(lambda: senders(reloaded.page) == [DELETED_ACCOUNT])


async def test_a_password_the_policy_now_refuses_is_changed_before_anything_else(
    open_tab: OpenTab, service: Service
) -> None:
    credentials = service.new_user()
    hasher = argon2.PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=1
    )
    engine = open_database(service.settings)
    try:
        with engine.begin() as connection:  # an account from before the word was on the list
            connection.execute(
                update(UserRow)
                .where(UserRow.username == credentials["username"])
                .values(password_hash=hasher.hash(COMMON_PASSWORD))
            )
    finally:
        engine.dispose()
    tab = open_tab()

    tab.page.press("sign-in", username=credentials["username"], password=COMMON_PASSWORD)

    assert tab.page.view == "change-password"
    assert "Choose a new one before going on." in tab.page.text()
    assert "Cancel" not in tab.page.buttons()
    tab.page.press(
        "change-password",
        "change-password",
        **{"current-password": COMMON_PASSWORD, "new-password": NEW_PASSWORD},
    )
    assert tab.page.view == "signed-in"
    assert PASSWORD_CHANGED in tab.page.text()


def _only_conversation(tab: Tab) -> str:
    (conversation,) = re.findall(r'name="conversation" value="([^"]*)"', tab.page.html)
    return conversation

"""The page-load logic in CPython: the stored session decides the first view (the seed's resume)."""

from __future__ import annotations

import uuid

import pytest

from authclient.ec_signer import EcDeviceSigner
from tests.support.accounts import GARBAGE
from tests.webapp.fake_page import Profile
from tests.webapp.helpers import PASSWORD, OpenTab, Service, store, stored


async def test_without_a_stored_session_the_prerendered_login_form_stays_and_nothing_is_sent(
    open_tab: OpenTab,
) -> None:
    tab = open_tab()

    assert tab.page.view == "login"
    # Redrawing it would lose what the user typed while Python loaded.
    assert tab.page.shown == []
    assert tab.page.ready
    assert tab.transport.sent == []


async def test_a_stored_session_resumes_to_the_signed_in_view_and_the_rotated_secret_is_saved(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    saved = service.signed_in_session()
    store(profile, service, saved)

    tab = open_tab()

    assert tab.page.view == "signed-in"
    assert saved["userId"] in tab.page.text()
    assert "Resumed from your last visit" in tab.page.text()
    assert tab.transport.paths_sent() == ["/sessions/resume"]
    resumed = stored(profile, service)
    assert resumed["sessionId"] == saved["sessionId"]
    assert resumed["sessionSecret"] != saved["sessionSecret"]


@pytest.mark.parametrize("shape", GARBAGE)
async def test_garbage_in_storage_is_cleared_and_the_login_form_says_it_could_not_be_read(
    shape: str, open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    store(profile, service, GARBAGE[shape])

    tab = open_tab()

    assert tab.page.shown == ["login"]
    assert "Your saved session could not be read. Please sign in again." in tab.page.text()
    assert 'role="alert"' in tab.page.html
    assert stored(profile, service) is None
    assert tab.transport.sent == []


async def test_a_stored_session_of_another_application_is_cleared_and_never_sent(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    foreign = {**service.signed_in_session(), "applicationKey": "app_someone_else"}
    store(profile, service, foreign)

    tab = open_tab()

    assert tab.page.view == "login"
    assert tab.transport.sent == []
    assert stored(profile, service) is None


async def test_a_session_revoked_while_the_page_was_closed_gives_the_login_form_with_a_notice(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    saved = service.signed_in_session()
    store(profile, service, saved)
    # Revoked from another device: every session of the user.
    elsewhere = service.client()
    elsewhere.start(saved)
    elsewhere.terminate(everywhere=True)

    tab = open_tab()

    assert tab.page.view == "login"
    assert "Your session was ended from another device. Please sign in again." in tab.page.text()
    assert 'role="alert"' in tab.page.html
    assert stored(profile, service) is None


async def test_an_unknown_session_gives_the_login_form_with_its_own_notice(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    saved = service.signed_in_session()
    store(profile, service, {**saved, "sessionSecret": "B" * 43})

    tab = open_tab()

    assert tab.page.view == "login"
    assert "Your saved session is no longer valid" in tab.page.text()
    assert stored(profile, service) is None


def test_a_session_whose_device_key_was_lost_gives_the_login_form_with_a_sentence(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    first = open_tab()
    first.page.press("create-account", username=f"lost-{uuid.uuid4().hex[:8]}", password=PASSWORD)
    assert first.page.view == "signed-in"
    # Site data partly cleared: IndexedDB (the key) gone, localStorage (the session) kept.
    profile.device_key = EcDeviceSigner()

    tab = open_tab()

    assert tab.page.view == "login"
    assert "bound to another browser, or to a key this browser no longer has" in tab.page.text()
    assert stored(profile, service) is None


def test_a_copy_of_the_stored_session_in_another_profile_gives_the_login_form_there_only(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    first = open_tab()
    first.page.press("create-account", username=f"copy-{uuid.uuid4().hex[:8]}", password=PASSWORD)
    copied = dict(profile.items)
    elsewhere = Profile()
    elsewhere.items.update(copied)

    assert open_tab(profile=elsewhere).page.view == "login"
    assert stored(elsewhere, service) is None
    assert open_tab().page.view == "signed-in"

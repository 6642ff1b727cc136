"""Signing out, offline first: the login form at once, storage cleared, whatever the network does;
a sign-out the service could not be told of is sent later by itself (backoff, coming back online,
the next page load)."""

from __future__ import annotations

import asyncio

import pytest

from authclient import HttpRequest, HttpResponse, errors, pending_revocations_key
from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, Tab, store, stored, until

PENDING_NOTICE = (
    "You have signed out. The sign-in service could not be reached; this device will tell it as "
    "soon as it can."
)


def waiting(profile: Profile, service: Service) -> str | None:
    return profile.items.get(pending_revocations_key(service.storage_key))


def signed_in_tab(open_tab: OpenTab, service: Service) -> Tab:
    tab = open_tab()
    tab.page.press("sign-in", **service.new_user())
    assert tab.page.view == "signed-in"
    return tab


async def test_signing_out_online_shows_the_login_form_once_and_the_service_ends_the_session(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = signed_in_tab(open_tab, service)
    session = stored(profile, service)

    tab.page.press("sign-out")

    assert tab.page.shown[-2:] == ["signed-in", "login"]
    assert "You have signed out." in tab.page.text()
    # Told politely: nothing went wrong (a warning or an error is an alert).
    assert 'role="status"' in tab.page.html and 'role="alert"' not in tab.page.html
    assert stored(profile, service) is None and waiting(profile, service) is None
    with pytest.raises(errors.SessionRevoked):
        service.client(signer=profile.device_key).start(session)


async def test_the_login_form_is_drawn_once_storage_is_cleared_and_before_the_service_is_asked(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = signed_in_tab(open_tab, service)
    seen_when_sent = []
    send = tab.transport.send

    def send_watched(request: HttpRequest) -> HttpResponse:
        seen_when_sent.append((tab.page.view, stored(profile, service)))
        return send(request)

    tab.transport.send = send_watched  # type: ignore[method-assign]

    tab.page.press("sign-out")

    assert seen_when_sent == [("login", None)]


async def test_signing_out_offline_shows_the_login_form_clears_storage_and_the_sign_out_waits(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = signed_in_tab(open_tab, service)
    tab.transport.offline = True

    tab.page.press("sign-out")

    assert tab.page.view == "login"
    assert PENDING_NOTICE in tab.page.text()
    assert stored(profile, service) is None
    assert waiting(profile, service) is not None
    tab.app.stop_retrying()


async def test_a_waiting_sign_out_is_sent_by_itself_once_the_service_answers(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = signed_in_tab(open_tab, service)
    session = stored(profile, service)
    tab.transport.offline = True
    tab.page.press("sign-out")

    tab.transport.offline = False
    await until(lambda: waiting(profile, service) is None)

    with pytest.raises(errors.SessionRevoked):
        service.client(signer=profile.device_key).start(session)
    assert tab.transport.paths_sent()[-1] == "/sessions/current"


async def test_a_waiting_sign_out_is_sent_at_once_when_the_browser_comes_back_online(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = signed_in_tab(open_tab, service)
    tab.transport.offline = True
    tab.page.press("sign-out")
    await asyncio.sleep(0.3)  # past the last automatic attempt (FAST_BACKOFF: about 0.1 s)
    assert waiting(profile, service) is not None

    tab.transport.offline = False
    tab.page.go_online()
    await until(lambda: waiting(profile, service) is None, timeout_s=0.1)


async def test_the_next_page_load_sends_a_waiting_sign_out(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    tab = signed_in_tab(open_tab, service)
    session = stored(profile, service)
    tab.transport.offline = True
    tab.page.press("sign-out")  # this tab stays offline: it cannot send it

    next_load = open_tab()

    assert next_load.page.view == "login"
    await until(lambda: waiting(profile, service) is None)
    assert next_load.transport.paths_sent() == ["/sessions/current"]
    with pytest.raises(errors.SessionRevoked):
        service.client(signer=profile.device_key).start(session)


async def test_the_cannot_reach_view_signs_out_the_session_it_kept(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    store(profile, service, service.signed_in_session())
    tab = open_tab(offline=True)
    await until(lambda: tab.page.view == "unreachable")

    tab.page.press("sign-out")

    assert tab.page.view == "login"
    assert PENDING_NOTICE in tab.page.text()
    assert stored(profile, service) is None
    assert waiting(profile, service) is not None
    assert tab.app.retrying is None


async def test_sign_out_everywhere_ends_the_other_devices_too(
    open_tab: OpenTab, profile: Profile, service: Service
) -> None:
    credentials = service.new_user()
    phone = service.client()
    phone.start(credentials)
    tab = open_tab()
    tab.page.press("sign-in", **credentials)

    tab.page.press("sign-out-everywhere")

    assert tab.page.view == "login"
    assert "You have signed out on every device." in tab.page.text()
    assert stored(profile, service) is None
    with pytest.raises(errors.SessionRevoked):
        phone.who_am_i()

"""INITIAL_SESSION: once per client (a page load), when its first resume_stored() has settled,
whatever the outcome; then an event for every change. And what a page may pass on of an event."""

from __future__ import annotations

import json

from authclient import Event, SessionClient, public_payload
from tests.client.helpers import ClientFactory, Recorder


def reload_of(tab: SessionClient, auth_url: str | None = None) -> SessionClient:
    return SessionClient(tab.application_key, auth_url or tab.auth_url, storage=tab.storage)


def test_a_resumed_session_settles_as_signed_in_after_its_resume_event(
    signed_in: SessionClient,
) -> None:
    client = reload_of(signed_in)
    events = Recorder(client)

    result = client.resume_stored()

    assert events.events == [Event.RESUMED, Event.INITIAL_SESSION]
    assert events.payload(Event.INITIAL_SESSION) == {
        "signed_in": True,
        "outcome": "resumed",
        "reason": None,
        "session": result.session,
        "user_id": signed_in.user_id,
    }


def test_nothing_stored_settles_as_signed_out_with_the_reason(make_client: ClientFactory) -> None:
    client = make_client()
    events = Recorder(client)

    client.resume_stored()

    assert events.seen == [
        (
            Event.INITIAL_SESSION,
            {
                "signed_in": False,
                "outcome": "login_needed",
                "reason": "no_session",
                "session": None,
                "user_id": None,
            },
        )
    ]


def test_it_fires_once_however_often_the_page_retries_and_later_changes_have_their_own(
    signed_in: SessionClient, closed_port_url: str
) -> None:
    offline = reload_of(signed_in, closed_port_url + "/v1")
    events = Recorder(offline)
    offline.resume_stored()
    offline.resume_stored()
    back = reload_of(signed_in)
    back_events = Recorder(back)
    back.resume_stored()
    back.resume_stored()
    back.terminate()

    assert events.events.count(Event.INITIAL_SESSION) == 1
    assert events.payload(Event.INITIAL_SESSION)["outcome"] == "unreachable"
    assert events.payload(Event.INITIAL_SESSION)["reason"] == "network_error"
    assert back_events.events == [
        Event.RESUMED,
        Event.INITIAL_SESSION,
        Event.RESUMED,
        Event.SIGNED_OUT,
    ]


def test_what_a_page_passes_on_holds_no_secret(signed_in: SessionClient) -> None:
    client = reload_of(signed_in)
    events = Recorder(client)
    client.resume_stored()
    secret = client.get_session()["sessionSecret"]

    passed_on = [public_payload(event, payload) for event, payload in events.seen]

    assert passed_on[-1] == {
        "event": "initial_session",
        "userId": signed_in.user_id,
        "expiresAt": client.get_session()["expiresAt"],
        "idleExpiresAt": client.get_session()["idleExpiresAt"],
        "signedIn": True,
        "outcome": "resumed",
        "reason": None,
    }
    assert secret not in json.dumps(passed_on)

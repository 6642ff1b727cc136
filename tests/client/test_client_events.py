"""Events: subscribe to one or all, cancel, and a failing subscriber cannot break the client."""

from __future__ import annotations

import logging

import pytest

from authclient import Event
from authclient.events import EventEmitter


def test_subscriber_gets_its_event_with_the_payload() -> None:
    emitter, seen = EventEmitter(), []
    emitter.on(Event.SIGNED_OUT, lambda event, payload: seen.append((event, payload)))
    emitter.emit(Event.SIGNED_IN, {"n": 1})
    emitter.emit(Event.SIGNED_OUT, {"n": 2})
    assert seen == [(Event.SIGNED_OUT, {"n": 2})]


def test_subscribing_to_none_gets_every_event() -> None:
    emitter, seen = EventEmitter(), []
    emitter.on(None, lambda event, payload: seen.append(event))
    for event in Event:
        emitter.emit(event, {})
    assert seen == list(Event)


def test_unsubscribe_stops_delivery_and_can_be_called_twice() -> None:
    emitter, seen = EventEmitter(), []
    unsubscribe = emitter.on(Event.RESUMED, lambda event, payload: seen.append(event))
    emitter.emit(Event.RESUMED, {})
    unsubscribe()
    unsubscribe()
    emitter.emit(Event.RESUMED, {})
    assert seen == [Event.RESUMED]


def test_event_names_are_plain_strings() -> None:
    assert Event.SIGNED_IN == "signed_in"
    emitter, seen = EventEmitter(), []
    emitter.on("signed_in", lambda event, payload: seen.append(event))  # type: ignore[arg-type]
    emitter.emit(Event.SIGNED_IN, {})
    assert seen == [Event.SIGNED_IN]


def test_unknown_event_name_is_refused() -> None:
    with pytest.raises(ValueError):
        EventEmitter().on("signed_sideways", lambda event, payload: None)  # type: ignore[arg-type]


def test_callback_that_raises_is_logged_and_later_callbacks_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emitter, seen = EventEmitter(), []

    def broken(event: Event, payload: dict) -> None:
        raise RuntimeError("boom")

    emitter.on(Event.SIGNED_IN, broken)
    emitter.on(Event.SIGNED_IN, lambda event, payload: seen.append(event))
    with caplog.at_level(logging.ERROR, logger="authclient"):
        emitter.emit(Event.SIGNED_IN, {})
    assert seen == [Event.SIGNED_IN]
    assert "boom" in caplog.text


def test_a_callback_may_unsubscribe_itself_during_delivery() -> None:
    emitter, seen = EventEmitter(), []
    unsubscribe = emitter.on(
        Event.SIGNED_IN, lambda event, payload: (seen.append(1), unsubscribe())
    )
    emitter.on(Event.SIGNED_IN, lambda event, payload: seen.append(2))
    emitter.emit(Event.SIGNED_IN, {})
    emitter.emit(Event.SIGNED_IN, {})
    assert seen == [1, 2, 2]

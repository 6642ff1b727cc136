"""Messages between users of one application (docs/api.md, "Messages"), on SQLite and PostgreSQL:
sending, the rules a message must meet, conversations and their history, delivery receipts, the
send limit, and the session that every route needs, as `GET /v1/me` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.service.conftest import QUIET_LIMITS, Backend
from tests.service.devices import Device, bound_session, proved
from tests.service.helpers import Api, Reply, RunningService, assert_error, bearer
from tests.service.streams import EventStream


def users(api: Api, username: str, *names: str) -> list[dict[str, Any]]:
    """A session for each of `username`-`name`."""
    return [api.new_session(f"{username}-{name}") for name in names]


def sent(reply: Reply) -> dict[str, Any]:
    assert reply.status == 201, reply
    return dict(reply.body["message"])


def test_a_message_to_several_users_is_in_the_history_of_each_as_sent(
    backend_api: Api, username: str
) -> None:
    alice, bob, carol = users(backend_api, username, "alice", "bob", "carol")
    text = '  <b>Hello</b> & "welcome",\n\tboth of you  '

    message = sent(backend_api.send_message(alice, [bob["userId"], carol["userId"]], text))

    assert message["from"] == alice["userId"]
    assert message["to"] == sorted([bob["userId"], carol["userId"]])
    assert message["text"] == text  # never trimmed, never escaped: markup is just text
    assert message["deliveredTo"] == {}
    assert message["conversationId"].startswith("cnv_") and message["id"] > 0
    for session in (alice, bob, carol):
        history = backend_api.list_messages(session, message["conversationId"])
        assert (history.status, history.body) == (200, {"messages": [message], "more": False})
        listed = backend_api.list_conversations(session).body["conversations"]
        assert listed == [
            {
                "conversationId": message["conversationId"],
                "participants": sorted(user["userId"] for user in (alice, bob, carol)),
                "deletedAccounts": 0,
                "lastMessage": message,
            }
        ]


def test_the_same_people_are_always_the_same_conversation_whoever_writes_and_however_named(
    backend_api: Api, username: str
) -> None:
    alice, bob, carol = users(backend_api, username, "alice", "bob", "carol")

    first = sent(backend_api.send_message(alice, [bob["userId"], carol["userId"]], "one"))
    second = sent(backend_api.send_message(bob, [carol["userId"].upper(), alice["userId"]], "two"))
    apart = sent(backend_api.send_message(alice, [bob["userId"]], "just us"))

    assert second["conversationId"] == first["conversationId"]
    assert second["to"] == sorted([alice["userId"], carol["userId"]])  # as stored, not as typed
    assert second["id"] > first["id"]
    assert apart["conversationId"] != first["conversationId"]


def test_duplicate_names_and_the_sender_s_own_are_dropped(backend_api: Api, username: str) -> None:
    alice, bob = users(backend_api, username, "alice", "bob")
    names = [bob["userId"], bob["userId"].upper(), alice["userId"], bob["userId"]]

    message = sent(backend_api.send_message(alice, names, "hi"))

    assert message["to"] == [bob["userId"]]
    assert_error(
        backend_api.send_message(alice, [alice["userId"].upper()], "note to self"),
        400,
        "invalid_request",
    )


def test_history_pages_newest_first_and_says_when_older_messages_follow(
    backend_api: Api, username: str
) -> None:
    alice, bob = users(backend_api, username, "alice", "bob")
    ids = [
        sent(backend_api.send_message(sender, [receiver["userId"]], f"message {n}"))["id"]
        for n, (sender, receiver) in enumerate([(alice, bob), (bob, alice)] * 3)
    ]
    conversation = backend_api.list_conversations(alice).body["conversations"][0]
    conversation_id = conversation["conversationId"]

    pages, before = [], ""
    while True:
        page = backend_api.list_messages(bob, conversation_id, f"?limit=4{before}").body
        pages.append([message["id"] for message in page["messages"]])
        if not page["more"]:
            break
        before = f"&before={pages[-1][-1]}"

    assert pages == [ids[::-1][:4], ids[::-1][4:]]
    assert conversation["lastMessage"]["id"] == ids[-1]
    everything = backend_api.list_messages(alice, conversation_id, "?limit=100").body
    assert [m["text"] for m in everything["messages"]] == [f"message {n}" for n in range(5, -1, -1)]
    assert everything["more"] is False


def test_conversations_are_listed_by_their_last_message_newest_first_in_pages(
    backend_api: Api, username: str
) -> None:
    me, *others = users(backend_api, username, "me", "a", "b", "c", "d")
    for other in others:
        sent(backend_api.send_message(other, [me["userId"]], "hello"))
    sent(backend_api.send_message(me, [others[1]["userId"]], "b again"))  # now the newest

    first = backend_api.list_conversations(me, "?limit=3").body
    last_id = first["conversations"][-1]["lastMessage"]["id"]
    second = backend_api.list_conversations(me, f"?limit=3&before={last_id}").body

    def talking_to(page: dict[str, Any]) -> list[str]:
        return [
            next(name for name in item["participants"] if name != me["userId"])
            for item in page["conversations"]
        ]

    names = [other["userId"] for other in others]
    assert talking_to(first) == [names[1], names[3], names[2]] and first["more"] is True
    assert talking_to(second) == [names[0]] and second["more"] is False


def test_unknown_recipients_are_named_as_typed_and_nothing_is_sent(
    backend_api: Api, username: str
) -> None:
    alice, bob = users(backend_api, username, "alice", "bob")
    typed = [bob["userId"], f"{username}-Dave", "no such user", f"{username}-dave"]

    reply = backend_api.send_message(alice, typed, "hello")

    assert (reply.status, reply.error) == (400, "unknown_recipients")
    assert reply.body["usernames"] == [f"{username}-Dave", "no such user"]
    assert reply.body["message"] == (
        f'No user named "{username}-Dave", "no such user" in this application.'
    )
    assert backend_api.list_conversations(bob).body == {"conversations": [], "more": False}


def test_a_user_of_another_application_is_an_unknown_recipient(
    backend_service: RunningService, username: str
) -> None:
    here, elsewhere = backend_service.api, backend_service.api_for("elsewhere")
    alice = here.new_session(f"{username}-alice")
    stranger = elsewhere.new_session(f"{username}-stranger")

    reply = here.send_message(alice, [stranger["userId"]], "hello")

    assert (reply.status, reply.body["usernames"]) == (400, [stranger["userId"]])
    assert elsewhere.list_conversations(stranger).body["conversations"] == []


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("", "A message cannot be empty."),
        (" \n\t\u3000 ", "A message must hold more than spaces and line breaks."),
        ("x" * 2001, "A message is at most 2000 characters; this one has 2001."),
        (
            "nul\x00byte",
            "A message cannot hold control characters other than tabs and line breaks.",
        ),
        ("\ud800", "The message contains something that is not valid text."),
    ],
    ids=["empty", "white-space", "too-long", "control", "surrogate"],
)
def test_a_message_that_breaks_a_rule_is_refused_with_the_rule_in_words(
    backend_api: Api, username: str, text: str, sentence: str
) -> None:
    alice, bob = users(backend_api, username, "alice", "bob")

    reply = backend_api.send_message(alice, [bob["userId"]], text)

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"] == sentence


def test_a_message_of_exactly_2000_characters_of_any_script_is_sent(
    backend_api: Api, username: str
) -> None:
    alice, bob = users(backend_api, username, "alice", "bob")
    text = ("日本語 😀 ¿Qué? " * 200)[:2000]

    assert sent(backend_api.send_message(alice, [bob["userId"]], text))["text"] == text


@pytest.mark.parametrize(
    ("to", "sentence"),
    [
        ([], "Send a message to 1 to 20 users."),
        ([f"user{n}" for n in range(21)], "Send a message to 1 to 20 users."),
        ([""], "A recipient's name is 1 to 64 characters."),
        (["tab\tname"], "The recipient's name cannot contain control characters"),
    ],
    ids=["none", "21", "empty-name", "control"],
)
def test_recipients_that_break_a_rule_are_refused_with_the_rule_in_words(
    api: Api, username: str, to: list[str], sentence: str
) -> None:
    alice = api.new_session(username)

    reply = api.send_message(alice, to, "hello")

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"].startswith(sentence)


def test_a_conversation_one_is_not_in_and_one_that_does_not_exist_get_the_same_404(
    backend_api: Api, username: str
) -> None:
    alice, bob, eve = users(backend_api, username, "alice", "bob", "eve")
    theirs = sent(backend_api.send_message(alice, [bob["userId"]], "private"))["conversationId"]

    replies = [
        backend_api.list_messages(eve, theirs),
        backend_api.list_messages(eve, "cnv_" + "A" * 22),
        backend_api.list_messages(eve, "not even an id"),
    ]

    for reply in replies:
        assert_error(reply, 404, "no_such_conversation")
    assert len({reply.body["message"] for reply in replies}) == 1


def test_a_receipt_marks_a_message_delivered_to_that_recipient_once(
    backend_service: RunningService, username: str
) -> None:
    api = backend_service.api
    alice, bob, carol = users(api, username, "alice", "bob", "carol")
    message = sent(api.send_message(alice, [bob["userId"], carol["userId"]], "hi"))
    with EventStream(backend_service.process.url, alice, after=0) as stream:
        assert [stream.next_event().kind for _ in range(2)] == ["ready", "message"]

        assert api.mark_delivered(bob, [message["id"]]).status == 204
        assert api.mark_delivered(bob, [message["id"]]).status == 204

        receipt = stream.next_event()
        stream.assert_quiet(0.3)  # the second receipt changed nothing
    assert (receipt.kind, receipt.data["recipient"]) == ("delivered", bob["userId"])
    history = api.list_messages(carol, message["conversationId"]).body["messages"]
    assert history[0]["deliveredTo"] == {bob["userId"]: receipt.data["deliveredAt"]}


def test_receipts_for_messages_not_addressed_to_the_caller_are_ignored(
    backend_api: Api, username: str
) -> None:
    alice, bob, eve = users(backend_api, username, "alice", "bob", "eve")
    message = sent(backend_api.send_message(alice, [bob["userId"]], "hi"))

    replies = [
        backend_api.mark_delivered(eve, [message["id"]]),  # not a recipient
        backend_api.mark_delivered(alice, [message["id"]]),  # the sender
        backend_api.mark_delivered(bob, [2**31 - 1]),  # no such message
    ]

    assert [reply.status for reply in replies] == [204, 204, 204]
    history = backend_api.list_messages(alice, message["conversationId"]).body
    assert history["messages"][0]["deliveredTo"] == {}


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"messageIds": []}, "Name 1 to 100 messages."),
        ({"messageIds": list(range(1, 102))}, "Name 1 to 100 messages."),
        ({"messageIds": [0]}, "A message id is a positive integer."),
        ({"messageIds": ["1"]}, "The field messageIds.0 is not valid"),
    ],
    ids=["none", "101", "zero", "string"],
)
def test_a_malformed_receipt_is_refused(
    api: Api, username: str, body: dict[str, Any], sentence: str
) -> None:
    reply = api.post("/v1/messages/delivered", body, bearer(api.new_session(username)))

    assert_error(reply, 400, "invalid_request")
    assert reply.body["message"].startswith(sentence)


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?before=0", "?limit=x"])
def test_a_page_outside_the_limits_is_invalid_request(api: Api, username: str, query: str) -> None:
    assert_error(api.list_conversations(api.new_session(username), query), 400, "invalid_request")


def test_sending_is_limited_per_user_and_refused_sends_count(
    backend: Backend, fresh_service: Callable[..., RunningService], username: str
) -> None:
    # Three at once, then one every 20 s: none drains during the test.
    service = fresh_service(
        database_url=backend.new_database_url(), messages_per_minute=3, **QUIET_LIMITS
    )
    api = service.api
    alice, bob, carol = users(api, username, "alice", "bob", "carol")

    replies = [
        api.send_message(alice, [bob["userId"]], "one"),
        api.send_message(alice, ["nobody-at-all"], "two"),
        api.send_message(alice, [bob["userId"]], "three"),
        api.send_message(alice, [bob["userId"]], "four"),
    ]

    assert [reply.status for reply in replies] == [201, 400, 201, 429]
    assert_error(replies[3], 429, "rate_limited")
    assert 1 <= int(replies[3].headers["retry-after"]) <= 20
    assert "messages" in replies[3].body["message"]
    assert api.send_message(carol, [bob["userId"]], "someone else may").status == 201
    audited = [line for line in service.process.output.splitlines() if '"rate_limited"' in line]
    assert len(audited) == 1 and '"action":"send_message"' in audited[0]
    assert f'"user":"{alice["userId"]}"' in audited[0]


def test_every_messaging_route_refuses_a_session_that_has_ended(
    backend_api: Api, username: str
) -> None:
    alice, bob = users(backend_api, username, "alice", "bob")
    conversation_id = sent(backend_api.send_message(alice, [bob["userId"]], "hi"))["conversationId"]
    assert backend_api.sign_out(alice).status == 204

    replies = [
        backend_api.send_message(alice, [bob["userId"]], "hi"),
        backend_api.list_conversations(alice),
        backend_api.list_messages(alice, conversation_id),
        backend_api.mark_delivered(alice, [1]),
        backend_api.request("GET", "/v1/messages/stream", headers=bearer(alice)),
    ]

    for reply in replies:
        assert_error(reply, 401, "session_revoked")
        assert reply.headers["www-authenticate"] == "Bearer"
    no_header = backend_api.request("GET", "/v1/conversations")
    assert_error(no_header, 401, "session_unknown")


def test_a_bound_session_needs_its_proof_on_every_messaging_route(
    backend_api: Api, username: str
) -> None:
    device = Device()
    alice = bound_session(backend_api, f"{username}-alice", device)
    bob = backend_api.new_session(f"{username}-bob")
    send = {"to": [bob["userId"]], "text": "hi"}

    def call(method: str, path: str, body: Any = None, *, proof: bool) -> Reply:
        headers = bearer(alice)
        if proof:
            headers |= proved(device.proof(method, path.partition("?")[0], alice))
        if body is None:
            return backend_api.request(method, path, headers=headers)
        return backend_api.post(path, body, headers)

    message = sent(call("POST", "/v1/messages", send, proof=True))
    routes = [
        ("POST", "/v1/messages", send),
        ("GET", "/v1/conversations?limit=5", None),
        ("GET", f"/v1/conversations/{message['conversationId']}/messages", None),
        ("POST", "/v1/messages/delivered", {"messageIds": [message["id"]]}),
    ]
    for method, path, body in routes:
        assert_error(call(method, path, body, proof=False), 401, "proof_required")
        assert call(method, path, body, proof=True).status in (200, 201, 204), path
    stolen = backend_api.send_message(
        alice, [bob["userId"]], "hi", proved(Device().proof("POST", "/v1/messages", alice))
    )
    assert_error(stolen, 401, "proof_invalid")

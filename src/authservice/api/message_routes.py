"""The messaging routes under /v1 (docs/api.md, Messages): authorised like `GET /v1/me`, they
translate between HTTP and MessagingService, and serve each user's message stream.

Every route is `async` and hands its one blocking call (the use case) to a worker thread (a plain
`def` route costs two hops: auth_routes.py).

The stream (`GET /v1/messages/stream`, Server-Sent Events) holds no worker thread
while it waits: it reads the mailbox and checks the session in the thread pool, then waits on the
fan-out (messaging/fanout.py) for a wake-up, pinging at each interval meanwhile. Wake-ups come from
the fan-out, from the periodic check of every stream of the process (messaging/stream_checks.py),
and from the session's own end when its time comes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from authservice.api.common_bodies import ERRORS, error_responses
from authservice.api.dependencies import Messaging, Presented
from authservice.api.message_bodies import (
    ConversationPage,
    DeliveredRequest,
    MessagePage,
    SendMessageRequest,
    SentMessage,
    StreamReady,
    UnknownRecipientsBody,
    event_data,
)
from authservice.core.clock import utc_now
from authservice.core.errors import InvalidRequest
from authservice.core.threads import in_thread
from authservice.messaging.rules import MESSAGE_ID_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from authservice.messaging.use_cases import STREAM_BATCH, MessagingService, StreamStart

__all__ = ["STREAM_HEADERS", "router"]

logger = logging.getLogger("authservice")

router = APIRouter(prefix="/v1")

# What a stream's answer carries besides the API's own headers: no proxy may hold its events back.
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
# A stream checks the session just after the session's end, not just before it.
_PAST_THE_END_S = 0.05

_DESCRIBED = {
    **ERRORS,
    400: "`invalid_request`: a malformed or wrongly typed parameter",
    404: "`no_such_conversation`: the caller is not in a conversation with that id",
    429: "`rate_limited`: too many messages; see the `Retry-After` header (seconds)",
}


_SEND_REFUSED = {
    400: f"{ERRORS[400]}; `unknown_recipients`: no user of the application has these names "
    "(listed in `usernames`)"
}


Before = Annotated[
    int | None,
    Query(ge=1, le=MESSAGE_ID_MAX, description="only what is older than this message id"),
]
Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX, description="how many at most")]


@router.post(
    "/messages",
    status_code=201,
    summary="Send a message to one or more users of the application",
    responses={
        **error_responses(401, 413, 429, 503, described=_DESCRIBED),
        **error_responses(400, described=_SEND_REFUSED, model=UnknownRecipientsBody),
    },
)
async def send_message(
    body: SendMessageRequest, presented: Presented, messaging: Messaging
) -> SentMessage:
    return SentMessage.of(await in_thread(messaging.send, presented, body.to, body.text))


@router.get(
    "/conversations",
    summary="The caller's conversations, by last message, newest first",
    responses=error_responses(400, 401, 503, described=_DESCRIBED),
)
async def list_conversations(
    presented: Presented,
    messaging: Messaging,
    before: Before = None,
    limit: Limit = PAGE_LIMIT_DEFAULT,
) -> ConversationPage:
    page = await in_thread(messaging.list_conversations, presented, before, limit)
    return ConversationPage.of(page)


@router.get(
    "/conversations/{conversationId}/messages",
    summary="A conversation's messages, newest first",
    responses=error_responses(400, 401, 404, 503, described=_DESCRIBED),
)
async def list_messages(
    conversation_id: Annotated[str, Path(alias="conversationId")],
    presented: Presented,
    messaging: Messaging,
    before: Before = None,
    limit: Limit = PAGE_LIMIT_DEFAULT,
) -> MessagePage:
    page = await in_thread(messaging.list_messages, presented, conversation_id, before, limit)
    return MessagePage.of(page)


@router.post(
    "/messages/delivered",
    status_code=204,
    response_class=Response,
    summary="The caller, a recipient, has received these messages (others are ignored)",
    responses=error_responses(400, 401, 413, 503),
)
async def mark_delivered(
    body: DeliveredRequest, presented: Presented, messaging: Messaging
) -> None:
    await in_thread(messaging.mark_delivered, presented, body.message_ids)


@router.get(
    "/messages/stream",
    summary="The caller's mailbox, live: messages and delivery receipts (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`ready` first, then `message` and `delivered` events with their "
            "mailbox number as `id`, a `: ping` comment when idle, and `end` when the session "
            "ends (docs/api.md, The message stream)",
        },
        **error_responses(400, 401, 503, described=_DESCRIBED),
    },
)
async def stream_messages(
    presented: Presented,
    messaging: Messaging,
    after: Annotated[
        int | None,
        Query(ge=0, le=MESSAGE_ID_MAX, description="start after this mailbox event (0: all)"),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="what a reconnecting EventSource sends; takes precedence over `after`",
        ),
    ] = None,
) -> StreamingResponse:
    start = await in_thread(messaging.open_stream, presented, _cursor(after, last_event_id))
    return StreamingResponse(
        _stream(messaging, start, messaging.ping_interval_s),
        media_type="text/event-stream",
        headers=STREAM_HEADERS,
    )


def _cursor(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is None:
        return after
    if not last_event_id.isascii() or not last_event_id.isdigit() or len(last_event_id) > 10:
        raise InvalidRequest("The Last-Event-ID header must be the number of a mailbox event.")
    return min(int(last_event_id), MESSAGE_ID_MAX)


async def _stream(
    messaging: MessagingService, start: StreamStart, ping_interval_s: float
) -> AsyncIterator[str]:
    fanout = messaging.fanout
    waiter = fanout.subscribe(start.user_id, start.session_id, start.after)
    messaging.stream_checks.keep_running()
    try:
        ready = StreamReady(last_event_id=start.after).model_dump_json()
        yield _frame("ready", ready, start.after)
        while not fanout.hub.closed:
            try:
                poll = await to_thread.run_sync(
                    messaging.poll_stream, start, waiter.after, limiter=messaging.stream_reads
                )
            except SQLAlchemyError as error:
                # The client reconnects after its last event, once the database is back.
                logger.warning("A message stream stopped: the database failed: %s", error)
                return
            if poll.ended is not None:
                yield _frame("end", json.dumps(poll.ended.body, separators=(",", ":")))
                return
            if poll.events:
                yield "".join(
                    _frame(event.kind, event_data(event), event.number) for event in poll.events
                )
                waiter.after = poll.events[-1].number
                if len(poll.events) == STREAM_BATCH:
                    continue
            # Idle, it only pings: the periodic check wakes it if a wake-up was lost. It reads
            # again when woken, or once its session's end has come.
            while not await waiter.wait(_wait_s(ping_interval_s, poll.ends_at)):
                if poll.ends_at is not None and utc_now() >= poll.ends_at:
                    break
                yield ": ping\n\n"
    finally:
        fanout.unsubscribe(waiter)


def _frame(kind: str, data: str, event_id: int | None = None) -> str:
    """One event. `data` is JSON, which never holds a line break."""
    number = "" if event_id is None else f"id: {event_id}\n"
    return f"{number}event: {kind}\ndata: {data}\n\n"


def _wait_s(ping_interval_s: float, ends_at: datetime | None) -> float:
    """Until the next ping, or just past the session's end if that comes first."""
    if ends_at is None:
        return ping_interval_s
    return min(ping_interval_s, (ends_at - utc_now()).total_seconds() + _PAST_THE_END_S)

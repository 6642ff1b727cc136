"""The messages panel of the signed-in view: what "Send" does, the history, and the live stream.

The panel follows the stream from an asyncio task: it opens the stream through a `StreamOpener`
(`webapp.browser.fetch_stream` in the browser) and awaits each piece of the body, so Python
handles clicks while the stream is open. Each connection resumes after the last event id seen
(`StreamCursor`), so a reconnection loses and repeats nothing; the first one starts after the
newest event, and the history, read once its `ready` event has fixed that point, covers what came
before (a stream that cannot open at first does not keep the history from showing: it is read
then, and again once a stream starts). A connection that fails, breaks off or falls silent is
made again after the app's backoff, then every `backoff.max_s` while the page is open, and at once
when the browser comes back online. An `end` event, or a refusal of the session as the stream
opens, rejects the session: the client drops it and the app shows the login form with the reason.

Messages addressed to this user are marked delivered as they arrive (and, at load, those that
arrived while no page of this user was open), so that their senders see the mark.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from authclient import Backoff, SessionClient, errors, protocol, user_message
from authclient.messaging import (
    Delivery,
    Message,
    Messenger,
    SseParser,
    StreamCursor,
    StreamEvent,
    parse_recipients,
)

from . import views
from .inbox import Inbox, Thread
from .page import Page
from .streaming import StreamOpener, read_whole_response
from .tasks import cancel, sleep_or_wake
from .views import Notice, StreamState

__all__ = ["CONVERSATIONS_SHOWN", "MESSAGES_SHOWN", "STALL_TIMEOUT_S", "MessagesPanel"]

logger = logging.getLogger("webapp")

# How much history the panel reads at once: the newest conversations, and the newest messages
# of the open one ("Show older messages" reads more).
CONVERSATIONS_SHOWN = 30
MESSAGES_SHOWN = 30
# The service sends a comment at least every 15 s: a connection silent this long is dead.
STALL_TIMEOUT_S = 45.0

NO_RECIPIENT = "Say who the message is for: one or more usernames in “To”."


class MessagesPanel:
    """The panel of the user signed in on `client`, drawn on `page`; `on_rejected` is called
    once the service has refused the session (the client has dropped it by then)."""

    def __init__(
        self,
        client: SessionClient,
        page: Page,
        opener: StreamOpener,
        *,
        on_rejected: Callable[[errors.SessionRejected], None],
        backoff: Backoff,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        self.client = client
        self.messenger = Messenger(client)
        self.page = page
        self.opener = opener
        self.backoff = backoff
        self.stall_timeout_s = stall_timeout_s
        self._on_rejected = on_rejected
        self.inbox: Inbox | None = None
        self.state: StreamState = "connecting"
        self._problem: str | None = None
        self._retry_in_s: float | None = None
        self._cursor = StreamCursor(backoff)
        self._history_read = False
        self._history_problem: Notice | None = None
        self._send_problem: Notice | None = None
        self._to_mark: set[int] = set()
        self._following: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def __repr__(self) -> str:
        return f"MessagesPanel(state={self.state!r}, inbox={self.inbox!r})"

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        """The signed-in view was drawn: fill the panel, and follow the stream (once)."""
        user_id = self.client.user_id
        if user_id is None:
            return
        if self.inbox is None or self.inbox.me != user_id:
            self.stop()
            self.inbox = Inbox(user_id)
        else:
            self.draw()  # the view was drawn again: put back what the panel holds
        if self._following is None:
            self._following = asyncio.ensure_future(self._follow())

    def stop(self) -> None:
        """Signed out (or another user signs in): close the stream, forget the messages."""
        cancel(self._following)
        self._following = None
        self.inbox = None
        self.state = "connecting"
        self._problem = self._retry_in_s = None
        self._cursor = StreamCursor(self.backoff)
        self._history_read = False
        self._history_problem = self._send_problem = None
        self._to_mark.clear()

    @property
    def following(self) -> asyncio.Task[None] | None:
        """The task that reads the stream, while there is one."""
        return self._following

    def wake(self) -> None:
        """The browser is back online, or the tab visible: reconnect now if waiting to."""
        self._wake.set()

    # -- actions -------------------------------------------------------------------------

    def send(self, fields: dict[str, str]) -> None:
        """Send what the form holds. On success the "Message" field is emptied; on failure what
        was typed stays, and the reason is said beside it."""
        if self.inbox is None:
            return
        sent: list[Message] = []

        def send() -> None:
            recipients = parse_recipients(fields.get("to", ""))
            if not recipients:
                raise errors.InvalidArgument(NO_RECIPIENT)
            sent.append(self.messenger.send_message(recipients, fields.get("text", "")))

        problem = self._calling(send)
        if self.inbox is None:
            return  # the session ended meanwhile
        if problem is not None or self._send_problem is not None:
            self.page.fill("send-notice", views.render_notice(problem))
            self._send_problem = problem
        if sent:
            self.page.set_field("messages", "text", "")
            self.inbox.add_message(sent[0], live=False)
            self._open(sent[0].conversation_id)

    def open_conversation(self, conversation_id: str) -> None:
        """Show that conversation, and address the next message to its other participants."""
        inbox = self.inbox
        if inbox is None or inbox.thread(conversation_id) is None:
            return
        thread = self._open(conversation_id)
        if thread is not None:
            self.page.set_field("messages", "to", ", ".join(thread.others(inbox.me)))

    def show_older(self, conversation_id: str) -> None:
        """Read the page of messages before the oldest one shown."""
        thread = self.inbox.thread(conversation_id) if self.inbox else None
        if thread is None:
            return
        self._history_problem = self._calling(
            lambda: self._read_messages(thread, before=min(thread.messages))
        )
        self._mark_delivered()
        self.draw_conversations()

    # -- drawing -------------------------------------------------------------------------

    def draw(self) -> None:
        self.draw_status()
        self.draw_conversations()

    def draw_status(self) -> None:
        if self.inbox is not None:
            html = views.render_stream_status(self.state, self._problem, self._retry_in_s)
            self.page.fill("stream-status", html)

    def draw_conversations(self) -> None:
        if self.inbox is None:
            return
        read = self._history_read or bool(self.inbox.conversations())
        html = views.render_conversation_list(self.inbox if read else None, self._history_problem)
        self.page.fill("conversations", html)
        self.draw_conversation()

    def draw_conversation(self) -> None:
        if self.inbox is not None:
            self.page.fill("conversation", views.render_conversation(self.inbox))

    # -- the stream ----------------------------------------------------------------------

    def _is_current(self) -> bool:
        """Whether the running task is the panel's stream task (stop() or a new start() makes
        it stale: it then ends by itself)."""
        return self._following is not None and self._following is asyncio.current_task()

    async def _follow(self) -> None:
        """Follow the stream until the session ends or the panel stops."""
        try:
            while self._is_current():
                try:
                    ended = await self._read_stream()
                except errors.NotSignedIn:
                    return  # signed out in another tab: the app says so
                except errors.AuthError as exc:
                    logger.info("The message stream failed (%s: %s)", type(exc).__name__, exc)
                    self._problem = user_message(exc)
                    if isinstance(exc, errors.Rejected):
                        # Refused, not for the session: start again from now, with the history.
                        self._cursor = StreamCursor(self.backoff)
                else:
                    if ended is not None:
                        self._on_rejected(ended)
                        return
                    self._problem = None  # closed without an error (a proxy, a restart)
                if not self._is_current():
                    return
                if not self._history_read:
                    # The stream failed before any history was shown: it may come all the same
                    # (and is read again once a stream starts).
                    self._read_history()
                self._retry_in_s = self._cursor.failed()
                self._set_state("waiting")
                await sleep_or_wake(self._wake, self._retry_in_s)
                self._retry_in_s = None
        finally:
            if self._following is asyncio.current_task():
                self._following = None

    async def _read_stream(self) -> errors.SessionRejected | None:
        """One connection, until it closes (None) or ends the session (the error; the session is
        dropped by then); raises what made it fail."""
        self._set_state("connecting")
        session = self.client.get_session()
        if session is None:
            raise errors.NotSignedIn("Not signed in")
        # A stream that starts from now (not after an event seen) needs the history up to there.
        fresh = self._cursor.after is None
        request = self.messenger.stream_request(self._cursor.after)
        try:
            async with asyncio.timeout(self.opener.timeout_s):
                connection = await self.opener.open_stream(request)
        except TimeoutError as exc:
            raise errors.Timeout(
                f"The message stream did not open in {self.opener.timeout_s} s"
            ) from exc
        ended: errors.SessionRejected | None = None
        try:
            if connection.status != 200:
                error = protocol.error_from_response(await read_whole_response(connection))
                if not isinstance(error, errors.SessionRejected):
                    raise error
                ended = error
            parser = SseParser()
            while ended is None and self._is_current():
                try:
                    async with asyncio.timeout(self.stall_timeout_s):
                        chunk = await connection.read_chunk()
                except TimeoutError as exc:
                    raise errors.Timeout(
                        f"The message stream was silent for {self.stall_timeout_s} s"
                    ) from exc
                if not chunk:
                    return None
                ended = self._take(parser.feed(chunk), fresh=fresh)
        finally:
            connection.close()
        if ended is None:
            return None
        # Another tab may have signed out (its sign-out is what ended the stream): then that is
        # what the page says, as for any sign-out in another tab.
        self.client.sync_from_storage()
        held = self.client.get_session()
        if held is None or held["sessionId"] != session["sessionId"]:
            return None
        self.client.reject_session(ended, session["sessionId"])
        return ended

    def _take(self, events: Iterable[StreamEvent], *, fresh: bool) -> errors.SessionRejected | None:
        """Apply what arrived (`fresh`: on a stream that started from now); the `end` event's
        error, if one came."""
        inbox = self.inbox
        if inbox is None:
            return None
        changed = False
        for event in events:
            try:
                value = self._cursor.take(event)
            except errors.UnexpectedResponse as exc:
                logger.warning("Skipped a malformed %r event of the stream: %s", event.kind, exc)
                continue
            if isinstance(value, errors.SessionRejected):
                return value
            if isinstance(value, Message):
                if inbox.add_message(value):
                    changed = True
                    if inbox.open_id is None:
                        inbox.open(value.conversation_id)
                if inbox.me in value.recipients and inbox.me not in value.delivered_to:
                    self._to_mark.add(value.message_id)
            elif isinstance(value, Delivery):
                changed = inbox.add_delivery(value) or changed
            elif event.kind == "ready":
                self._problem = None
                self._set_state("live")
                if fresh:
                    self._read_history()
        if changed:
            self.draw_conversations()
        self._mark_delivered()  # after drawing: what arrived shows first
        return None

    def _set_state(self, state: StreamState) -> None:
        self.state = state
        self.draw_status()

    # -- history and receipts ------------------------------------------------------------

    def _read_history(self) -> None:
        """The newest conversations, and the newest messages of the open one (the newest
        conversation, unless one was opened already)."""
        inbox = self.inbox
        if inbox is None:
            return

        def read() -> None:
            page = self.messenger.list_conversations(limit=CONVERSATIONS_SHOWN)
            inbox.add_conversations(list(page.conversations))
            thread = inbox.open(inbox.open_id)
            if thread is not None and not thread.loaded:
                self._read_messages(thread)
            self._history_read = True

        self._history_problem = self._calling(read)
        self._mark_delivered()
        self.draw_conversations()

    def _read_messages(self, thread: Thread, before: int | None = None) -> None:
        page = self.messenger.list_messages(
            thread.conversation_id, before=before, limit=MESSAGES_SHOWN
        )
        if self.inbox is not None:
            self.inbox.add_history(thread.conversation_id, list(page.messages), more=page.more)
            self._to_mark.update(self.inbox.undelivered_to_me())

    def _open(self, conversation_id: str) -> Thread | None:
        if self.inbox is None:
            return None
        thread = self.inbox.open(conversation_id)
        if thread is not None and not thread.loaded:
            self._history_problem = self._calling(lambda: self._read_messages(thread))
            self._mark_delivered()
        self.draw_conversations()
        return thread

    def _mark_delivered(self) -> None:
        """Tell the service which messages reached this user; what it cannot be told now is
        told with the next batch."""
        if not self._to_mark or self.inbox is None:
            return
        ids = sorted(self._to_mark)
        if self._calling(lambda: self.messenger.mark_delivered(ids)) is None:
            self._to_mark.difference_update(ids)

    def _calling(self, call: Callable[[], None]) -> Notice | None:
        """Make a call of the messenger: None when it worked, else what to say. A refusal of the
        session goes to `on_rejected` (which stops the panel)."""
        try:
            call()
        except errors.SessionRejected as exc:
            self._on_rejected(exc)
            return Notice(user_message(exc), "warning")
        except errors.AuthError as exc:
            logger.info("A call for the messages failed (%s: %s)", type(exc).__name__, exc)
            return Notice.for_error(exc)
        return None

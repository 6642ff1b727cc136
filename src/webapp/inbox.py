"""What the messages panel knows: the user's conversations and the messages loaded of each, kept
in order and up to date from history pages, sends and the live stream.

No I/O here, and nothing of the page: `webapp.messages_panel` feeds it, `webapp.views` draws it.
Everything is keyed by id, so the same message arriving twice (in history and on the stream, or
as the answer to a send and as its echo) is kept once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from authclient.messaging import Conversation, Delivery, Message

__all__ = ["Inbox", "Thread"]


@dataclass(slots=True)
class Thread:
    """One conversation as the page knows it: the messages it has seen of it (at least the last).

    `loaded` says whether a page of its history has been read; `more_before`, whether the service
    holds older messages than those; `unread`, whether a message from someone else arrived while
    another conversation was open.
    """

    conversation_id: str
    participants: tuple[str, ...]
    messages: dict[int, Message] = field(default_factory=dict, repr=False)
    loaded: bool = False
    more_before: bool = False
    unread: bool = False

    @property
    def last_message(self) -> Message:
        return self.messages[max(self.messages)]

    def newest_first(self) -> list[Message]:
        return sorted(self.messages.values(), key=lambda message: -message.message_id)

    def others(self, me: str) -> list[str]:
        """The participants but `me`, or `me` alone for a conversation with oneself."""
        return [name for name in self.participants if name != me] or [me]


class Inbox:
    """The conversations of user `me`, and which one the panel shows open.

    >>> Inbox("alice")
    Inbox(me='alice', conversations=0, open=None)
    """

    def __init__(self, me: str) -> None:
        self.me = me
        self.open_id: str | None = None
        self._threads: dict[str, Thread] = {}

    def __repr__(self) -> str:
        return f"Inbox(me={self.me!r}, conversations={len(self._threads)}, open={self.open_id!r})"

    # -- reading ---------------------------------------------------------------------------

    def conversations(self) -> list[Thread]:
        """Newest last message first."""
        return sorted(self._threads.values(), key=lambda thread: -thread.last_message.message_id)

    def thread(self, conversation_id: str) -> Thread | None:
        return self._threads.get(conversation_id)

    @property
    def open_thread(self) -> Thread | None:
        return self._threads.get(self.open_id) if self.open_id else None

    def undelivered_to_me(self) -> list[int]:
        """Ids of the messages addressed to `me` that the service does not know `me` has."""
        found = set()
        for thread in self._threads.values():
            for message in thread.messages.values():
                if self.me in message.recipients and self.me not in message.delivered_to:
                    found.add(message.message_id)
        return sorted(found)

    # -- learning --------------------------------------------------------------------------

    def add_conversations(self, conversations: list[Conversation]) -> None:
        for conversation in conversations:
            thread = self._threads.setdefault(
                conversation.conversation_id,
                Thread(conversation.conversation_id, tuple(conversation.participants)),
            )
            self._take(thread, conversation.last_message)

    def add_history(self, conversation_id: str, messages: list[Message], *, more: bool) -> None:
        """A page of a conversation's messages, the older ones (`more`: older still exist)."""
        for message in messages:
            self.add_message(message, live=False)
        thread = self._threads.get(conversation_id)
        if thread is not None:
            thread.loaded = True
            thread.more_before = more

    def add_message(self, message: Message, *, live: bool = True) -> bool:
        """A message sent, received or read from history; False if it was known already, with
        the same receipts. A `live` one from someone else marks its conversation unread unless
        it is the one open."""
        thread = self._threads.get(message.conversation_id)
        if thread is None:
            thread = Thread(message.conversation_id, message.participants)
            self._threads[message.conversation_id] = thread
        held = thread.messages.get(message.message_id)
        self._take(thread, message)
        if held is not None and thread.messages[message.message_id] == held:
            return False
        if live and message.sender != self.me and thread.conversation_id != self.open_id:
            thread.unread = True
        return True

    def add_delivery(self, delivery: Delivery) -> bool:
        """A recipient received a message; False when that message is not loaded here."""
        thread = self._threads.get(delivery.conversation_id)
        message = thread.messages.get(delivery.message_id) if thread else None
        if thread is None or message is None or delivery.recipient in message.delivered_to:
            return False
        delivered = {**message.delivered_to, delivery.recipient: delivery.delivered_at}
        thread.messages[message.message_id] = dataclasses.replace(message, delivered_to=delivered)
        return True

    def open(self, conversation_id: str | None) -> Thread | None:
        """Show that conversation open (None: the newest); it is read from then on."""
        if conversation_id is None:
            newest = self.conversations()
            conversation_id = newest[0].conversation_id if newest else None
        thread = self._threads.get(conversation_id) if conversation_id else None
        self.open_id = thread.conversation_id if thread else None
        if thread is not None:
            thread.unread = False
        return thread

    @staticmethod
    def _take(thread: Thread, message: Message) -> None:
        """Keep `message`; of a message held already, keep every receipt either copy has (a copy
        read earlier may hold fewer, or, from the stream, more)."""
        held = thread.messages.get(message.message_id)
        if held is not None:
            message = dataclasses.replace(
                message, delivered_to={**message.delivered_to, **held.delivered_to}
            )
        thread.messages[message.message_id] = message

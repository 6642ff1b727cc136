"""The messaging routes' request and response bodies as they are on the wire (camelCase JSON): a
message sent, a receipt, messages and conversations in pages, and the stream's events."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from authservice.api.common_bodies import ErrorBody, RequestBody, ResponseBody, Time, rule
from authservice.auth.rules import RuleBroken, check_text
from authservice.core.clock import format_time
from authservice.messaging.conversations import Page
from authservice.messaging.mailbox import MailboxEvent
from authservice.messaging.read_models import ConversationView, DeliveryView, MessageView
from authservice.messaging.rules import (
    DELIVERED_MAX,
    MESSAGE_ID_MAX,
    MESSAGE_MAX_CHARS,
    RECIPIENTS_MAX,
    check_message_text,
)

__all__ = [
    "ConversationBody",
    "ConversationPage",
    "DeliveredRequest",
    "DeliveryBody",
    "MessageBody",
    "MessagePage",
    "SendMessageRequest",
    "SentMessage",
    "StreamReady",
    "UnknownRecipientsBody",
    "event_data",
]

# Longer than any username (auth/rules.py: USERNAME_MAX_CHARS), short enough to name in an answer.
_RECIPIENT_MAX_CHARS = 64


def _check_recipient(value: str) -> str:
    check_text(value, "recipient's name")
    if not 1 <= len(value) <= _RECIPIENT_MAX_CHARS:
        raise RuleBroken(f"A recipient's name is 1 to {_RECIPIENT_MAX_CHARS} characters.")
    return value


def _check_recipients(value: list[str]) -> list[str]:
    if not 1 <= len(value) <= RECIPIENTS_MAX:
        raise RuleBroken(f"Send a message to 1 to {RECIPIENTS_MAX} users.")
    return value


def _check_message_ids(value: list[int]) -> list[int]:
    if not 1 <= len(value) <= DELIVERED_MAX:
        raise RuleBroken(f"Name 1 to {DELIVERED_MAX} messages.")
    if not all(1 <= message_id <= MESSAGE_ID_MAX for message_id in value):
        raise RuleBroken("A message id is a positive integer.")
    return value


MessageText = Annotated[
    str,
    rule(check_message_text),
    Field(
        json_schema_extra={"minLength": 1, "maxLength": MESSAGE_MAX_CHARS},
        description=f"1 to {MESSAGE_MAX_CHARS} characters, not only white space; sent as is",
    ),
]
Recipient = Annotated[
    str,
    rule(_check_recipient),
    Field(
        json_schema_extra={"minLength": 1, "maxLength": _RECIPIENT_MAX_CHARS},
        description="a username of the sender's application, in any case or width",
    ),
]


class SendMessageRequest(RequestBody):
    to: Annotated[
        list[Recipient],
        rule(_check_recipients),
        Field(
            json_schema_extra={"minItems": 1, "maxItems": RECIPIENTS_MAX},
            description="duplicates and the sender's own name are dropped",
        ),
    ]
    text: MessageText


class DeliveredRequest(RequestBody):
    message_ids: Annotated[
        list[int],
        rule(_check_message_ids),
        Field(json_schema_extra={"minItems": 1, "maxItems": DELIVERED_MAX}),
    ]


class MessageBody(ResponseBody):
    id: int = Field(description="unique in the service, increasing with time")
    conversation_id: str
    sender: str | None = Field(
        serialization_alias="from",
        description="null for a message of an account since deleted (docs/api.md, Messages)",
    )
    to: list[str] = Field(
        description="everyone in the conversation but the sender, sorted (deleted accounts left "
        "out)"
    )
    text: str
    sent_at: Time
    delivered_to: dict[str, Time] = Field(
        description="the recipients who have received it so far, and when"
    )

    @classmethod
    def of(cls, message: MessageView) -> MessageBody:
        return cls(
            id=message.message_id,
            conversation_id=message.conversation_id,
            sender=message.sender,
            to=list(message.recipients),
            text=message.text,
            sent_at=format_time(message.sent_at),
            delivered_to={
                name: format_time(moment) for name, moment in message.delivered_to.items()
            },
        )


class SentMessage(ResponseBody):
    message: MessageBody

    @classmethod
    def of(cls, message: MessageView) -> SentMessage:
        return cls(message=MessageBody.of(message))


class MessagePage(ResponseBody):
    messages: list[MessageBody] = Field(description="newest first")
    more: bool = Field(description="older ones follow: ask again with before=<the last id>")

    @classmethod
    def of(cls, page: Page[MessageView]) -> MessagePage:
        return cls(messages=[MessageBody.of(item) for item in page.items], more=page.more)


class ConversationBody(ResponseBody):
    conversation_id: str
    participants: list[str] = Field(
        description="everyone in it, the caller too, sorted (deleted accounts left out)"
    )
    deleted_accounts: int = Field(
        description="how many others it had whose account has since been deleted"
    )
    last_message: MessageBody

    @classmethod
    def of(cls, conversation: ConversationView) -> ConversationBody:
        return cls(
            conversation_id=conversation.conversation_id,
            participants=list(conversation.participants),
            deleted_accounts=conversation.deleted_accounts,
            last_message=MessageBody.of(conversation.last_message),
        )


class ConversationPage(ResponseBody):
    conversations: list[ConversationBody] = Field(description="by last message, newest first")
    more: bool = Field(
        description="older ones follow: ask again with before=<the last one's lastMessage.id>"
    )

    @classmethod
    def of(cls, page: Page[ConversationView]) -> ConversationPage:
        return cls(conversations=[ConversationBody.of(item) for item in page.items], more=page.more)


class DeliveryBody(ResponseBody):
    message_id: int
    conversation_id: str
    recipient: str
    delivered_at: Time

    @classmethod
    def of(cls, delivery: DeliveryView) -> DeliveryBody:
        return cls(
            message_id=delivery.message_id,
            conversation_id=delivery.conversation_id,
            recipient=delivery.recipient,
            delivered_at=format_time(delivery.delivered_at),
        )


class StreamReady(ResponseBody):
    """The data of the stream's first event, `ready`."""

    last_event_id: int = Field(description="the stream starts after this mailbox event")


def event_data(event: MailboxEvent) -> str:
    """The JSON of a mailbox event's `data:` line: one line."""
    if isinstance(event.item, DeliveryView):
        return DeliveryBody.of(event.item).model_dump_json()
    return MessageBody.of(event.item).model_dump_json()


class UnknownRecipientsBody(ErrorBody):
    """A refused send: with `unknown_recipients`, the names that no user has, as typed."""

    usernames: list[str] | None = Field(
        default=None, description="with `unknown_recipients` only: the names, as typed"
    )

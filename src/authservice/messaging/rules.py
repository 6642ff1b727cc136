"""Messaging's limits and the rule for a message's text: what a message, a recipient list, a page
and a receipt may hold.

    >>> check_message_text("Lunch at one?")
    'Lunch at one?'
    >>> check_message_text("   ")
    Traceback (most recent call last):
    ...
    authservice.auth.rules.RuleBroken: A message must hold more than spaces and line breaks.
"""

from __future__ import annotations

import unicodedata

from authservice.auth.rules import RuleBroken

__all__ = [
    "CONVERSATION_ID_PATTERN",
    "DELIVERED_MAX",
    "MESSAGE_ID_MAX",
    "MESSAGE_MAX_CHARS",
    "PAGE_LIMIT_DEFAULT",
    "PAGE_LIMIT_MAX",
    "RECIPIENTS_MAX",
    "check_message_text",
]

MESSAGE_MAX_CHARS = 2000
# Message ids are the database's 32-bit integers; a larger one names no message.
MESSAGE_ID_MAX = 2**31 - 1
CONVERSATION_ID_PATTERN = r"^cnv_[A-Za-z0-9_-]{22}$"
RECIPIENTS_MAX = 20
PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 100
# Message ids a receipt may name at once.
DELIVERED_MAX = 100
# The control characters a message may hold: the rest could not be shown (or, NUL, stored).
_LINE_CONTROLS = frozenset("\t\n\r")


def check_message_text(value: str) -> str:
    """The text, if it may be sent as it is (never trimmed or altered); else RuleBroken."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RuleBroken("The message contains something that is not valid text.") from None
    if any(unicodedata.category(char) == "Cc" and char not in _LINE_CONTROLS for char in value):
        raise RuleBroken(
            "A message cannot hold control characters other than tabs and line breaks."
        )
    if not value:
        raise RuleBroken("A message cannot be empty.")
    if len(value) > MESSAGE_MAX_CHARS:
        raise RuleBroken(
            f"A message is at most {MESSAGE_MAX_CHARS} characters; this one has {len(value)}."
        )
    if value.isspace():
        raise RuleBroken("A message must hold more than spaces and line breaks.")
    return value

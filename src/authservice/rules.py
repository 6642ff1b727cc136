"""The rules for user names and passwords, shared by sign-up, tickets and the API schema."""

from __future__ import annotations

import re

__all__ = [
    "PASSWORD_MAX_CHARS",
    "PASSWORD_MIN_CHARS",
    "USERNAME_PATTERN",
    "USERNAME_RULE",
    "is_valid_username",
]

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$"
USERNAME_RULE = "3 to 32 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 256

_USERNAME = re.compile(USERNAME_PATTERN)


def is_valid_username(text: str) -> bool:
    return _USERNAME.fullmatch(text) is not None

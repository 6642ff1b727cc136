"""The format of every string the API reads, and the rules for usernames and passwords.

Standard library only: `tickets.py`, which partner backends import, checks usernames with it.

Usernames are compared by their key, `NFKC(casefold(NFKC(name)))`, so `alice`, `ALICE` and a
full-width `ａｌｉｃｅ` are one account; each user keeps the name as typed at sign-up. Passwords
are NFKC-normalised before hashing, so the same password typed in NFC or NFD matches
(NIST SP 800-63B 5.1.1.2).
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import cache
from importlib import resources

__all__ = [
    "APPLICATION_KEY_PATTERN",
    "PASSWORD_MAX_CHARS",
    "PASSWORD_MAX_CHARS_AT_SIGN_IN",
    "PASSWORD_MIN_CHARS",
    "SESSION_ID_PATTERN",
    "SESSION_SECRET_PATTERN",
    "TICKET_MAX_CHARS",
    "TICKET_PATTERN",
    "USERNAME_MAX_CHARS",
    "USERNAME_MIN_CHARS",
    "USERNAME_RULE",
    "RuleBroken",
    "check_new_password",
    "check_text",
    "check_username",
    "is_common_password",
    "is_valid_username",
    "normalize_password",
    "username_key",
]

APPLICATION_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SESSION_ID_PATTERN = r"^ses_[0-9a-f]{32}$"
SESSION_SECRET_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # 256 bits, base64url without padding
TICKET_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
TICKET_MAX_CHARS = 4096

USERNAME_MIN_CHARS = 3
USERNAME_MAX_CHARS = 32
USERNAME_RULE = (
    f"{USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} letters, digits, dots, underscores or hyphens, "
    "starting with a letter or a digit"
)
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 128
# Passwords chosen before the 128-character limit (up to 256 were allowed) must still sign in.
PASSWORD_MAX_CHARS_AT_SIGN_IN = 256

_USERNAME_PUNCTUATION = frozenset("._-")
_COMMON_PASSWORDS = "common-passwords.txt.gz"  # see data/README.md


class RuleBroken(ValueError):
    """A value breaks a rule; the message is a sentence to show to the person who typed it."""


def check_text(value: str, what: str) -> str:
    """The value if it is text that can be stored and shown: no lone surrogates (which JSON
    escapes can carry but UTF-8 cannot encode) and no control characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RuleBroken(f"The {what} contains something that is not valid text.") from None
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise RuleBroken(
            f"The {what} cannot contain control characters such as a tab or a line break."
        )
    return value


def check_username(name: str) -> str:
    """The name as typed, if it is a valid username; else RuleBroken."""
    check_text(name, "username")
    if not is_valid_username(name):
        raise RuleBroken(f"A username is {USERNAME_RULE}.")
    return name


def is_valid_username(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    normalized = unicodedata.normalize("NFKC", name)
    if not USERNAME_MIN_CHARS <= len(normalized) <= USERNAME_MAX_CHARS:
        return False
    if len(name) > USERNAME_MAX_CHARS:  # the name is stored as typed
        return False
    if unicodedata.category(normalized[0])[0] not in "LN":
        return False
    return all(
        char in _USERNAME_PUNCTUATION or unicodedata.category(char)[0] in "LNM"
        for char in normalized
    )


def username_key(name: str) -> str:
    """What makes two usernames the same."""
    return _fold(name)


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_new_password(password: str, username: str | None = None) -> str:
    """The password, normalised, if it may be chosen; else RuleBroken."""
    check_text(password, "password")
    normalized = normalize_password(password)
    if len(normalized) < PASSWORD_MIN_CHARS:
        raise RuleBroken(f"Choose a password of at least {PASSWORD_MIN_CHARS} characters.")
    if len(normalized) > PASSWORD_MAX_CHARS:
        raise RuleBroken(f"Choose a password of at most {PASSWORD_MAX_CHARS} characters.")
    if is_common_password(normalized):
        raise RuleBroken(
            "This password is one of the most common passwords leaked from other sites, "
            "so it would be guessed quickly. Choose another one."
        )
    if username is not None and _fold(normalized) == _fold(username):
        raise RuleBroken("Choose a password that is not your username.")
    return normalized


def is_common_password(password: str) -> bool:
    return _fold(password) in _common_passwords()


def _fold(text: str) -> str:
    """Unicode's NFKC_Casefold, near enough: the form in which case and width do not count."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@cache
def _common_passwords() -> frozenset[str]:
    data = resources.files("authservice.auth").joinpath("data", _COMMON_PASSWORDS).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").splitlines())

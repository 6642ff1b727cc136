"""The views, rendered with Jinja2 from `templates/`: the same templates pre-render the page at build
time (CPython) and redraw it in the browser (Pyodide)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
from markupsafe import Markup

from authclient import errors, user_message

from .config import NEW_PASSWORD_MIN_CHARS

if TYPE_CHECKING:
    from authclient.messaging import Message

    from .inbox import Inbox

StreamState = Literal["connecting", "live", "waiting"]

TEMPLATES = Path(__file__).parent / "templates"

# Who a message of an account deleted since is from (docs/api.md, "Messages": `"from": null`).
DELETED_ACCOUNT = "a deleted account"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    # Every value that reaches the page is escaped, whatever the template's name.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    # The templates never change while a page runs. And checking would throw away the templates
    # compiled into the memory snapshot (compile_templates): a start writes their files anew.
    auto_reload=False,
)


def compile_templates() -> int:
    """Compile every template now (the snapshot maker does, so that a page's first view compiles
    nothing); how many."""
    names = _environment.list_templates()
    for name in names:
        _environment.get_template(name)
    return len(names)


@dataclass(frozen=True)
class Notice:
    text: str
    kind: Literal["info", "warning", "error"] = "info"

    @classmethod
    def for_error(cls, error: errors.AuthError) -> Notice:
        """The error's sentence from the error-code table; "try again later" is a warning."""
        kind: Literal["warning", "error"] = (
            "warning" if isinstance(error, errors.ServiceUnavailable) else "error"
        )
        return cls(user_message(error), kind)


LoginField = Literal["username", "password", "current-password", "new-password", "reauth-password"]


@dataclass(frozen=True)
class FieldError:
    """The service's refusal of what was typed in one field of the login form, shown beside it."""

    field: LoginField
    text: str

    @classmethod
    def for_error(cls, error: errors.AuthError) -> FieldError | None:
        """The refusal as a field's, when it is about one: a taken username, or a rule the
        service says one field broke. Not a wrong password: which of the two was wrong is not
        said."""
        text = user_message(error)
        if isinstance(error, errors.UsernameTaken):
            return cls("username", text)
        if isinstance(error, errors.InvalidRequest) and error.field == "username":
            return cls("username", text)
        if isinstance(error, errors.InvalidRequest) and error.field == "password":
            return cls("password", text)
        return None


AccountStep = Literal["change-password", "sign-out-others", "delete-account", "reauthenticate"]


@dataclass(frozen=True)
class AccountView:
    """What the signed-in view's "account" region shows: its controls (`step` None), one of them
    asking to confirm, or the password asked again before `then` (an action's name, with the
    `session` it names, if any), which the prompt describes as `doing`. `required`: the
    password must be changed before anything else (no Cancel)."""

    step: AccountStep | None = None
    notice: Notice | None = None
    field_error: FieldError | None = None
    then: str = ""
    doing: str = ""
    session: str = ""
    required: bool = False


def render_login(
    notice: Notice | None = None,
    username: str = "",
    *,
    keep_signed_in: bool = True,
    field_error: FieldError | None = None,
) -> Markup:
    return _render(
        "login.html",
        notice=notice,
        username=username,
        keep_signed_in=keep_signed_in,
        field_error=field_error,
        new_password_min_chars=NEW_PASSWORD_MIN_CHARS,
    )


def render_resuming() -> Markup:
    return _render("resuming.html")


def render_signed_in(
    session: dict[str, Any],
    *,
    resumed: bool,
    notice: Notice | None = None,
    account: AccountView | None = None,
) -> Markup:
    """The signed-in view; its device list and messages panel are filled in later
    (`render_devices`, `render_stream_status`, `render_conversation_list`, ...)."""
    return _render(
        "signed_in.html",
        user_id=session["userId"],
        resumed=resumed,
        expires_at=session["expiresAt"],
        expires_text=format_time(session["expiresAt"]),
        notice=notice,
        devices=None,
        problem=None,
        caller=None,
        state="connecting",
        retry_in_s=None,
        conversations=None,
        conversation=None,
        account=account or AccountView(),
        new_password_min_chars=NEW_PASSWORD_MIN_CHARS,
    )


def render_account(account: AccountView) -> Markup:
    """The signed-in view's "account" region."""
    return _render("account.html", account=account, new_password_min_chars=NEW_PASSWORD_MIN_CHARS)


def render_password_required(notice: Notice, field_error: FieldError | None = None) -> Markup:
    """The view that asks for a new password before anything else (the one signed in with is
    one the service's policy now refuses)."""
    account = AccountView("change-password", field_error=field_error, required=True)
    return _render(
        "password_required.html",
        notice=notice,
        account=account,
        new_password_min_chars=NEW_PASSWORD_MIN_CHARS,
    )


def render_notice(notice: Notice | None) -> Markup:
    return _render("notice.html", notice=notice)


def render_devices(devices: list[dict[str, Any]] | None, problem: str | None = None) -> Markup:
    """The signed-in view's device list, from `SessionClient.list_sessions()`; or, without one,
    what stands in its place (`problem`, or "looking them up")."""
    shown = None
    if devices is not None:
        shown = [
            {
                "session_id": device["sessionId"],
                "name": device["device"],
                "current": device["current"],
                "last_used_at": device["lastUsedAt"],
                "last_used_text": format_time(device["lastUsedAt"]),
            }
            for device in devices
        ]
    return _render("devices.html", devices=shown, problem=problem)


def render_backend(caller: dict[str, Any] | None, problem: str | None = None) -> Markup:
    """Who the application's backend says is calling (`user_id`, `bound`); or, without an
    answer, what stands in its place (`problem`, or "asking")."""
    return _render("backend.html", caller=caller, problem=problem)


def render_unreachable(retry_in_s: int | None) -> Markup:
    return _render("unreachable.html", retry_in_s=retry_in_s)


def render_stream_status(
    state: StreamState, problem: str | None = None, retry_in_s: float | None = None
) -> Markup:
    """The messages panel's line about the live stream."""
    retry = None if retry_in_s is None else max(1, round(retry_in_s))
    return _render("stream_status.html", state=state, problem=problem, retry_in_s=retry)


def render_conversation_list(inbox: Inbox | None, problem: Notice | None = None) -> Markup:
    """The user's conversations, newest first, each with its last message; None: not read yet."""
    shown = None
    if inbox is not None:
        shown = [
            {
                "id": thread.conversation_id,
                "with": ", ".join(thread.others(inbox.me)),
                "open": thread.conversation_id == inbox.open_id,
                "unread": thread.unread,
                "last": _message(thread.last_message, inbox.me),
            }
            for thread in inbox.conversations()
        ]
    return _render("conversation_list.html", conversations=shown, problem=problem)


def render_conversation(inbox: Inbox) -> Markup:
    """The open conversation's messages, newest first."""
    thread = inbox.open_thread
    if thread is None:
        return _render("conversation.html", conversation=None)
    conversation = {
        "id": thread.conversation_id,
        "with": ", ".join(thread.others(inbox.me)),
        "messages": [_message(message, inbox.me) for message in thread.newest_first()],
        "more_before": thread.more_before,
    }
    return _render("conversation.html", conversation=conversation)


def _message(message: Message, me: str) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "own": message.sender == me,
        "sender": DELETED_ACCOUNT if message.sender is None else message.sender,
        "text": message.text,
        "sent_at": message.sent_at.isoformat(),
        "sent_text": format_local_time(message.sent_at),
        "receipts": [
            {"name": name, "delivered": name in message.delivered_to} for name in message.recipients
        ],
    }


def format_local_time(
    moment: datetime, *, now: datetime | None = None, zone: tzinfo | None = None
) -> str:
    """`moment` in `zone` (by default the local one: the browser's, in Pyodide): the time alone
    on the day it is now there, else with the date.

    >>> from datetime import timedelta, timezone
    >>> tokyo, sent = timezone(timedelta(hours=9)), datetime(2026, 11, 27, 20, 5, tzinfo=timezone.utc)
    >>> format_local_time(sent, now=sent, zone=tokyo)
    '05:05'
    >>> format_local_time(sent, now=sent - timedelta(days=1), zone=tokyo)
    '28 Nov 2026, 05:05'
    """
    local = moment.astimezone(zone)
    today = (now or datetime.now(local.tzinfo)).astimezone(local.tzinfo).date()
    return local.strftime("%H:%M" if local.date() == today else "%d %b %Y, %H:%M")


def format_time(iso: str) -> str:
    """'2026-12-27T04:00:00Z' -> '27 Dec 2026, 04:00 UTC'."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.strftime("%d %b %Y, %H:%M UTC")


def _render(name: str, **context: object) -> Markup:
    # Autoescaped output is safe HTML: mark it so, or a template that includes it escapes it again.
    return Markup(_environment.get_template(name).render(**context))

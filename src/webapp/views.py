"""The views, rendered with Jinja2 from `templates/`: the same templates pre-render the page at build
time (CPython) and redraw it in the browser (Pyodide)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    # Every value that reaches the page is escaped, whatever the template's name.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class Notice:
    text: str
    kind: Literal["info", "warning", "error"] = "info"


def render_login(
    notice: Notice | None = None, username: str = "", *, keep_signed_in: bool = True
) -> Markup:
    return _render("login.html", notice=notice, username=username, keep_signed_in=keep_signed_in)


def render_resuming() -> Markup:
    return _render("resuming.html")


def render_signed_in(
    session: dict[str, Any], *, resumed: bool, notice: Notice | None = None
) -> Markup:
    """The signed-in view; its device list is filled in later (`render_devices`)."""
    return _render(
        "signed_in.html",
        user_id=session["userId"],
        resumed=resumed,
        expires_at=session["expiresAt"],
        expires_text=format_time(session["expiresAt"]),
        notice=notice,
        devices=None,
        problem=None,
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


def render_unreachable(retry_in_s: int | None) -> Markup:
    return _render("unreachable.html", retry_in_s=retry_in_s)


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

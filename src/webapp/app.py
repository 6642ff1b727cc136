"""The app: which view the page shows, and what each button does.

It holds no session state of its own: the `SessionClient` does (and keeps it in localStorage); the
app turns the client's answers into views and notices.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any, Literal

from authclient import ERROR_CODES, Backoff, SessionClient, errors, user_message

from . import views
from .page import Action, Page
from .views import Notice

__all__ = ["RETRY_BACKOFF", "App"]

logger = logging.getLogger("webapp")

# How the page retries by itself when the service cannot be reached at load: about a minute.
RETRY_BACKOFF = Backoff(initial_s=2.0, factor=2.0, max_s=30.0, max_attempts=5)


class App:
    """Needs a running asyncio loop (Pyodide's in the browser) for its retries."""

    def __init__(self, client: SessionClient, page: Page, backoff: Backoff = RETRY_BACKOFF) -> None:
        self.client = client
        self.page = page
        self.backoff = backoff
        self.view = page.initial_view()
        self._retrying: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"App(view={self.view!r}, client={self.client!r})"

    def start(self) -> None:
        """The seed's page-load logic, then the page is live."""
        self.resume()
        self.page.on_storage_change(self.client.storage_key, self.on_storage_change)
        queued = self.page.on_action(self.handle)
        self.page.mark_ready()
        for action in queued:
            self.handle(action)

    # -- resuming -------------------------------------------------------------------------

    def resume(self) -> bool:
        """Resume the stored session; True when there is a definite answer (resumed or login)."""
        result = self.client.resume_stored()
        if result.outcome == "resumed":
            self.show_signed_in(result.session, resumed=True)
        elif result.outcome == "login_needed":
            # Garbage in storage is cleared without a word; a refusal by the service is explained.
            error = result.error
            if isinstance(error, errors.Rejected):
                self.show_login(Notice(user_message(error), "warning"))
            else:
                self.show_login()
        else:
            logger.warning(
                "Auth service unreachable while resuming (%s); the session is kept", result.reason
            )
            if self._retrying is None:
                self._retrying = asyncio.ensure_future(self._retry_resume())
            return False
        return True

    async def _retry_resume(self) -> None:
        """Retry by itself with a bounded backoff; the Retry button stays available meanwhile."""
        try:
            for delay_s in self.backoff.delays():
                self.show("unreachable", views.render_unreachable(retry_in_s=math.ceil(delay_s)))
                await asyncio.sleep(delay_s)
                if self.view != "unreachable" or self.resume():
                    return
            self.show("unreachable", views.render_unreachable(retry_in_s=None))
        finally:
            self._retrying = None

    @property
    def retrying(self) -> asyncio.Task[None] | None:
        """The automatic retries in progress, if any."""
        return self._retrying

    def stop_retrying(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            self._retrying = None

    # -- actions --------------------------------------------------------------------------

    def handle(self, action: Action) -> None:
        # Submissions made on a view that has since been replaced are stale (a double click, or a
        # click queued while Python loaded and the session then resumed).
        if action.form != self.view:
            logger.info("Ignored %r from a view no longer shown", action.name)
            return
        handlers: dict[str, Callable[[], None]] = {
            "sign-in": lambda: self.sign_in(action.fields),
            "create-account": lambda: self.create_account(action.fields),
            "sign-out": self.sign_out,
            "retry": self.retry,
        }
        handler = handlers.get(action.name)
        if handler is None:
            logger.warning("Unknown action %r", action.name)
            return
        self.page.mark_busy(action.form)
        try:
            handler()
        except Exception:
            logger.exception("The %r action failed", action.name)
            self.show_login(Notice(ERROR_CODES["auth_error"].user_message, "error"))

    def sign_in(self, fields: dict[str, str]) -> None:
        username = fields.get("username", "")
        try:
            session = self.client.start(
                {"username": username, "password": fields.get("password", "")}
            )
        except errors.AuthError as exc:
            self.show_login(self.notice_for(exc), username=username)
            return
        self.show_signed_in(session, resumed=False)

    def create_account(self, fields: dict[str, str]) -> None:
        username = fields.get("username", "")
        credentials = {"username": username, "password": fields.get("password", "")}
        try:
            self.client.new_user(credentials)
            session = self.client.start(credentials)
        except errors.AuthError as exc:
            self.show_login(self.notice_for(exc), username=username)
            return
        self.show_signed_in(session, resumed=False)

    def sign_out(self) -> None:
        session = self.client.get_session()
        try:
            self.client.terminate()
        except errors.ServiceUnavailable:
            if session is not None:
                notice = Notice(
                    "Cannot reach the sign-in service to sign out. Please try again.", "error"
                )
                self.show_signed_in(session, resumed=False, notice=notice)
            return
        self.show_login(Notice("You have signed out.", "info"))

    def retry(self) -> None:
        self.stop_retrying()
        self.resume()

    # -- other tabs -----------------------------------------------------------------------

    def on_storage_change(self) -> None:
        outcome = self.client.sync_from_storage()
        if outcome == "signed_out":
            self.show_login(Notice("You signed out in another tab.", "info"))
        elif outcome == "adopted" and self.view != "signed-in":
            self.show_signed_in(self.client.get_session(), resumed=True)

    # -- views ----------------------------------------------------------------------------

    def show(self, view: str, html: str) -> None:
        self.view = view
        self.page.show(view, html)

    def show_login(self, notice: Notice | None = None, username: str = "") -> None:
        self.stop_retrying()
        # The pre-rendered form may already hold what the user typed while Python loaded: keep it.
        if self.view == "login" and notice is None and not username:
            return
        self.show("login", views.render_login(notice, username=username))

    def show_signed_in(
        self, session: dict[str, Any] | None, *, resumed: bool, notice: Notice | None = None
    ) -> None:
        if session is None:
            self.show_login()
            return
        self.show("signed-in", views.render_signed_in(session, resumed=resumed, notice=notice))

    @staticmethod
    def notice_for(error: errors.AuthError) -> Notice:
        """The error's sentence from the error-code table; "try again later" is a warning."""
        kind: Literal["warning", "error"] = (
            "warning" if isinstance(error, errors.ServiceUnavailable) else "error"
        )
        return Notice(user_message(error), kind)

"""The app: which view the page shows, and what each button does.

It holds no session state of its own: the `SessionClient` does (and keeps it in localStorage); the
app turns the client's answers into views and notices.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from authclient import Backoff, SessionClient, errors

from . import views
from .page import Action, Page
from .views import Notice

logger = logging.getLogger("webapp")

# Why a stored session was refused, as the login form tells it.
REJECTION_NOTICES = {
    "session_expired": "Your session has expired. Please sign in again.",
    "session_revoked": "Your session was ended (signed out or revoked). Please sign in again.",
    "session_unknown": "Your saved session is no longer valid. Please sign in again.",
    "unknown_application": "Your saved session belongs to an application this page does not know. Please sign in again.",
}
UNREACHABLE_NOTICE = "Cannot reach the sign-in service. Check your connection and try again."


class App:
    def __init__(self, client: SessionClient, page: Page, backoff: Backoff | None = None) -> None:
        self.client = client
        self.page = page
        self.backoff = backoff or Backoff(initial_s=2.0, factor=2.0, max_s=30.0, max_attempts=5)
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
            notice = REJECTION_NOTICES.get(result.reason or "")
            self.show_login(Notice(notice, "warning") if notice else None)
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
                self.show("unreachable", views.render_unreachable(retry_in_s=round(delay_s)))
                await asyncio.sleep(delay_s)
                if self.view != "unreachable" or self.resume():
                    return
            self.show("unreachable", views.render_unreachable(retry_in_s=None))
        finally:
            self._retrying = None

    def _stop_retrying(self) -> None:
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
        handler = {
            "sign-in": self.sign_in,
            "create-account": self.create_account,
            "sign-out": self.sign_out,
            "retry": self.retry,
        }.get(action.name)
        if handler is None:
            logger.warning("Unknown action %r", action.name)
            return
        self.page.mark_busy(action.form)
        try:
            handler(action.fields)
        except Exception:
            logger.exception("The %r action failed", action.name)
            self.show_login(Notice("Something went wrong. Please try again.", "error"))

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

    def sign_out(self, fields: dict[str, str]) -> None:
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

    def retry(self, fields: dict[str, str]) -> None:
        self._stop_retrying()
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
        self._stop_retrying()
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
        if isinstance(error, errors.InvalidCredentials):
            return Notice("Wrong username or password.", "error")
        if isinstance(error, errors.UsernameTaken):
            return Notice("That username is taken. Choose another, or sign in.", "error")
        if isinstance(error, errors.RateLimited):
            return Notice(
                f"Too many attempts. Try again in {round(error.retry_after_s or 60)} s.", "error"
            )
        if isinstance(error, errors.ServiceUnavailable):
            return Notice(UNREACHABLE_NOTICE, "warning")
        # Rejections and bad input carry a sentence meant for a person.
        return Notice(error.message, "error")

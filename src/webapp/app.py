"""The app: which view the page shows, what each button does, and what it does by itself over time
(retries, keep-alive, waiting sign-outs).

It holds no session state of its own: the `SessionClient` does (and keeps it in the page's
storage); the app turns the client's answers into views and notices, and schedules the client's
work on the asyncio loop (Pyodide's in the browser).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

from authclient import (
    ERROR_CODES,
    Backoff,
    Event,
    SessionClient,
    errors,
    public_payload,
    user_message,
)

from . import views
from .backend_panel import BackendPanel
from .messages_panel import MessagesPanel
from .page import Action, Page
from .streaming import StreamOpener
from .tasks import cancel, sleep_or_wake
from .views import AccountView, FieldError, Notice

__all__ = ["RETRY_BACKOFF", "App"]

logger = logging.getLogger("webapp")

# How the page retries by itself when the service cannot be reached (to resume at load, to refresh,
# to tell it of a sign-out): about a minute, then on the next `online` or visibility change.
RETRY_BACKOFF = Backoff(initial_s=2.0, factor=2.0, max_s=30.0, max_attempts=5)

SIGNED_OUT = "You have signed out."
SIGNED_OUT_EVERYWHERE = "You have signed out on every device."
# Said when the sign-out waits for the service: the user is signed out here all the same.
NOT_TOLD_YET = (
    "The sign-in service could not be reached; this device will tell it as soon as it can."
)
SIGNED_OUT_IN_ANOTHER_TAB = "You signed out in another tab."
DEVICE_SIGNED_OUT = "That device is signed out."
OTHERS_SIGNED_OUT = "Your other devices are signed out. This one stays signed in."
PASSWORD_CHANGED = "Your password is changed, and your other devices are signed out."
ACCOUNT_DELETED = "Your account has been deleted."
PASSWORD_CHANGE_REQUIRED = (
    "Your password is one of the most common passwords, which are guessed first. "
    "Choose a new one before going on."
)
# What asks for the password again when it was not given recently (the service's
# `reauthentication_required`), and how the prompt names it: "To <doing>, confirm that it is you."
REAUTHENTICATE_TO = {
    "sign-out-others": "sign out the other devices",
    "sign-out-everywhere": "sign out on every device",
    "revoke-session": "sign that device out",
    "delete-account": "delete your account",
}
# Forms named otherwise than the view they are part of (most forms are named after their view).
FORM_VIEWS = {"messages": "signed-in", "account": "signed-in"}


class App:
    """Needs a running asyncio loop (Pyodide's in the browser) for what it does over time."""

    def __init__(
        self,
        client: SessionClient,
        page: Page,
        stream_opener: StreamOpener,
        backoff: Backoff = RETRY_BACKOFF,
        *,
        backend: Callable[[App], BackendPanel] | None = None,
    ) -> None:
        self.client = client
        self.page = page
        self.backoff = backoff
        self.view = page.initial_view()
        self.messages = MessagesPanel(
            client, page, stream_opener, on_rejected=self.on_rejected, backoff=backoff
        )
        self._retrying: asyncio.Task[None] | None = None
        self._keeping_alive: asyncio.Task[None] | None = None
        self._revoking: asyncio.Task[None] | None = None
        self._listing: asyncio.Task[None] | None = None
        self._asking: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # What the application's own backend says of the caller (shown when signed in), if the
        # page has one.
        self.backend = backend(self) if backend is not None else None

    def __repr__(self) -> str:
        return f"App(view={self.view!r}, client={self.client!r})"

    def start(self) -> None:
        """The seed's page-load logic, then the page is live."""
        self.client.on(None, self.announce)
        self.client.on(Event.SIGNED_OUT, self.on_signed_out)
        self.resume()
        self.page.on_storage_change(self.client.storage_key, self.on_storage_change)
        self.page.on_storage_change(self.client.access_tokens_key, self.on_tokens_change)
        self.page.on_script_request(self.answer_script)
        self.page.on_online(self.on_back)
        self.page.on_visible(self.on_back)
        queued = self.page.on_action(self.handle)
        self.page.mark_ready()
        for action in queued:
            self.handle(action)
        # Sign-outs an earlier visit could not tell the service about: after the first view.
        self.send_pending_revocations()

    # -- resuming -------------------------------------------------------------------------

    def resume(self) -> bool:
        """Resume the stored session; True when there is a definite answer (resumed or login)."""
        result = self.client.resume_stored()
        if result.outcome == "resumed":
            self.show_signed_in(result.session, resumed=True)
        elif result.outcome == "login_needed":
            # A refusal by the service, or a saved session that could not be read, is explained;
            # there being none is not.
            error = result.error
            self.show_login(Notice(user_message(error), "warning") if error else None)
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
        cancel(self._retrying)
        self._retrying = None

    # -- actions --------------------------------------------------------------------------

    def handle(self, action: Action) -> None:
        try:
            self._handle(action)
        finally:
            # The page marks a form busy as it is submitted; a form that is still shown (it was
            # not redrawn) takes submissions again.
            self.page.mark_done(action.form)

    def _handle(self, action: Action) -> None:
        # Submissions made on a view that has since been replaced are stale (a double click, or a
        # click queued while Python loaded and the session then resumed).
        if FORM_VIEWS.get(action.form, action.form) != self.view:
            logger.info("Ignored %r from a view no longer shown", action.name)
            return
        fields = action.fields
        handlers: dict[str, Callable[[], None]] = {
            "sign-in": lambda: self.sign_in(fields),
            "create-account": lambda: self.create_account(fields),
            "sign-out": self.sign_out,
            "sign-out-everywhere": lambda: self.sign_out(everywhere=True),
            "revoke-session": lambda: self.revoke_session(fields.get("session", "")),
            "retry": self.retry,
            "send-message": lambda: self.messages.send(fields),
            "open-conversation": lambda: self.messages.open_conversation(
                fields.get("conversation", "")
            ),
            "older-messages": lambda: self.messages.show_older(fields.get("conversation", "")),
            "ask-change-password": lambda: self.show_account(AccountView("change-password")),
            "ask-sign-out-others": lambda: self.show_account(AccountView("sign-out-others")),
            "ask-delete-account": lambda: self.show_account(AccountView("delete-account")),
            "account-cancel": lambda: self.show_account(AccountView()),
            "change-password": lambda: self.change_password(fields),
            "sign-out-others": self.sign_out_others,
            "delete-account": self.delete_account,
            "reauthenticate": lambda: self.reauthenticate(fields),
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
        self._enter(fields, create=False)

    def create_account(self, fields: dict[str, str]) -> None:
        self._enter(fields, create=True)

    def _enter(self, fields: dict[str, str], *, create: bool) -> None:
        username = fields.get("username", "")
        credentials = {"username": username, "password": fields.get("password", "")}
        # An unchecked box is missing from the form's fields.
        keep = fields.get("keep-signed-in") == "yes"
        try:
            if create:
                self.client.new_user(credentials)
            session = self.client.start(credentials, keep_signed_in=keep)
        except errors.AuthError as exc:
            # A refusal of one field is shown beside it; anything else above the form.
            field_error = FieldError.for_error(exc)
            notice = None if field_error else Notice.for_error(exc)
            self.show_login(notice, username, keep_signed_in=keep, field_error=field_error)
            return
        if self.client.password_change_required:
            self.show_password_required()
            return
        self.show_signed_in(session, resumed=False)

    def sign_out(self, *, everywhere: bool = False) -> None:
        """Offline first: the login form at once, whatever the network does. It is drawn when the
        client has signed out here (SIGNED_OUT: memory and storage cleared), before it asks the
        service, which may take until its timeout."""
        done = Notice(SIGNED_OUT_EVERYWHERE if everywhere else SIGNED_OUT, "info")

        def signed_out_here(_event: Event, payload: dict[str, Any]) -> None:
            if payload.get("reason") == "terminate":
                self.show_login(done)

        stop = self.client.on(Event.SIGNED_OUT, signed_out_here)
        try:
            outcome = self.client.terminate(everywhere=everywhere)
        except errors.ReauthenticationRequired:
            self.ask_password_again("sign-out-everywhere")  # nothing changed, here or there
            return
        finally:
            stop()
        if outcome == "pending":
            self.show_login(Notice(f"{SIGNED_OUT} {NOT_TOLD_YET}", "info"))
            self.send_pending_revocations(at_once=False)
        elif self.view != "login":  # nothing was left to sign out of
            self.show_login(done)

    def revoke_session(self, session_id: str) -> None:
        """Sign another device out, from the device list."""
        try:
            self.client.revoke_session(session_id)
        except errors.SessionRejected as exc:
            self.on_rejected(exc)
            return
        except errors.NotSignedIn:
            return  # another tab signed out: on_signed_out said so
        except errors.ReauthenticationRequired:
            self.ask_password_again("revoke-session", session_id)
            return
        except errors.AuthError as exc:
            notice = Notice.for_error(exc)
        else:
            notice = Notice(DEVICE_SIGNED_OUT, "info")
        if not self.client.is_signed_in:  # it named this device
            self.show_login(Notice(SIGNED_OUT, "info"))
            return
        self.show_notice(notice)
        self.list_devices()

    def retry(self) -> None:
        self.stop_retrying()
        self.resume()

    # -- the account ----------------------------------------------------------------------

    def change_password(self, fields: dict[str, str]) -> None:
        """From the account's controls, or from the view that asks for a new password first."""
        required = self.view == "change-password"
        try:
            session = self.client.change_password(
                fields.get("current-password", ""), fields.get("new-password", "")
            )
        except errors.AuthError as exc:
            if not self._ended(exc):
                self._refused_password_change(exc, required=required)
            return
        done = Notice(PASSWORD_CHANGED, "info")
        if required:
            self.show_signed_in(session, resumed=False, notice=done)
            return
        self.show_account(AccountView(notice=done))
        self.wake()  # planned again from the rotated session
        self.list_devices()

    def _refused_password_change(self, error: errors.AuthError, *, required: bool) -> None:
        field_error = None
        if isinstance(error, errors.WrongPassword):
            field_error = FieldError("current-password", user_message(error))
        elif isinstance(error, errors.InvalidRequest) and error.field == "newPassword":
            field_error = FieldError("new-password", user_message(error))
        notice = None if field_error else Notice.for_error(error)
        if required:
            self.show_password_required(
                notice or Notice(PASSWORD_CHANGE_REQUIRED, "warning"), field_error
            )
        else:
            self.show_account(AccountView("change-password", notice, field_error))

    def sign_out_others(self) -> None:
        try:
            self.client.sign_out_others()
        except errors.AuthError as exc:
            self._account_refused(exc, "sign-out-others")
            return
        self.show_account(AccountView(notice=Notice(OTHERS_SIGNED_OUT, "info")))
        self.list_devices()

    def delete_account(self) -> None:
        try:
            self.client.delete_account()
        except errors.AuthError as exc:
            self._account_refused(exc, "delete-account")
            return
        self.show_login(Notice(ACCOUNT_DELETED, "info"))

    def ask_password_again(self, then: str, session_id: str = "") -> None:
        """The service wants the password again before `then`: ask for it in place."""
        self.show_account(
            AccountView(
                "reauthenticate", then=then, doing=REAUTHENTICATE_TO[then], session=session_id
            )
        )

    def reauthenticate(self, fields: dict[str, str]) -> None:
        """The password given again: then do what asked for it."""
        then, session_id = fields.get("then", ""), fields.get("session", "")
        if then not in REAUTHENTICATE_TO:
            logger.warning("Ignored a re-authentication for %r", then)
            self.show_account(AccountView())
            return
        try:
            self.client.reauthenticate(fields.get("reauth-password", ""))
        except errors.AuthError as exc:
            if self._ended(exc):
                return
            wrong = isinstance(exc, errors.WrongPassword | errors.InvalidArgument)
            field_error = FieldError("reauth-password", user_message(exc)) if wrong else None
            self.show_account(
                AccountView(
                    "reauthenticate",
                    None if wrong else Notice.for_error(exc),
                    field_error,
                    then=then,
                    doing=REAUTHENTICATE_TO[then],
                    session=session_id,
                )
            )
            return
        actions: dict[str, Callable[[], None]] = {
            "sign-out-others": self.sign_out_others,
            "sign-out-everywhere": lambda: self.sign_out(everywhere=True),
            "revoke-session": lambda: self.revoke_session(session_id),
            "delete-account": self.delete_account,
        }
        actions[then]()

    def _account_refused(self, error: errors.AuthError, then: str) -> None:
        if isinstance(error, errors.ReauthenticationRequired):
            self.ask_password_again(then)
        elif not self._ended(error):
            self.show_account(AccountView(notice=Notice.for_error(error)))

    def _ended(self, error: errors.AuthError) -> bool:
        """Whether `error` says the session is over here: then the login form says why (or,
        signed out in another tab, already has)."""
        if isinstance(error, errors.SessionRejected):
            self.on_rejected(error)
            return True
        return isinstance(error, errors.NotSignedIn)

    # -- the device list ------------------------------------------------------------------

    def list_devices(self) -> None:
        """Fill the signed-in view's device list."""
        try:
            devices = self.client.list_sessions()
        except errors.SessionRejected as exc:
            self.on_rejected(exc)
            return
        except errors.NotSignedIn:
            return  # another tab signed out: on_signed_out said so
        except errors.AuthError as exc:
            html = views.render_devices(None, problem=user_message(exc))
        else:
            html = views.render_devices(devices)
        if self.view == "signed-in":
            self.page.fill("devices", html)

    async def _list_devices_soon(self) -> None:
        try:
            await asyncio.sleep(0)  # after the view is drawn
            self.list_devices()
        finally:
            self._listing = None

    async def _ask_backend_soon(self) -> None:
        try:
            await asyncio.sleep(0)  # after the view is drawn
            if self.backend is not None and self.view == "signed-in":
                self.backend.ask()
        finally:
            self._asking = None

    # -- over time: keep-alive, waiting sign-outs, coming back ----------------------------

    async def _keep_alive(self) -> None:
        """Refresh the session while the page stays open (the client's plan says when)."""
        try:
            failures = self.backoff.delays()
            while True:
                result = self.client.keep_session_alive()
                if result.outcome in ("rejected", "signed_out", "not_signed_in"):
                    if result.outcome == "rejected" and result.error is not None:
                        self.show_login(Notice(user_message(result.error), "warning"))
                    return
                wait_s = result.next_check_s
                if result.outcome == "unreachable":
                    wait_s = _soonest(next(failures, None), wait_s)
                else:
                    failures = self.backoff.delays()
                if result.outcome == "warned":
                    self.show_notice(self._expiring_notice())
                await sleep_or_wake(self._wake, wait_s)
        finally:
            self._keeping_alive = None

    def _expiring_notice(self) -> Notice:
        session = self.client.get_session() or {}
        ends = views.format_time(
            min(session.get("expiresAt", ""), session.get("idleExpiresAt", ""))
        )
        if session.get("idleExpiresAt", "") < session.get("expiresAt", ""):
            text = f"Your session ends at {ends} unless this device reaches the sign-in service."
        else:
            text = f"Your session ends at {ends}. Sign in again then to go on."
        return Notice(text, "warning")

    def wake(self) -> None:
        """Let the keep-alive look at the session now."""
        self._wake.set()

    def send_pending_revocations(self, *, at_once: bool = True) -> None:
        """Tell the service of waiting sign-outs: now (unless `at_once` is False), then with the
        backoff while it cannot be reached."""
        cancel(self._revoking)
        self._revoking = asyncio.ensure_future(self._send_pending_revocations(at_once))

    async def _send_pending_revocations(self, at_once: bool) -> None:
        try:
            delays: Iterator[float] = self.backoff.delays()
            if not at_once:
                await asyncio.sleep(next(delays, 0.0))
            while self.client.send_pending_revocations() == "pending":
                delay_s = next(delays, None)
                if delay_s is None:
                    return  # until the browser comes back online, or the next page load
                await asyncio.sleep(delay_s)
        finally:
            self._revoking = None

    def on_back(self) -> None:
        """The browser came back online, or the tab became visible: try what waits, now."""
        if self.view == "unreachable":
            self.retry()
        self.wake()
        self.messages.wake()
        self.send_pending_revocations()

    # -- other tabs -----------------------------------------------------------------------

    def on_storage_change(self) -> None:
        outcome = self.client.sync_from_storage()
        if outcome == "adopted" and self.view != "signed-in":
            self.show_signed_in(self.client.get_session(), resumed=True)
        elif outcome == "adopted":
            self.wake()  # planned again from the session the other tab refreshed

    def on_tokens_change(self) -> None:
        """Another tab got an access token: take it, and plan the keep-alive from it."""
        if self.client.sync_access_tokens():
            self.wake()

    def on_rejected(self, error: errors.SessionRejected) -> None:
        """The service refused the session (the client has dropped it): the login form, saying
        why."""
        self.show_login(Notice(user_message(error), "warning"))

    def on_signed_out(self, _event: Event, payload: dict[str, Any]) -> None:
        """Another tab signed out. The client finds out on a storage event, or first, when it
        reads storage again before a call (a refresh, the device list)."""
        if payload.get("reason") == "storage":
            self.show_login(Notice(SIGNED_OUT_IN_ANOTHER_TAB, "info"))

    # -- events for the page's own scripts ------------------------------------------------

    def announce(self, event: Event, payload: dict[str, Any]) -> None:
        detail = public_payload(event, payload)
        detail.setdefault("signedIn", self.client.is_signed_in)
        self.page.announce(detail)

    def answer_script(self, request: dict[str, Any]) -> str | None:
        """What the page's own scripts asked (`window.appSession`): an access token (for an
        `audience`, or the application), or a DPoP proof for one request with one (`method`,
        `url`, `token`); None when signed out, and never the session secret."""
        try:
            if request.get("kind") == "access-token":
                audience = request.get("audience")
                return self.client.get_access_token(audience or None).token
            if request.get("kind") == "dpop-proof":
                method, url, token = (
                    str(request.get(name, "")) for name in ("method", "url", "token")
                )
                return self.client.make_dpop_proof(method, url, token) if token else None
        except errors.SessionRejected as exc:
            self.on_rejected(exc)
        except errors.AuthError as exc:
            logger.info("No access token for the page's scripts: %s", exc.code)
        return None

    # -- views ----------------------------------------------------------------------------

    def show(self, view: str, html: str) -> None:
        self.view = view
        self.page.show(view, html)

    def show_login(
        self,
        notice: Notice | None = None,
        username: str = "",
        *,
        keep_signed_in: bool = True,
        field_error: FieldError | None = None,
    ) -> None:
        self.stop_retrying()
        for task in (self._keeping_alive, self._listing, self._asking):
            cancel(task)
        self._keeping_alive = self._listing = self._asking = None
        self.messages.stop()
        # The pre-rendered form may already hold what the user typed while Python loaded: keep it.
        if self.view == "login" and notice is None and field_error is None and not username:
            return
        html = views.render_login(
            notice, username, keep_signed_in=keep_signed_in, field_error=field_error
        )
        self.show("login", html)

    def show_signed_in(
        self, session: dict[str, Any] | None, *, resumed: bool, notice: Notice | None = None
    ) -> None:
        if session is None:
            self.show_login()
            return
        self.show("signed-in", views.render_signed_in(session, resumed=resumed, notice=notice))
        if self._keeping_alive is None:
            self._keeping_alive = asyncio.ensure_future(self._keep_alive())
        cancel(self._listing)
        self._listing = asyncio.ensure_future(self._list_devices_soon())
        if self.backend is not None:
            cancel(self._asking)
            self._asking = asyncio.ensure_future(self._ask_backend_soon())
        self.messages.start()

    def show_password_required(
        self, notice: Notice | None = None, field_error: FieldError | None = None
    ) -> None:
        """After a sign-in with a password the service's policy now refuses: a new one first."""
        notice = notice or Notice(PASSWORD_CHANGE_REQUIRED, "warning")
        self.show("change-password", views.render_password_required(notice, field_error))

    def show_account(self, account: AccountView) -> None:
        """Replace the signed-in view's account region."""
        if self.view == "signed-in":
            self.page.fill("account", views.render_account(account))

    def show_notice(self, notice: Notice | None) -> None:
        """Replace the notice of the signed-in view."""
        if self.view == "signed-in":
            self.page.fill("notice", views.render_notice(notice))


def _soonest(*delays_s: float | None) -> float | None:
    """The shortest of the delays that are set and positive; None if none is."""
    waits = [delay for delay in delays_s if delay is not None and delay > 0]
    return min(waits) if waits else None

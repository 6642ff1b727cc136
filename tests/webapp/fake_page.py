"""A `Page` for tests in CPython: it records what the app shows, and a test acts on it as a user
would. `Profile` is a browser profile: tabs that share one localStorage and hear each other's
changes to it, as real tabs do."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from authclient.ec_signer import EcDeviceSigner
from webapp.page import Action


class FakePage:
    def __init__(self, initial_view: str = "login", queued: list[Action] | None = None) -> None:
        self.view = initial_view
        self.html = ""
        self.shown: list[str] = []
        self.busy: list[str] = []
        self.ready = False
        self._queued = list(queued or [])
        self._action_handler: Callable[[Action], None] | None = None
        self.storage_listeners: list[tuple[str, Callable[[], None]]] = []

    def __repr__(self) -> str:
        return f"FakePage(view={self.view!r}, shown={self.shown!r})"

    # -- the Page interface ------------------------------------------------------------------

    def initial_view(self) -> str:
        return self.view

    def show(self, view: str, html: str) -> None:
        self.view = view
        self.html = html
        self.shown.append(view)

    def mark_busy(self, form: str) -> None:
        self.busy.append(form)

    def mark_ready(self) -> None:
        self.ready = True

    def on_action(self, handler: Callable[[Action], None]) -> list[Action]:
        self._action_handler = handler
        queued, self._queued = self._queued, []
        return queued

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        self.storage_listeners.append((key, handler))

    # -- what a user does and sees -----------------------------------------------------------

    def press(self, button: str, form: str | None = None, **fields: str) -> None:
        """Submit `form` (the shown view's by default) with the button whose value is `button`."""
        if self._action_handler is None:
            raise RuntimeError("the app is not listening yet")
        self._action_handler(Action(button, form or self.view, fields))

    def text(self) -> str:
        """The shown view's text, without markup, spaces collapsed."""
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", self.html)).split())

    def field(self, name: str) -> str | None:
        """The value attribute of the input named `name` in the shown view, unescaped."""
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', self.html)
        return html.unescape(match[1]) if match else None


class Profile:
    """One browser profile: its localStorage, shared by its tabs, and its device key (in the
    browser a WebCrypto key in IndexedDB; here the library's signer on `cryptography`)."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.device_key = EcDeviceSigner()
        self._pages: list[FakePage] = []

    def storage_for(self, page: FakePage) -> TabStorage:
        self._pages.append(page)
        return TabStorage(self, page)

    def changed(self, key: str, by: FakePage) -> None:
        # Browsers tell the other tabs, not the one that wrote.
        for page in self._pages:
            if page is by:
                continue
            for wanted, handler in list(page.storage_listeners):
                if wanted == key:
                    handler()


class TabStorage:
    """A tab's view of its profile's localStorage."""

    def __init__(self, profile: Profile, page: FakePage) -> None:
        self._profile = profile
        self._page = page

    def get_item(self, key: str) -> str | None:
        return self._profile.items.get(key)

    def set_item(self, key: str, value: str) -> None:
        if self._profile.items.get(key) != value:
            self._profile.items[key] = value
            self._profile.changed(key, self._page)

    def remove_item(self, key: str) -> None:
        if self._profile.items.pop(key, None) is not None:
            self._profile.changed(key, self._page)

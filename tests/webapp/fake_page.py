"""A `Page` for tests in CPython: it records what the app shows and announces, and a test acts on
it as a user (or the browser) would. `Profile` is a browser profile: tabs that share one
localStorage and hear each other's changes to it, as real tabs do; each tab has its own
sessionStorage."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from authclient import MemoryStorage
from authclient.ec_signer import EcDeviceSigner
from webapp import views
from webapp.page import Action

# What the build puts in the page before Python runs (index.html).
PRERENDERED = {"login": str(views.render_login()), "resuming": str(views.render_resuming())}
_INPUT = re.compile(r"<input\b[^>]*>")


class FakePage:
    def __init__(self, initial_view: str = "login", queued: list[Action] | None = None) -> None:
        self.view = initial_view
        self.html = PRERENDERED[initial_view]
        self.shown: list[str] = []
        self.filled: list[str] = []
        self.announced: list[dict[str, Any]] = []
        self.busy: list[str] = []
        self.done: list[str] = []
        self.ready = False
        self.session_storage = MemoryStorage()
        self._queued = list(queued or [])
        self._action_handler: Callable[[Action], None] | None = None
        self.storage_listeners: list[tuple[str, Callable[[], None]]] = []
        self._online_handlers: list[Callable[[], None]] = []
        self._visible_handlers: list[Callable[[], None]] = []
        self._script_handler: Callable[[dict[str, Any]], Any] | None = None

    def __repr__(self) -> str:
        return f"FakePage(view={self.view!r}, shown={self.shown!r})"

    # -- the Page interface ------------------------------------------------------------------

    def initial_view(self) -> str:
        return self.view

    def show(self, view: str, html: str) -> None:
        self.view = view
        self.html = str(html)  # a plain string: markupsafe's Markup would escape what is added
        self.shown.append(view)

    def fill(self, region: str, html: str) -> None:
        if "<div" in html:
            raise AssertionError(f"a region holds no <div> (it is one): {region!r}")
        pattern = re.compile(rf'(<div data-region="{region}"[^>]*>).*?(</div>)', re.DOTALL)
        if not pattern.search(self.html):
            raise AssertionError(f"the shown view has no region {region!r}")
        content = str(html)
        self.html = pattern.sub(lambda match: match[1] + content + match[2], self.html, count=1)
        self.filled.append(region)

    def announce(self, detail: dict[str, Any]) -> None:
        self.announced.append(detail)

    def mark_busy(self, form: str) -> None:
        self.busy.append(form)

    def mark_done(self, form: str) -> None:
        self.done.append(form)

    def set_field(self, form: str, name: str, value: str) -> None:
        shown = _form(self.html, form)
        if shown is None:
            return
        tag = _input_named(shown[0], name)
        if tag is None:
            raise AssertionError(f"the form {form!r} has no field {name!r}")
        changed = re.sub(r'value="[^"]*"', lambda _: f'value="{html.escape(value)}"', tag)
        self.html = self.html.replace(shown[0], shown[0].replace(tag, changed, 1), 1)

    def mark_ready(self) -> None:
        self.ready = True

    def on_action(self, handler: Callable[[Action], None]) -> list[Action]:
        self._action_handler = handler
        queued, self._queued = self._queued, []
        return queued

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        self.storage_listeners.append((key, handler))

    def on_online(self, handler: Callable[[], None]) -> None:
        self._online_handlers.append(handler)

    def on_visible(self, handler: Callable[[], None]) -> None:
        self._visible_handlers.append(handler)

    def on_script_request(self, handler: Callable[[dict[str, Any]], Any]) -> None:
        self._script_handler = handler

    def script_asks(self, request: dict[str, Any]) -> Any:
        """What the page's own scripts get for `request` (as `window.appSession` sends it)."""
        if self._script_handler is None:
            raise AssertionError("the app answers no script")
        return self._script_handler(request)

    # -- what a user (or the browser) does, and sees ----------------------------------------------

    def press(self, button: str, form: str | None = None, **fields: str) -> None:
        """Submit `form` (the shown view's by default) with the button whose value is `button`,
        with `fields` and, as a browser's form does, the checked boxes of the shown view."""
        if self._action_handler is None:
            raise RuntimeError("the app is not listening yet")
        sent = {**self.checked_boxes(), **fields}
        self._action_handler(Action(button, form or self.view, sent))

    def type(self, name: str, value: str) -> None:
        """Type `value` into the shown view's field named `name` (replacing what it held)."""
        tag = _input_named(self.html, name)
        if tag is None:
            raise AssertionError(f"the shown view has no field {name!r}")
        changed = re.sub(r'value="[^"]*"', lambda _: f'value="{html.escape(value)}"', tag)
        self.html = self.html.replace(tag, changed, 1)

    def submit(self, form: str, button: str) -> None:
        """Press `button` of the shown form named `form`, with what its fields hold."""
        shown = _form(self.html, form)
        if shown is None:
            raise AssertionError(f"the shown view has no form {form!r}")
        fields = {
            name: html.unescape(value)
            for name, value in re.findall(
                r'<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"', shown[0]
            )
        }
        self.press(button, form, **fields)

    def uncheck(self, name: str) -> None:
        self.html = re.sub(rf'(<input[^>]*name="{name}"[^>]*?) checked', r"\1", self.html)

    def checked_boxes(self) -> dict[str, str]:
        boxes = {}
        for tag in _INPUT.findall(self.html):
            if 'type="checkbox"' in tag and " checked" in tag:
                name = re.search(r'name="([^"]*)"', tag)
                value = re.search(r'value="([^"]*)"', tag)
                if name:
                    boxes[name[1]] = value[1] if value else "on"
        return boxes

    def go_online(self) -> None:
        for handler in list(self._online_handlers):
            handler()

    def become_visible(self) -> None:
        for handler in list(self._visible_handlers):
            handler()

    def text(self) -> str:
        """The shown view's text, without markup, spaces collapsed."""
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", self.html)).split())

    def field(self, name: str) -> str | None:
        """The value attribute of the input named `name` in the shown view, unescaped."""
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', self.html)
        return html.unescape(match[1]) if match else None

    def field_error(self, name: str) -> str | None:
        """The refusal shown beside the field named `name`: the text of what its
        aria-describedby names with "-error", if the field is marked invalid."""
        tag = _input_named(self.html, name)
        if tag is None or 'aria-invalid="true"' not in tag:
            return None
        described = re.search(r'aria-describedby="([^"]*)"', tag)
        ids = described[1].split() if described else []
        for error_id in (id_ for id_ in ids if id_.endswith("-error")):
            found = re.search(rf'<p id="{error_id}"[^>]*>(.*?)</p>', self.html, re.DOTALL)
            if found:
                return html.unescape(found[1]).strip()
        raise AssertionError(f"the field {name!r} is marked invalid, but says nothing why")

    def buttons(self) -> dict[str, str]:
        """The shown view's buttons: accessible name (aria-label, else text) -> value."""
        found = {}
        for match in re.finditer(r"<button\b([^>]*)>(.*?)</button>", self.html, re.DOTALL):
            label = re.search(r'aria-label="([^"]*)"', match[1])
            value = re.search(r'value="([^"]*)"', match[1])
            name = html.unescape(label[1]) if label else " ".join(match[2].split())
            found[name] = value[1] if value else ""
        return found

    def device_form_fields(self, button_name: str) -> dict[str, str]:
        """The hidden fields of the form that holds the button named `button_name`."""
        for form in re.finditer(r"<form\b[^>]*>(.*?)</form>", self.html, re.DOTALL):
            if f'aria-label="{html.escape(button_name)}"' in form[1]:
                return {
                    name: html.unescape(value)
                    for name, value in re.findall(
                        r'<input type="hidden" name="([^"]*)" value="([^"]*)"', form[1]
                    )
                }
        raise AssertionError(f"no form holds a button named {button_name!r}")


def _form(page_html: str, name: str) -> re.Match[str] | None:
    return re.search(rf'<form\b[^>]*data-form="{name}"[^>]*>.*?</form>', page_html, re.DOTALL)


def _input_named(page_html: str, name: str) -> str | None:
    for tag in _INPUT.findall(page_html):
        if f'name="{name}"' in tag:
            return str(tag)
    return None


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

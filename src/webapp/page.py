"""The page, as the app sees it: the `Page` interface and the form submissions it delivers.

`webapp.browser.dom_page.DomPage` is the real one (PyScript, in the worker or on the main
thread); tests use one that records what the app shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Action", "Page"]


@dataclass(frozen=True, slots=True)
class Action:
    """A form submission: which button (`name`), on which form, with which fields."""

    name: str
    form: str
    fields: dict[str, str] = field(repr=False)

    @classmethod
    def from_json(cls, text: str) -> Action:
        """What the page's inline script sends.

        >>> Action.from_json('{"action": "sign-in", "form": "login", "fields": {"username": "a"}}')
        Action(name='sign-in', form='login')
        """
        data = json.loads(text)
        fields = {str(key): str(value) for key, value in dict(data.get("fields") or {}).items()}
        return cls(name=str(data.get("action", "")), form=str(data.get("form", "")), fields=fields)


class Page(Protocol):
    def initial_view(self) -> str:
        """The view the page shows before Python draws one ("login" or "resuming")."""
        ...

    def show(self, view: str, html: str) -> None:
        """Replace what the page shows by `html`, the view named `view`."""
        ...

    def mark_busy(self, form: str) -> None:
        """Show that the form named `form` is being handled."""
        ...

    def mark_done(self, form: str) -> None:
        """The submission of the form named `form` is handled: it takes submissions again."""
        ...

    def set_field(self, form: str, name: str, value: str) -> None:
        """Put `value` in the field named `name` of the form named `form`, if it is shown."""
        ...

    def mark_ready(self) -> None:
        """Tell the page (and its tests) that Python handles it from now on."""
        ...

    def on_action(self, handler: Callable[[Action], None]) -> list[Action]:
        """Send every later form submission to `handler`; return those made while Python loaded."""
        ...

    def on_storage_change(self, key: str, handler: Callable[[], None]) -> None:
        """Call `handler` when another tab changes `key` in the page's storage."""
        ...

    def on_online(self, handler: Callable[[], None]) -> None:
        """Call `handler` when the browser comes back online."""
        ...

    def on_visible(self, handler: Callable[[], None]) -> None:
        """Call `handler` when the tab becomes visible again."""
        ...

    def fill(self, region: str, html: str) -> None:
        """Replace what the region named `region` of the shown view holds by `html`."""
        ...

    def announce(self, detail: dict[str, Any]) -> None:
        """Tell the page's own scripts of a change of the session (`detail` holds no secret)."""
        ...

    def on_script_request(self, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Answer what the page's own scripts ask (`window.appSession.getAccessToken()`,
        `makeDpopProof()`) with `handler(request)`, a JSON value; those asked while Python loaded
        too."""
        ...

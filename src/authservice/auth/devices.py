"""Device labels: a short name for the device a session was started on, made from its User-Agent
header.

Only the label is kept, never the header itself: it names a browser and a system from two short
lists, so it tells a person which of their devices a session is without fingerprinting anyone.
Standard library only.

    >>> describe_user_agent(
    ...     "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ... )
    'Firefox on Linux'
    >>> describe_user_agent(
    ...     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    ...     "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    ... )
    'Safari on iPhone'
    >>> describe_user_agent("curl/8.5.0") is None
    True
"""

from __future__ import annotations

__all__ = ["describe_user_agent"]

# The first match wins, so a browser that also names the one it is built on comes first: Edge and
# Opera say "Chrome/", Chrome says "Safari/".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),  # HeadlessChrome/ too
    ("Safari/", "Safari"),
    ("Python-urllib/", "Python app"),
    ("python-httpx/", "Python app"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str | None) -> str | None:
    """ "<browser> on <system>", either alone, or None when the header names neither."""
    text = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in text), None)
    system = next((name for mark, name in _SYSTEMS if mark in text), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system

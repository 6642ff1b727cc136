"""Fixtures of the tests in Firefox and WebKitGTK: one browser per session, a fresh profile per test.

Each engine is a tool from outside Python: missing, its tests skip here and fail in CI
(tests/support/tools.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from harness.firefox import Firefox, FirefoxContext, FirefoxPage, find_firefox, find_node
from harness.webkit import WebKit, WebKitTools, find_minibrowser, find_webkit_driver, find_xvfb
from tests.support.tools import require_tool


@pytest.fixture(scope="session")
def firefox() -> Iterator[Firefox]:
    executable = require_tool(
        "Firefox",
        find_firefox(),
        install="Debian: apt-get install firefox-esr; or set FIREFOX_PATH",
    )
    node = require_tool("Node.js", find_node(), install="Debian: apt-get install nodejs npm")
    with closing(Firefox(executable, node=node)) as browser:
        yield browser


@pytest.fixture
def firefox_context(firefox: Firefox) -> Iterator[FirefoxContext]:
    """A fresh profile: its own storage, cache and records."""
    context = firefox.new_context()
    yield context
    context.close()


@pytest.fixture
def firefox_page(firefox_context: FirefoxContext) -> FirefoxPage:
    return firefox_context.new_page()


@pytest.fixture(scope="session")
def webkit() -> Iterator[WebKit]:
    tools = WebKitTools(
        driver=require_tool(
            "WebKitWebDriver",
            find_webkit_driver(),
            install="Debian: apt-get install webkit2gtk-driver",
        ),
        browser=require_tool(
            "WebKitGTK's MiniBrowser",
            find_minibrowser(),
            install="Debian: apt-get install libwebkit2gtk-4.1-0",
        ),
        xvfb=require_tool("Xvfb", find_xvfb(), install="Debian: apt-get install xvfb"),
    )
    with closing(WebKit(tools)) as browser:
        yield browser

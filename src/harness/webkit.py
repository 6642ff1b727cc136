"""WebKitGTK for the tests and benchmarks: Debian's WebKitWebDriver and MiniBrowser, under Xvfb.

WebKitGTK is the engine of GNOME Web and of Linux webviews. Selenium's `webdriver.WebKitGTK` drives
it; Selenium can download nothing here, so every path is given and `SE_OFFLINE` is set. MiniBrowser
is a GTK window even in automation, so it gets a virtual X display of its own.

    with closing(WebKit()) as webkit:
        webkit.driver.get("http://127.0.0.1:8000/")
        webkit.driver.execute_script("return typeof SharedArrayBuffer")
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from selenium import webdriver
from selenium.webdriver.webkitgtk.options import Options
from selenium.webdriver.webkitgtk.service import Service

__all__ = [
    "WebKit",
    "WebKitTools",
    "find_minibrowser",
    "find_webkit",
    "find_webkit_driver",
    "find_xvfb",
]

DRIVER_CANDIDATES = ("WebKitWebDriver",)
BROWSER_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/libexec/webkit2gtk-4.1/MiniBrowser",
)
XVFB_CANDIDATES = ("Xvfb",)
PAGE_LOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class WebKitTools:
    driver: str
    browser: str
    xvfb: str


def find_webkit() -> WebKitTools | None:
    """WebKitWebDriver, MiniBrowser and Xvfb, or None when one is missing."""
    driver, browser, xvfb = find_webkit_driver(), find_minibrowser(), find_xvfb()
    return WebKitTools(driver, browser, xvfb) if driver and browser and xvfb else None


def find_webkit_driver() -> str | None:
    return os.environ.get("WEBKIT_DRIVER_PATH") or _first_found(DRIVER_CANDIDATES)


def find_minibrowser() -> str | None:
    """WebKitGTK's MiniBrowser (in Debian's libwebkit2gtk-4.1-0): `WEBKIT_BROWSER_PATH`, else its
    usual places."""
    return os.environ.get("WEBKIT_BROWSER_PATH") or _first_found(BROWSER_CANDIDATES)


def find_xvfb() -> str | None:
    return _first_found(XVFB_CANDIDATES)


class WebKit:
    """An Xvfb display, and a MiniBrowser on it under WebKitWebDriver, until `close()`; `driver` is
    Selenium's."""

    def __init__(self, tools: WebKitTools | None = None) -> None:
        # A given driver path already makes Selenium skip Selenium Manager, which would download;
        # this keeps it offline should that ever change.
        os.environ.setdefault("SE_OFFLINE", "true")
        tools = tools or find_webkit()
        if tools is None:
            raise FileNotFoundError("WebKitGTK needs WebKitWebDriver, MiniBrowser and Xvfb")
        self.tools = tools
        self._xvfb, display = _start_xvfb(tools.xvfb)
        try:
            options = Options()
            options.binary_location = tools.browser
            options.add_argument("--automation")
            service = Service(executable_path=tools.driver, env={**os.environ, "DISPLAY": display})
            self.driver = webdriver.WebKitGTK(options=options, service=service)
        except BaseException:
            self._stop_xvfb()
            raise
        self.driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
        self.version: str = self.driver.capabilities.get("browserVersion", "")

    def __repr__(self) -> str:
        return f"WebKit({self.version!r})"

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self._stop_xvfb()

    def _stop_xvfb(self) -> None:
        self._xvfb.terminate()
        try:
            self._xvfb.wait(10)
        except subprocess.TimeoutExpired:
            self._xvfb.kill()
            self._xvfb.wait()


def _first_found(candidates: tuple[str, ...]) -> str | None:
    return next(filter(None, map(shutil.which, candidates)), None)


def _start_xvfb(xvfb: str) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on the first free display; `-displayfd` makes it write the number once it is ready."""
    read_end, write_end = os.pipe()
    command = [xvfb, "-displayfd", str(write_end), "-nolisten", "tcp"]
    command += ["-screen", "0", "1280x1024x24"]
    process = subprocess.Popen(command, pass_fds=[write_end], stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as ready:
        number = ready.readline().strip().decode()
    if not number:
        process.wait()
        raise RuntimeError(f"Xvfb exited with {process.returncode} before it was ready")
    return process, f":{number}"

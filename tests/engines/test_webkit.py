"""WebKitGTK (Debian's WebKitWebDriver and MiniBrowser, through Selenium): the engine of GNOME Web
and of Linux webviews, which isolates the page but gives it no SharedArrayBuffer, so no Python worker
can reach the page there: the app runs on the page's main thread instead.

WebKitWebDriver shows nothing of the console; the page's own state (<html data-python>, the status
line) says what happened, and every wait stops as soon as the page says Python will not start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from harness.processes import Stack
from harness.python_start import READ_PYTHON_START, check_python_start, start_not_decided
from harness.webkit import WebKit
from tests.support.accounts import PASSWORD, new_username
from tests.support.backend import (
    ASK_TOKEN,
    CALL_BACKEND_FROM_SCRIPT,
    WHOAMI,
    backend_says,
    claims,
)

# Python starts on the page's main thread in WebKitGTK: about 20 s on 2 idle cores. Under a load
# of 6 on 2 cores (other browser tests beside), boot plus the first request once took over 120 s.
BOOT_TIMEOUT_S = 240


@pytest.fixture
def driver(webkit: WebKit, stack: Stack) -> Iterator[WebDriver]:
    """The session's MiniBrowser; what a test stored in our origin is cleared after it."""
    yield webkit.driver
    webkit.driver.get(stack.url + "/v1/health")
    webkit.driver.execute_script("localStorage.clear(); sessionStorage.clear();")


def visible(driver: WebDriver, xpath: str) -> WebElement:
    """The element once it is visible; PythonDidNotStart as soon as the page gives up instead, and
    where the page stood if the wait runs out."""
    element_shown = expected_conditions.visibility_of_element_located((By.XPATH, xpath))

    def shown_unless_failed(driver: WebDriver) -> WebElement | bool:
        check_python_start(driver.execute_script(f"return {READ_PYTHON_START};"))
        return element_shown(driver)

    try:
        return WebDriverWait(driver, BOOT_TIMEOUT_S).until(shown_unless_failed)
    except TimeoutException:
        page = driver.execute_script(
            f"return {{...{READ_PYTHON_START}, view: document.documentElement.dataset.view, "
            "app: document.getElementById('app').innerText.trim()};"
        )
        raise AssertionError(
            f"{xpath} not visible within {BOOT_TIMEOUT_S} s; the page: {page}"
        ) from None


def python_ready(driver: WebDriver) -> None:
    """Waits for Python to be ready on the page. A start slower than the page's own limit (90 s; it
    happens on 2 cores busy with other browser tests) drops what was clicked meanwhile, as it
    should, so a test that means to walk the app waits for Python before it acts."""
    try:
        WebDriverWait(driver, BOOT_TIMEOUT_S).until(
            lambda driver: check_python_start(driver.execute_script(f"return {READ_PYTHON_START};"))
        )
    except TimeoutException:
        start = driver.execute_script(f"return {READ_PYTHON_START};")
        raise start_not_decided(start, BOOT_TIMEOUT_S) from None


def fill(driver: WebDriver, label: str, value: str) -> None:
    field = visible(driver, f"//*[@id=//label[normalize-space()='{label}']/@for]")
    field.clear()
    field.send_keys(value)


def click_button(driver: WebDriver, name: str) -> None:
    visible(driver, f"//button[normalize-space()='{name}']").click()


def test_webkitgtk_isolates_the_page_but_gives_it_no_shared_array_buffer(
    stack: Stack, driver: WebDriver
) -> None:
    driver.get(stack.url + "/")

    facts = driver.execute_script(
        """return {
            isolated: crossOriginIsolated,
            sharedArrayBuffer: typeof SharedArrayBuffer,
            status: document.getElementById("python-status").textContent.trim(),
        };"""
    )

    assert facts["isolated"] is True
    # A limit of WebKit's Linux ports (Safari exposes it under COOP/COEP): why the app needs a
    # main-thread fallback there.
    assert facts["sharedArrayBuffer"] == "undefined"
    assert facts["status"], "the page says what it is doing"


def test_webkitgtk_walk_create_account_call_the_backend_reload_resume_and_sign_out(
    stack: Stack, driver: WebDriver
) -> None:
    """Python on WebKitGTK's main thread has no JSPI, so it cannot wait for WebCrypto: the session
    is not bound to a device key, and the backend gets a Bearer token (no DPoP proof), which it
    takes as such (docs/security.md)."""
    username = new_username()
    driver.get(stack.url + "/")
    python_ready(driver)
    fill(driver, "Username", username)
    fill(driver, "Password", PASSWORD)
    click_button(driver, "Create account")
    assert visible(driver, "//*[@data-field='user-id']").text == username
    assert driver.execute_script("return document.documentElement.dataset.pythonThread") == "main"
    said = visible(driver, "//*[@data-field='backend-caller']").text
    assert said == backend_says(username, bound=False)
    called = driver.execute_script(
        f"return ({CALL_BACKEND_FROM_SCRIPT})(arguments[0]);", stack.url + WHOAMI
    )
    assert called["status"] == 200, called
    assert called["body"] == {**called["body"], "userId": username, "boundToDevice": False}
    assert "cnf" not in claims(called["token"])

    driver.refresh()

    visible(driver, "//*[@data-field='origin'][normalize-space()='Resumed from your last visit']")
    assert visible(driver, "//*[@data-field='user-id']").text == username

    click_button(driver, "Sign out")
    visible(driver, "//*[normalize-space()='You have signed out.']")
    assert driver.execute_script(f"return ({ASK_TOKEN})();") is None

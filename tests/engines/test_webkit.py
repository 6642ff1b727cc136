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


def test_webkitgtk_walk_create_account_then_a_reload_resumes_on_the_main_thread(
    stack: Stack, driver: WebDriver
) -> None:
    username = new_username()
    driver.get(stack.url + "/")
    python_ready(driver)
    fill(driver, "Username", username)
    fill(driver, "Password", PASSWORD)
    click_button(driver, "Create account")
    assert visible(driver, "//*[@data-field='user-id']").text == username
    assert driver.execute_script("return document.documentElement.dataset.pythonThread") == "main"

    driver.refresh()

    visible(driver, "//*[@data-field='origin'][normalize-space()='Resumed from your last visit']")
    assert visible(driver, "//*[@data-field='user-id']").text == username

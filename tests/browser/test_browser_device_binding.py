"""Sessions bound to the browser's device key (static/device-key.mjs, docs/security.md): what only a
real browser shows. The service's rules are tested in tests/service/test_service_device_binding.py,
the app's reactions in CPython in tests/webapp."""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import Page, expect

from harness.browser_pages import store_value, stored_value
from harness.processes import Stack
from tests.browser.test_browser_sessions import create_account, login_form
from tests.support.accounts import new_username
from tests.support.browser import Recorder

LOST_OR_COPIED = "bound to another browser, or to a key this browser no longer has"

# The device key of this page's application, read back from IndexedDB as the page keeps it.
READ_KEY_PAIR = """async (name) => {
  const database = await new Promise((resolve, reject) => {
    const opening = indexedDB.open("device-keys");
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  const pair = await new Promise((resolve, reject) => {
    const asked = database.transaction("keys").objectStore("keys").get(name);
    asked.onsuccess = () => resolve(asked.result);
    asked.onerror = () => reject(asked.error);
  });
  database.close();
  return pair;
}"""


def test_a_session_copied_into_another_browser_is_refused_there_and_still_resumes_here(
    stack: Stack, page: Page, new_context: Callable[[], Callable[[], Page]], recorder: Recorder
) -> None:
    page.goto(stack.url + "/")
    create_account(page, new_username())
    copied = stored_value(page, stack.storage_key)
    assert copied is not None

    elsewhere = new_context()()
    elsewhere.goto(stack.url + "/")
    expect(login_form(elsewhere)).to_be_visible()
    store_value(elsewhere, stack.storage_key, copied)
    elsewhere.reload()

    expect(login_form(elsewhere)).to_be_visible()
    expect(elsewhere.locator("#app")).to_contain_text(LOST_OR_COPIED)
    assert stored_value(elsewhere, stack.storage_key) is None
    refused = [json.loads(line) for line in stack.output.splitlines() if "proof_refused" in line]
    assert [(event["error"], event["reason"]) for event in refused] == [
        ("proof_required", "missing")
    ]
    assert refused[0]["session"] == json.loads(copied)["sessionId"]

    page.reload()
    expect(page.locator("#app > [data-view=signed-in]")).to_be_visible()
    resumes = [r for r in recorder.requests if r.url.endswith("/v1/sessions/resume")]
    assert resumes and all("session-proof" in r.headers for r in resumes[-1:])


def test_a_lost_device_key_gives_the_login_form_with_a_sentence_and_drops_the_session(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    page.goto(stack.url + "/")
    create_account(page, new_username())

    # Site data partly cleared: IndexedDB gone, localStorage kept.
    page.evaluate("indexedDB.deleteDatabase('device-keys')")
    page.reload()

    expect(login_form(page)).to_be_visible()
    expect(page.locator("#app")).to_contain_text(LOST_OR_COPIED)
    assert stored_value(page, stack.storage_key) is None
    assert recorder.page_errors == []


def test_the_private_key_cannot_be_read_out_of_the_page(stack: Stack, page: Page) -> None:
    page.goto(stack.url + "/")
    create_account(page, new_username())

    outcome = page.evaluate(
        f"""async (name) => {{
          const pair = await ({READ_KEY_PAIR})(name);
          try {{
            await crypto.subtle.exportKey("jwk", pair.privateKey);
            return "exported";
          }} catch (error) {{
            return `${{error.name}} ${{pair.privateKey.extractable}}`;
          }}
        }}""",
        stack.application_key,
    )

    assert outcome == "InvalidAccessError false"

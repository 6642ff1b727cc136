"""What the page's own scripts get from `window.appSession` (App.answer_script): an access token
of the session, held and not asked for again while it lasts, and a DPoP proof made with the device
key; never the session secret, and nothing once signed out or for a question it does not know."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.in_process import InProcessTransport
from tests.webapp.conftest import in_process_service, tab_opener
from tests.webapp.fake_page import Profile
from tests.webapp.helpers import OpenTab, Service, Tab, stored

ASK_TOKEN = {"kind": "access-token", "audience": None}
URL = "http://auth.test/api/whoami"


@pytest.fixture(scope="module")
def issuing_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service that issues access tokens, naming the address the tabs reach it at."""
    data_dir = Path(tmp_path_factory.mktemp("auth-issuing"))
    with in_process_service(
        data_dir, "webapp-tokens", issuer=InProcessTransport.AUTH_URL
    ) as running:
        yield running


@pytest.fixture
def open_issuing_tab(issuing_service: Service, profile: Profile) -> OpenTab:
    return tab_opener(issuing_service, profile)


def signed_in(open_tab: OpenTab, service: Service) -> tuple[Tab, str]:
    tab = open_tab()
    credentials = service.new_user()
    tab.page.press("sign-in", **credentials)
    assert tab.page.view == "signed-in"
    return tab, credentials["username"]


def part(jws: str, index: int) -> dict[str, Any]:
    """One JSON part of a JWS, unverified."""
    text = jws.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return decoded


def claims(token: str) -> dict[str, Any]:
    return part(token, 1)


def tokens_asked(tab: Tab) -> int:
    return tab.transport.paths_sent().count("/tokens")


async def test_scripts_get_a_token_of_the_session_held_while_it_lasts_never_the_secret(
    open_issuing_tab: OpenTab, issuing_service: Service, profile: Profile
) -> None:
    tab, username = signed_in(open_issuing_tab, issuing_service)
    secret = stored(profile, issuing_service)["sessionSecret"]

    first = tab.page.script_asks(ASK_TOKEN)
    again = tab.page.script_asks(ASK_TOKEN)

    assert claims(first)["sub"] == username
    assert "jkt" in claims(first)["cnf"], "the tab's session is bound to the profile's key"
    assert again == first and tokens_asked(tab) == 1
    assert secret not in first


async def test_scripts_get_a_dpop_proof_for_one_request_with_the_device_key(
    open_issuing_tab: OpenTab, issuing_service: Service
) -> None:
    tab, _ = signed_in(open_issuing_tab, issuing_service)
    token = tab.page.script_asks(ASK_TOKEN)

    proof = tab.page.script_asks(
        {"kind": "dpop-proof", "method": "GET", "url": URL, "token": token}
    )

    header, proof_claims = part(proof, 0), part(proof, 1)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert (proof_claims["htm"], proof_claims["htu"]) == ("GET", URL)


async def test_signed_out_scripts_get_nothing_at_once(
    open_issuing_tab: OpenTab, issuing_service: Service
) -> None:
    tab, _ = signed_in(open_issuing_tab, issuing_service)
    assert tab.page.script_asks(ASK_TOKEN) is not None

    tab.page.press("sign-out")
    asked_before = len(tab.transport.sent)

    assert tab.page.script_asks(ASK_TOKEN) is None
    assert len(tab.transport.sent) == asked_before, "nothing is asked of the service"


async def test_a_question_the_page_does_not_know_or_a_proof_without_a_token_gets_nothing(
    open_issuing_tab: OpenTab, issuing_service: Service
) -> None:
    tab, _ = signed_in(open_issuing_tab, issuing_service)

    assert tab.page.script_asks({"kind": "session"}) is None
    assert tab.page.script_asks({"kind": "dpop-proof", "method": "GET", "url": URL}) is None

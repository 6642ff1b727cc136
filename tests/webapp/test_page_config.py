"""One `PageConfig`: the build writes it into the page, the page's script and Python read it back."""

from __future__ import annotations

import json

import pytest

from authclient import DEFAULT_TIMEOUT_S, SessionClient
from authservice.auth import rules
from webapp.config import (
    DEFAULT_AUTH_URL,
    DEFAULT_START_TIMEOUT_S,
    NEW_PASSWORD_MAX_CHARS,
    NEW_PASSWORD_MIN_CHARS,
    PageConfig,
)


def test_it_carries_the_storage_key_the_client_uses() -> None:
    config = PageConfig("app_123")

    client = SessionClient(config.application_key, "https://example.com/v1")

    assert config.storage_key == client.storage_key
    assert config.to_dict()["storageKey"] == client.storage_key


def test_its_defaults_are_the_library_s() -> None:
    config = PageConfig("app_123")

    assert (config.auth_url, config.request_timeout_s) == (DEFAULT_AUTH_URL, DEFAULT_TIMEOUT_S)
    assert config.start_timeout_s == DEFAULT_START_TIMEOUT_S


def test_what_the_build_writes_python_reads_back() -> None:
    config = PageConfig(
        "app_123", "https://auth.example.com/v1", request_timeout_s=2.5, start_timeout_s=30
    )

    assert PageConfig.from_json(json.dumps(config.to_dict())) == config


@pytest.mark.parametrize(
    "changes",
    [
        {"application_key": ""},
        {"auth_url": ""},
        {"request_timeout_s": 0},
        {"request_timeout_s": True},
        {"start_timeout_s": -1},
    ],
)
def test_bad_values_are_refused_with_a_clear_error(changes: dict[str, object]) -> None:
    values: dict[str, object] = {"application_key": "app_123", **changes}
    with pytest.raises(ValueError):
        PageConfig(**values)  # type: ignore[arg-type]


def test_a_page_without_a_complete_configuration_is_refused() -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        PageConfig.from_json('{"applicationKey": "app_123"}')


def test_the_page_tells_the_rule_for_new_passwords_that_the_service_applies() -> None:
    page_rule = PageConfig("app_123").to_dict()["newPassword"]

    assert page_rule == {"minChars": NEW_PASSWORD_MIN_CHARS, "maxChars": NEW_PASSWORD_MAX_CHARS}
    assert (NEW_PASSWORD_MIN_CHARS, NEW_PASSWORD_MAX_CHARS) == (
        rules.PASSWORD_MIN_CHARS,
        rules.PASSWORD_MAX_CHARS,
    )

"""Setting the service up: its settings and the flags made from them, applications (Python API and
CLI), CORS."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from authservice import Application, Settings, ensure_application
from authservice.admin.setting_flags import add_setting_flags, flag_name, given_settings
from authservice.database.engine import migrate_database
from tests.service.helpers import Api, RunningService, assert_error


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "authservice", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def migrated(data_dir: Path) -> Settings:
    settings = Settings(data_dir=data_dir)
    migrate_database(settings)
    return settings


def test_ensure_application_by_name_creates_once_then_returns_the_same(tmp_path: Path) -> None:
    settings = migrated(tmp_path)

    first = ensure_application(settings, name="development")

    assert first.key.startswith("app_") and len(first.secret) >= 43
    assert ensure_application(settings, name="development") == first
    assert ensure_application(settings, name="other") != first


def test_ensure_application_with_a_key_creates_it_with_that_key(tmp_path: Path) -> None:
    settings = migrated(tmp_path)

    created = ensure_application(settings, name="development", application_key="app_dev")

    assert (created.name, created.key) == ("development", "app_dev")
    assert ensure_application(settings, application_key="app_dev") == created


def test_an_application_repr_hides_the_secret() -> None:
    assert "s3cret" not in repr(Application(name="n", key="app_k", secret="s3cret"))


def test_settings_default_to_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'auth.sqlite3'}"
    assert (settings.session_ttl_s, settings.idle_ttl_s) == (30 * 86400, 7 * 86400)
    assert (settings.rotation_grace_s, settings.max_body_bytes) == (10, 16 * 1024)
    assert settings.cors_origins == ()


def test_settings_refuse_nonsense(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="session_ttl_s"):
        Settings(data_dir=tmp_path, session_ttl_s=0)


def test_serve_help_lists_every_setting_with_its_help_and_default() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "authservice", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "1000"},  # no help wrapped (it may break at a hyphen)
    )

    assert shown.returncode == 0, shown.stderr
    # One block per option: its flag, then its help (on the next line after a long flag).
    options = [" ".join(block.split()) for block in shown.stdout.split("\n  -")]
    for item in fields(Settings):
        if not item.metadata["flag"]:
            continue
        (option,) = [text for text in options if text.startswith(flag_name(item.name)[1:] + " ")]
        assert item.metadata["help"] in option and "; default: " in option, option
    # The one setting without a flag: a key on a command line is visible to the whole machine.
    assert [item.name for item in fields(Settings) if not item.metadata["flag"]] == ["server_key"]
    assert "--server-key" not in shown.stdout


def test_the_authservice_command_is_the_command_line() -> None:
    # What `pip install` puts on the PATH (docs/deploy.md runs the service with it).
    command = Path(sys.executable).with_name("authservice")

    shown = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)

    assert shown.returncode == 0, shown.stderr
    assert "serve" in shown.stdout and "sign-ticket" in shown.stdout


def test_each_flag_sets_its_setting_and_an_absent_one_keeps_the_default(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    flags = ["--data-dir", str(tmp_path), "--rotation-grace-s", "2.5", "--max-body-bytes", "100"]
    flags += ["--cors-origins", "https://a.example,https://b.example"]
    flags += ["--cors-origins", "https://c.example", "--forwarded-allow-ips", "10.0.0.2"]

    given = Settings(**given_settings(parser.parse_args(flags)))
    defaults = Settings(**given_settings(parser.parse_args([])))

    assert (given.data_dir, given.rotation_grace_s, given.max_body_bytes) == (tmp_path, 2.5, 100)
    assert given.cors_origins == ("https://a.example", "https://b.example", "https://c.example")
    assert given.forwarded_allow_ips == ("10.0.0.2",)
    assert given.session_ttl_s == Settings().session_ttl_s
    assert defaults == Settings()


def test_create_app_prints_the_secret_once_and_list_apps_never(tmp_path: Path) -> None:
    data_dir = str(migrated(tmp_path).data_dir)
    created = run_cli("create-app", "--data-dir", data_dir, "--name", "shop", "--key", "app_shop")
    assert created.returncode == 0, created.stderr
    printed: dict[str, Any] = json.loads(created.stdout)
    assert set(printed) == {"name", "applicationKey", "applicationSecret", "audiences"}
    assert (printed["name"], printed["applicationKey"]) == ("shop", "app_shop")

    listed = run_cli("list-apps", "--data-dir", data_dir)

    assert json.loads(listed.stdout) == [
        {"name": "shop", "applicationKey": "app_shop", "audiences": []}
    ]
    assert printed["applicationSecret"] not in listed.stdout


def test_an_application_s_audiences_are_registered_at_creation_and_later(tmp_path: Path) -> None:
    data_dir = str(migrated(tmp_path).data_dir)
    first, second = "https://api.shop.example", "https://files.shop.example"
    created = run_cli(
        "create-app",
        "--data-dir",
        data_dir,
        "--name",
        "shop",
        "--key",
        "app_shop",
        "--audience",
        first,
    )
    added = run_cli(
        "add-audience",
        "--data-dir",
        data_dir,
        "--application-key",
        "app_shop",
        "--audience",
        second,
    )

    assert json.loads(created.stdout)["audiences"] == [first]
    assert added.returncode == 0, added.stderr
    assert sorted(json.loads(added.stdout)["audiences"]) == [first, second]
    (listed,) = json.loads(run_cli("list-apps", "--data-dir", data_dir).stdout)
    assert sorted(listed["audiences"]) == [first, second]


def test_create_app_refuses_a_taken_name(tmp_path: Path) -> None:
    migrated(tmp_path)
    assert run_cli("create-app", "--data-dir", str(tmp_path), "--name", "shop").returncode == 0

    again = run_cli("create-app", "--data-dir", str(tmp_path), "--name", "shop")

    assert again.returncode != 0
    assert "shop" in again.stderr and "Traceback" not in again.stderr


def test_sign_ticket_without_a_secret_says_how_to_give_one() -> None:
    env_free = run_cli("sign-ticket", "--application-key", "app_x", "--user-id", "alice")

    assert env_free.returncode != 0
    assert "AUTH_APPLICATION_SECRET" in env_free.stderr


def test_cors_allows_configured_origins_only(
    fresh_service: Callable[..., RunningService],
) -> None:
    api = fresh_service(cors_origins=["http://page.test"]).api
    preflight = {
        "Origin": "http://page.test",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }

    allowed = api.request("OPTIONS", "/v1/sessions", headers=preflight)
    other = api.request("GET", "/v1/health", headers={"Origin": "http://elsewhere.test"})

    assert allowed.status == 200
    assert allowed.headers["access-control-allow-origin"] == "http://page.test"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("origin", "method"),
    [("http://elsewhere.test", "POST"), ("http://page.test", "PUT")],
    ids=["origin", "method"],
)
def test_a_refused_cors_preflight_gets_the_json_error(
    fresh_service: Callable[..., RunningService], origin: str, method: str
) -> None:
    api = fresh_service(cors_origins=["http://page.test"]).api
    preflight = {"Origin": origin, "Access-Control-Request-Method": method}

    reply = api.request("OPTIONS", "/v1/sessions", headers=preflight)

    assert_error(reply, 403, "cors_refused")
    assert "access-control-allow-origin" not in reply.headers or method == "PUT"
    assert reply.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("origin", ["null", "*", "page.test"])
def test_settings_refuse_a_cors_origin_that_is_not_one(tmp_path: Path, origin: str) -> None:
    with pytest.raises(ValueError, match="cors_origins"):
        Settings(data_dir=tmp_path, cors_origins=(origin,))


def test_without_configured_origins_there_are_no_cors_headers(api: Api) -> None:
    reply = api.request("GET", "/v1/health", headers={"Origin": "http://page.test"})

    assert "access-control-allow-origin" not in reply.headers

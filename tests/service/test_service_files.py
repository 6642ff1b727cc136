"""Files at rest: a private data folder, private database files, and application secrets that
the database alone does not give away."""

from __future__ import annotations

import base64
import secrets
import sqlite3
import stat
from pathlib import Path

import pytest

from authservice.core.sealing import SEALED_PREFIX, SecretSealer
from tests.service.helpers import start_service


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_is_0700_and_every_file_in_it_0600(tmp_path: Path, username: str) -> None:
    data_dir = tmp_path / "new-data"
    service = start_service(data_dir)
    try:
        service.api.sign_up(username)
        service.api.sign_in(username)  # writes go through the WAL

        files = {path.name: mode(path) for path in data_dir.iterdir()}
    finally:
        service.process.stop()

    assert mode(data_dir) == 0o700
    assert {"auth.sqlite3", "auth.sqlite3-wal", "auth.sqlite3-shm", "server.key"} <= set(files)
    assert set(files.values()) == {0o600}, files


def test_a_data_folder_and_database_readable_by_others_are_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "old-data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    database = data_dir / "auth.sqlite3"
    sqlite3.connect(database).close()
    database.chmod(0o644)

    service = start_service(data_dir)
    service.process.stop()

    assert (mode(data_dir), mode(database)) == (0o700, 0o600)


def test_the_database_alone_does_not_give_away_an_application_secret(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data")
    service.process.stop()
    secret = service.application.secret
    raw = b"".join(path.read_bytes() for path in (tmp_path / "data").glob("auth.sqlite3*"))
    with sqlite3.connect(tmp_path / "data" / "auth.sqlite3") as database:
        (stored,) = database.execute("SELECT secret FROM applications").fetchone()

    assert secret.encode() not in raw
    assert stored.startswith(SEALED_PREFIX) and secret not in stored


def test_a_sealed_secret_opens_only_with_its_server_key_and_for_its_application() -> None:
    key, other_key = secrets.token_bytes(32), secrets.token_bytes(32)
    sealed = SecretSealer(key).seal("the secret", "app_one")

    assert SecretSealer(key).unseal(sealed, "app_one") == "the secret"
    with pytest.raises(ValueError, match="does not open"):
        SecretSealer(other_key).unseal(sealed, "app_one")
    with pytest.raises(ValueError, match="does not open"):
        SecretSealer(key).unseal(sealed, "app_two")  # copied onto another application's row


def test_a_secret_stored_before_sealing_is_refused_until_migrated() -> None:
    sealer = SecretSealer(secrets.token_bytes(32))
    plain = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")

    with pytest.raises(ValueError, match="not sealed"):
        sealer.unseal(plain, "app_one")
    assert sealer.unseal(sealer.seal(plain, "app_one"), "app_one") == plain

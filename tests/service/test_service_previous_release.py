"""A database that the previous release made and used (tests/service/previous_release/, made by
make_previous_release.py) is migrated by this release and served: its application's secret still
opens with its server key, its users sign in, their sessions resume (a device-bound one with its
device's key), and the message one wrote is there for the other."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authclient import MemoryStorage, Messenger, SessionClient
from authclient.ec_signer import EcDeviceSigner
from authclient.errors import ProofRejected
from authservice import Application, Settings
from authservice.admin.applications import list_applications
from authservice.database.schema_versions import head_revision
from tests.service.helpers import Api, start_service

PREVIOUS_RELEASE = Path(__file__).parent / "previous_release"


def copy_previous_release(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """Its data folder, copied (the service writes to it), and what its users hold."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    for name in ("auth.sqlite3", "server.key"):
        shutil.copyfile(PREVIOUS_RELEASE / name, data_dir / name)
        (data_dir / name).chmod(0o600)
    shutil.copyfile(PREVIOUS_RELEASE / "bob-device-key.pem", tmp_path / "bob-device-key.pem")
    return data_dir, json.loads((PREVIOUS_RELEASE / "holds.json").read_text())


def resumed_client(url: str, held: dict[str, Any], **options: Any) -> SessionClient:
    client = SessionClient(held["applicationKey"], url, storage=MemoryStorage(), **options)
    client.start(held)
    return client


def test_the_previous_release_s_database_is_migrated_and_served_and_its_sessions_resume(
    tmp_path: Path,
) -> None:
    data_dir, holds = copy_previous_release(tmp_path)

    migrated = subprocess.run(
        [sys.executable, "-m", "authservice", "migrate", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert migrated.returncode == 0, migrated.stderr
    # The previous release's database is brought to this version's schema.
    assert f" to {head_revision()}" in migrated.stdout, migrated.stdout
    (application,) = list_applications(Settings(data_dir=data_dir))
    assert application == Application(
        "previous-release", holds["applicationKey"], holds["applicationSecret"]
    )
    service = start_service(data_dir)
    try:
        url = service.process.url + "/v1"
        # Bob's session is bound to his device's key: a copy without it is refused, as before.
        with pytest.raises(ProofRejected) as refused:
            resumed_client(url, holds["bob"])
        assert refused.value.code == "proof_required"
        alice = resumed_client(url, holds["alice"])
        signer = EcDeviceSigner.load_or_create(tmp_path / "bob-device-key.pem")
        bob = resumed_client(url, holds["bob"], signer=signer)
        for client, held in ((alice, holds["alice"]), (bob, holds["bob"])):
            session = client.get_session() or {}
            assert session["sessionId"] == held["sessionId"]
            assert session["sessionSecret"] != held["sessionSecret"]  # resumed: rotated
        (conversation,) = Messenger(bob).list_conversations().conversations
        assert (conversation.last_message.sender, conversation.last_message.text) == (
            "alice",
            holds["message"],
        )
        api = Api(service.process.url, application)
        assert api.sign_in("Alice", holds["password"]).status == 201
        assert api.sign_in_with_ticket(api.ticket("bob")).status == 201
    finally:
        service.process.stop()

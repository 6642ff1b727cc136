"""Makes `tests/service/previous_release/`: a SQLite database and its server key as a release of the
auth service left them, with what its users hold (test_service_previous_release.py reads them).

Run it with the release whose data the next one must take over (the checkout of that release):

    .venv/bin/python -m tests.service.make_previous_release

It talks to that release only through its command line and its HTTP API, so it makes the same
data with any release. Sessions last a century, so the test's sessions are never expired.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from authclient import MemoryStorage, Messenger, SessionClient
from authclient.ec_signer import EcDeviceSigner

FOLDER = Path(__file__).parent / "previous_release"
APPLICATION_KEY = "app_previous_release"
PASSWORD = "correct horse battery"
MESSAGE = "Written before the move into feature folders."
_CENTURY_S = 100 * 365 * 24 * 60 * 60
_SERVING = re.compile(r"serving (http://\S+/v1)/")


def make(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = Path(temporary) / "data"
        _cli("migrate", "--data-dir", str(data_dir))
        created = json.loads(
            _cli(
                "create-app",
                "--data-dir",
                str(data_dir),
                "--name",
                "previous-release",
                "--key",
                APPLICATION_KEY,
            )
        )
        device_key = Path(temporary) / "bob-device-key.pem"
        holds = _use_the_service(data_dir, EcDeviceSigner.load_or_create(device_key))
        database = data_dir / "auth.sqlite3"
        _make_self_contained(database)
        folder.mkdir(exist_ok=True)
        shutil.copyfile(database, folder / "auth.sqlite3")
        shutil.copyfile(data_dir / "server.key", folder / "server.key")
        shutil.copyfile(device_key, folder / "bob-device-key.pem")
    holds |= {"applicationKey": APPLICATION_KEY, "applicationSecret": created["applicationSecret"]}
    (folder / "holds.json").write_text(json.dumps(holds, indent=2) + "\n")


def _use_the_service(data_dir: Path, bob_signer: EcDeviceSigner) -> dict[str, object]:
    """Alice writes to Bob, whose session is bound to his device key; what each device keeps."""
    command = [sys.executable, "-m", "authservice", "serve", "--data-dir", str(data_dir)]
    command += ["--port", "0", "--no-access-log"]
    command += ["--session-ttl-s", str(_CENTURY_S), "--idle-ttl-s", str(_CENTURY_S)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = _served_url(server)
        alice = SessionClient(APPLICATION_KEY, url, storage=MemoryStorage())
        bob = SessionClient(APPLICATION_KEY, url, storage=MemoryStorage(), signer=bob_signer)
        for client, name in ((alice, "alice"), (bob, "bob")):
            client.new_user({"username": name, "password": PASSWORD})
            client.start({"username": name, "password": PASSWORD})
        Messenger(alice).send_message("bob", MESSAGE)
        return {
            "password": PASSWORD,
            "message": MESSAGE,
            "alice": alice.get_session(),
            "bob": bob.get_session(),
        }
    finally:
        server.terminate()
        server.wait(30)


def _served_url(server: subprocess.Popen[str]) -> str:
    for line in server.stdout or ():
        found = _SERVING.search(line)
        if found:
            return found.group(1)
    raise RuntimeError(f"the service stopped before serving (exit code {server.wait()})")


def _make_self_contained(database: Path) -> None:
    """One file: the write-ahead log folded in, and journal mode DELETE (the service sets WAL
    again when it opens the database)."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("VACUUM")
    finally:
        connection.close()


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "authservice", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


if __name__ == "__main__":
    make(FOLDER)

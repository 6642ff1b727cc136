"""The imports' architecture (pyproject.toml, `[tool.importlinter]`): the auth service's layers,
auth apart from messaging, nothing below the HTTP layer importing it, and no import cycle anywhere
in src/ (authservice, authclient, sitebuild, webapp, harness), type-only imports included. Checked
by import-linter's `lint-imports`; and each kind of wrong import, added to a copy of the tree,
breaks its contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("authservice", "authclient", "sitebuild", "webapp", "harness")


def lint_imports(source: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with this repository's contracts, on the packages found in `source` first."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_imports_keep_every_contract() -> None:
    done = lint_imports(ROOT / "src")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


TYPE_ONLY = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    {}\n"


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        (
            "authservice/core/clock.py",
            "from authservice.api import asgi  # noqa: F401\n",
            [
                "The auth service's layers: each imports only the layers below it",
                "Below the HTTP layer nothing imports it, nor an HTTP framework",
            ],
        ),
        (
            "authservice/auth/sessions.py",
            "from authservice.messaging import fanout  # noqa: F401\n",
            [
                "The auth service's layers: each imports only the layers below it",
                "Auth imports nothing of messaging",
            ],
        ),
        (
            "authservice/messaging/use_cases.py",
            TYPE_ONLY.format("from authservice.auth.use_cases import AuthService  # noqa: F401"),
            ["Messaging never holds AuthService: the composition root hands it a callable"],
        ),
        (
            "authservice/database/purge.py",
            "import fastapi  # noqa: F401\n",
            ["Below the HTTP layer nothing imports it, nor an HTTP framework"],
        ),
        (
            "authclient/errors.py",
            TYPE_ONLY.format("from authclient import client  # noqa: F401"),
            ["No import cycle"],
        ),
    ],
    ids=[
        "core imports HTTP",
        "auth imports messaging",
        "messaging imports AuthService for its types",
        "the database imports FastAPI",
        "a cycle of type-only imports",
    ],
)
def test_a_wrong_import_breaks_its_contract(
    tmp_path: Path, module: str, wrong_import: str, broken: list[str]
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / "src" / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    with (tmp_path / module).open("a") as file:
        file.write("\n" + wrong_import)

    done = lint_imports(tmp_path)

    assert done.returncode != 0, done.stdout
    for contract in broken:
        assert f"{contract} BROKEN" in done.stdout, done.stdout

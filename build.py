#!/usr/bin/env python3
"""Build, serve and test the app: `python3 build.py build | serve | test | screenshots`.

Only the standard library is imported at the top level, so this file runs on a fresh clone: it first
makes `.venv`, installs the locked Python packages (hash-checked) and this project (editable), then
runs itself again inside the venv, installs the npm packages, and hands over to `src/sitebuild`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
# Everything the build and the tests need, locked with hashes (`python3 build.py lock` writes it).
LOCK = ROOT / "requirements" / "dev.txt"
PROJECT = ROOT / "pyproject.toml"
NODE_MODULES = ROOT / "node_modules"
NPM_LOCK = ROOT / "package-lock.json"
# Written after a successful install: a changed lock or pyproject.toml triggers a new one.
INSTALLED_STAMP = VENV / ".requirements-installed"


def main() -> int:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed (this is {}.{}).".format(*sys.version_info[:2]))
    if not _inside_venv():
        _bootstrap()
        try:
            return subprocess.run([str(VENV_PYTHON), __file__, *sys.argv[1:]]).returncode
        except KeyboardInterrupt:
            # Ctrl-C reached the child too, which stops cleanly on its own.
            return 130
    _install_npm_packages()
    from sitebuild.cli import main as cli_main

    return cli_main(sys.argv[1:])


def _inside_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _bootstrap() -> None:
    if not VENV_PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = LOCK.read_text() + PROJECT.read_text()
    if INSTALLED_STAMP.exists() and INSTALLED_STAMP.read_text() == wanted:
        return
    print("Installing the locked Python packages into .venv ...", flush=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--quiet"]
    _run([*pip, "--require-hashes", "-r", str(LOCK)])
    # This repository's own packages (src/), editable: the lock already holds their dependencies
    # and the build backend.
    _run([*pip, "--no-deps", "--no-build-isolation", "--editable", str(ROOT)])
    INSTALLED_STAMP.write_text(wanted)


def _install_npm_packages() -> None:
    # npm writes node_modules/.package-lock.json on every install.
    installed = NODE_MODULES / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= NPM_LOCK.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        sys.exit(
            "Node.js 20 or newer with npm is needed to fetch the pinned runtime: install it (e.g. `apt-get install nodejs npm`) and run this again."
        )
    print("Installing the pinned npm packages (npm ci) ...", flush=True)
    _run([npm, "ci", "--no-audit", "--no-fund"])


def _run(argv: list[str]) -> None:
    completed = subprocess.run(argv, cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(f"Command failed with status {completed.returncode}: {' '.join(argv)}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Build, serve and test the app: `python3 build.py build | serve | test`.

Only the standard library is imported at the top level, so this file runs on a fresh clone: it first
makes `.venv`, installs the pinned Python requirements and the npm packages, then runs itself again
inside the venv, where the real work lives in `src/sitebuild`.
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
REQUIREMENTS = ROOT / "requirements.txt"
NODE_MODULES = ROOT / "node_modules"
LOCKFILE = ROOT / "package-lock.json"
# Written after a successful install, so a changed requirements.txt triggers a new one.
INSTALLED_STAMP = VENV / ".requirements-installed"


def main() -> int:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed (this is %d.%d)." % sys.version_info[:2])
    if not _inside_venv():
        _bootstrap()
        try:
            return subprocess.run([str(VENV_PYTHON), __file__, *sys.argv[1:]]).returncode
        except KeyboardInterrupt:
            # Ctrl-C reached the child too, which stops cleanly on its own.
            return 130
    _install_npm_packages()
    sys.path.insert(0, str(ROOT / "src"))
    from sitebuild.cli import main as cli_main

    return cli_main(sys.argv[1:])


def _inside_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _bootstrap() -> None:
    if not VENV_PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not INSTALLED_STAMP.exists() or INSTALLED_STAMP.read_text() != REQUIREMENTS.read_text():
        print("Installing the pinned Python packages into .venv ...", flush=True)
        _run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)])
        _put_src_on_venv_path()
        INSTALLED_STAMP.write_text(REQUIREMENTS.read_text())


def _put_src_on_venv_path() -> None:
    """So that `.venv/bin/python -m authservice` (and the other packages in src/) just works."""
    site_packages = subprocess.run(
        [str(VENV_PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site_packages) / "session-resume-src.pth").write_text(str(ROOT / "src") + "\n")


def _install_npm_packages() -> None:
    # npm writes node_modules/.package-lock.json on every install.
    installed = NODE_MODULES / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= LOCKFILE.stat().st_mtime:
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

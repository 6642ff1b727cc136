"""The commands of build.py, run inside the venv: build, serve, test, screenshots, lock."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from authclient import DEFAULT_TIMEOUT_S
from webapp.config import (
    DEFAULT_AUTH_URL,
    DEFAULT_BACKEND_URL,
    DEFAULT_START_TIMEOUT_S,
    PageConfig,
)

from . import server
from .chromium import find_chromium
from .paths import DATA, DIST, ROOT
from .site import build, read_page_config

__all__ = ["DEVELOPMENT_APPLICATION_KEY", "main"]

# What a build signs in to unless told otherwise: `serve` makes sure its data dir has it, so the
# build itself needs no database.
DEVELOPMENT_APPLICATION_KEY = "app_development"
DEVELOPMENT_APPLICATION_NAME = "development"
# The locks, from pyproject.toml: running the service; building and testing everything.
SERVICE_LOCK = ROOT / "requirements" / "service.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
# Where `screenshots` leaves its pictures by default (git-ignored), and the browser test that
# takes them as it walks every view (with its accessibility and layout checks).
SCREENSHOTS = ROOT / "screenshots"
VIEWS_TEST = (
    "tests/browser/test_browser_views.py::"
    "test_every_view_passes_axe_in_light_and_dark_and_fits_from_320_px_walked_by_keyboard"
)
# Run before the tests, in this order; each must pass.
CHECKS = (
    ("ruff", "check", "."),
    ("ruff", "format", "--check", "."),
    ("mypy",),
)


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        return run_tests(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "build":
        config = PageConfig(
            args.application_key,
            args.auth_url,
            args.request_timeout_s,
            args.start_timeout_s,
            args.backend_url,
        )
        print(f"Built {build(args.dist, config)}")
    elif args.command == "serve":
        if not args.no_build:
            build(args.dist, PageConfig(DEVELOPMENT_APPLICATION_KEY))
        serve(args)
    elif args.command == "screenshots":
        return take_screenshots(args.folder.resolve())
    elif args.command == "lock":
        return lock(upgrade=args.upgrade)
    return 0


def serve(args: argparse.Namespace) -> None:
    # The service (and its database) is needed here only: `build` runs without it.
    from authservice import Settings, ensure_application
    from authservice.database.engine import migrate_database
    from authservice.database.schema_versions import describe_migration

    # The auth service's tokens name it as it is reached here (DEFAULT_AUTH_URL on this origin).
    issuer = server.public_url(args.host, args.port) + DEFAULT_AUTH_URL
    settings = Settings(data_dir=args.data_dir, database_url=args.database_url, issuer=issuer)
    # A development stack migrates its database by itself.
    print(describe_migration("the database", *migrate_database(settings)).capitalize())
    # The page carries the key it was built with; make sure this data dir knows that application.
    ensure_application(
        settings,
        name=DEVELOPMENT_APPLICATION_NAME,
        application_key=read_page_config(args.dist).application_key,
    )
    server.run(
        args.dist,
        settings,
        isolation=not args.no_isolation,
        host=args.host,
        port=args.port,
        workers=args.workers,
        quiet=args.quiet,
    )


def run_tests(pytest_args: list[str]) -> int:
    """Linters and type checks first (fast), then the build, then every test and doctest."""
    for check in CHECKS:
        print(f"$ {' '.join(check)}", flush=True)
        if subprocess.run([sys.executable, "-m", *check], cwd=ROOT).returncode != 0:
            return 1
    return build_and_run_pytest(pytest_args)


def take_screenshots(folder: Path) -> int:
    """Every view of the page at 360 and 1280 px, light and dark, as PNG files in `folder`: the
    browser test that walks them takes them on the way (and checks them as it always does)."""
    code = build_and_run_pytest([VIEWS_TEST, "-q"], {"VIEW_SCREENSHOTS": str(folder)})
    print(f"Screenshots of every view: {folder}")
    return code


def build_and_run_pytest(pytest_args: list[str], env: dict[str, str] | None = None) -> int:
    build(DIST, PageConfig(DEVELOPMENT_APPLICATION_KEY))
    environment = {**os.environ, **(env or {})}
    chromium = find_chromium()
    if chromium:
        environment["CHROMIUM_PATH"] = chromium
    return subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=environment
    ).returncode


def lock(*, upgrade: bool) -> int:
    """Write requirements/service.txt and requirements/dev.txt from pyproject.toml, with hashes.

    Existing pins are kept unless `upgrade`; the dev set is held to the service set's versions.
    """
    # Its own script, not `python -m piptools`: with this folder first on the import path, build.py
    # would stand in for the `build` package that pip-tools imports.
    pip_compile = str(Path(sys.executable).with_name("pip-compile"))
    compile_command = [pip_compile, "--quiet", "--generate-hashes"]
    compile_command += ["--allow-unsafe", "--strip-extras"]
    # No index or find-links lines: the locks name no host and no path of this machine.
    compile_command += ["--no-emit-index-url", "--no-emit-find-links"]
    if upgrade:
        compile_command.append("--upgrade")
    sets = [
        (SERVICE_LOCK, ["--extra", "postgres"]),
        (DEV_LOCK, ["--extra", "dev", "--extra", "web", "--extra", "postgres"]),
    ]
    for output, extras in sets:
        constraint = ["--constraint", "requirements/service.txt"] if output == DEV_LOCK else []
        command = [*compile_command, *extras, *constraint]
        command += ["--output-file", output.relative_to(ROOT).as_posix(), "pyproject.toml"]
        print(f"Locking {output.relative_to(ROOT)} ...", flush=True)
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Build, serve and test the app.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="write the static site to dist/")
    serve_command = commands.add_parser(
        "serve", help="build, then serve the site and the auth service"
    )
    commands.add_parser(
        "test", help="lint, build, then run pytest (arguments after `test` go to pytest)"
    )
    screenshots_command = commands.add_parser(
        "screenshots",
        help="build, then take screenshots of every view (360 and 1280 px, light and dark)",
    )
    screenshots_command.add_argument(
        "--folder", type=Path, default=SCREENSHOTS, help="where (default: screenshots/)"
    )
    lock_command = commands.add_parser(
        "lock", help="regenerate requirements/*.txt from pyproject.toml (after adding a dependency)"
    )
    lock_command.add_argument(
        "--upgrade", action="store_true", help="move every pin to the newest release"
    )
    for command in (build_command, serve_command):
        command.add_argument(
            "--dist", type=Path, default=DIST, help="output folder (default: dist/)"
        )
    serve_command.add_argument(
        "--data-dir", type=Path, default=DATA, help="the auth service's data (default: .data/)"
    )
    build_command.add_argument(
        "--auth-url", default=DEFAULT_AUTH_URL, help="where the page finds the auth service"
    )
    build_command.add_argument(
        "--backend-url",
        default=DEFAULT_BACKEND_URL,
        help="where the page finds the application's own backend, which it calls with an access "
        "token",
    )
    build_command.add_argument(
        "--application-key",
        default=DEVELOPMENT_APPLICATION_KEY,
        help="the application the page signs in to (default: the development one, which serve creates)",
    )
    build_command.add_argument(
        "--request-timeout-s",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="how long the page waits for the auth service",
    )
    build_command.add_argument(
        "--start-timeout-s",
        type=float,
        default=DEFAULT_START_TIMEOUT_S,
        help="how long Python may take to start before the page says it has not",
    )
    serve_command.add_argument(
        "--database-url",
        help="the auth service's database, e.g. postgresql+psycopg://... (default: SQLite in "
        "--data-dir)",
    )
    serve_command.add_argument("--host", default="127.0.0.1")
    serve_command.add_argument("--port", type=int, default=8000)
    serve_command.add_argument(
        "--workers", type=int, default=1, help="processes serving the site and the service"
    )
    serve_command.add_argument("--no-build", action="store_true", help="serve dist/ as it is")
    serve_command.add_argument(
        "--no-isolation",
        action="store_true",
        help="leave out COOP/COEP, as a plain static host would",
    )
    serve_command.add_argument("--quiet", action="store_true", help="no access log")
    return parser

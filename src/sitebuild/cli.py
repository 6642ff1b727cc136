"""The commands of build.py, run inside the venv: build, serve, test."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from authservice import Settings, create_app, ensure_application

from . import server
from .chromium import find_chromium
from .paths import DATA, DIST, ROOT
from .site import PageConfig, build, read_page_config

DEV_APPLICATION = "development"


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        return run_tests(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "build":
        config = PageConfig(args.application_key or "", args.auth_url, args.request_timeout_s)
        built = build_site(args.dist, args.data_dir, config)
        print(f"Built {built}")
    elif args.command == "serve":
        if not args.no_build:
            build_site(args.dist, args.data_dir)
        serve(args)
    return 0


def build_site(dist: Path, data_dir: Path, config: PageConfig | None = None) -> Path:
    """Build for `config`; without an application key, for the development application of
    `data_dir`, which is created on first use."""
    config = config or PageConfig("")
    if not config.application_key:
        key = ensure_application(Settings(data_dir=data_dir), name=DEV_APPLICATION).key
        config = dataclasses.replace(config, application_key=key)
    return build(dist, config)


def serve(args: argparse.Namespace) -> None:
    settings = Settings(data_dir=args.data_dir)
    # The page carries the key it was built with; make sure this data dir knows that application.
    ensure_application(
        settings, name=DEV_APPLICATION, application_key=read_page_config(args.dist).application_key
    )
    site = server.StaticSite(args.dist, isolation=not args.no_isolation)
    server.run(
        server.combine(site, create_app(settings)), host=args.host, port=args.port, quiet=args.quiet
    )


def run_tests(pytest_args: list[str]) -> int:
    build_site(DIST, DATA)
    chromium = find_chromium()
    env = dict(os.environ)
    if chromium:
        env["CHROMIUM_PATH"] = chromium
    return subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env
    ).returncode


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Build, serve and test the app.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="write the static site to dist/")
    serve_command = commands.add_parser(
        "serve", help="build, then serve the site and the auth service"
    )
    commands.add_parser("test", help="build, then run pytest (arguments after `test` go to pytest)")
    for command in (build_command, serve_command):
        command.add_argument(
            "--dist", type=Path, default=DIST, help="output folder (default: dist/)"
        )
        command.add_argument(
            "--data-dir", type=Path, default=DATA, help="the auth service's data (default: .data/)"
        )
    build_command.add_argument(
        "--auth-url", default="/v1", help="where the page finds the auth service"
    )
    build_command.add_argument(
        "--application-key",
        help="the application the page signs in to (default: the development one)",
    )
    build_command.add_argument(
        "--request-timeout-s",
        type=float,
        default=10.0,
        help="how long the page waits for the auth service",
    )
    serve_command.add_argument("--host", default="127.0.0.1")
    serve_command.add_argument("--port", type=int, default=8000)
    serve_command.add_argument("--no-build", action="store_true", help="serve dist/ as it is")
    serve_command.add_argument(
        "--no-isolation",
        action="store_true",
        help="leave out COOP/COEP, as a plain static host would",
    )
    serve_command.add_argument("--quiet", action="store_true", help="no access log")
    return parser

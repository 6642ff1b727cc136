"""`python -m authservice serve | migrate | purge | create-app | list-apps | sign-ticket`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from authservice.settings import Settings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ValueError as error:
        parser.exit(2, f"{parser.prog} {args.command}: {error}\n")


def _serve(args: argparse.Namespace) -> int:
    from authservice.app import WORKER_ENVIRONMENT
    from authservice.db import migrate_database, open_database
    from authservice.serving import run_server

    settings = Settings(
        data_dir=args.data_dir,
        database_url=args.database_url,
        session_ttl_s=args.session_ttl_s,
        idle_ttl_s=args.idle_ttl_s,
        rotation_grace_s=args.grace_s,
        login_attempts_per_user_address=args.login_attempts_per_user_address,
        login_attempts_per_user=args.login_attempts_per_user,
        login_attempts_per_ip=args.login_attempts_per_ip,
        rate_window_s=args.rate_window_s,
        password_hash_workers=args.password_hash_workers
        or max(1, (os.cpu_count() or 1) // args.workers),
        password_hash_queue=args.password_hash_queue,
        cors_origins=tuple(args.cors_origin),
        forwarded_allow_ips=tuple(_comma_list(args.forwarded_allow_ips)),
        purge_interval_s=args.purge_interval_s,
        messages_per_minute=args.messages_per_minute,
        stream_ping_interval_s=args.stream_ping_interval_s,
    )
    if args.migrate:
        _print_migration(settings, migrate_database(settings))
    # Refuse a database that is not migrated here, once, before any worker starts.
    open_database(settings).dispose()
    audit_log = None if args.audit_log == "-" else str(Path(args.audit_log).resolve())
    os.environ[WORKER_ENVIRONMENT] = json.dumps(
        {"settings": settings.to_json(), "audit_log": audit_log}
    )

    def announce(host: str, port: int) -> None:
        workers = f" ({args.workers} workers)" if args.workers > 1 else ""
        print(f"authservice: serving http://{host}:{port}/v1/{workers}", flush=True)

    # The app applies the trusted proxies' headers itself (create_app); uvicorn would otherwise
    # believe X-Forwarded-For from 127.0.0.1 by default. No Server header: no version to give away.
    run_server(
        "authservice.app:create_app_from_environment",
        host=args.host,
        port=args.port,
        workers=args.workers,
        announce=announce,
        proxy_headers=False,
        server_header=False,
        access_log=args.access_log,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from authservice.db import migrate_database

    settings = _database_settings(args)
    _print_migration(settings, migrate_database(settings, args.revision))
    return 0


def _print_migration(settings: Settings, revisions: tuple[str | None, str]) -> None:
    from authservice.schema import describe_migration

    print(f"authservice: {describe_migration(_database_name(settings), *revisions)}", flush=True)


def _purge(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from authservice._time import utc_now
    from authservice.db import open_database
    from authservice.purge import purge_database

    engine = open_database(_database_settings(args))
    try:
        print(json.dumps(asdict(purge_database(engine, utc_now()))))
    finally:
        engine.dispose()
    return 0


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _database_settings(args: argparse.Namespace) -> Settings:
    return Settings(data_dir=args.data_dir, database_url=args.database_url)


def _database_name(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url or "").render_as_string(hide_password=True)


def _create_app(args: argparse.Namespace) -> int:
    from authservice.applications import create_application

    application = create_application(_database_settings(args), args.name, args.key)
    print(
        json.dumps(
            {
                "name": application.name,
                "applicationKey": application.key,
                "applicationSecret": application.secret,
            }
        )
    )
    return 0


def _list_apps(args: argparse.Namespace) -> int:
    from authservice.applications import list_applications

    listing = [
        {"name": application.name, "applicationKey": application.key}
        for application in list_applications(_database_settings(args))
    ]
    print(json.dumps(listing, indent=2))
    return 0


def _sign_ticket(args: argparse.Namespace) -> int:
    from authservice.tickets import sign_ticket

    secret = args.application_secret or os.environ.get("AUTH_APPLICATION_SECRET")
    if not secret:
        raise ValueError("give --application-secret or set AUTH_APPLICATION_SECRET")
    print(sign_ticket(args.application_key, secret, args.user_id, ttl_s=args.ttl_s))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m authservice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = Settings(data_dir=Path("."), database_url="")

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.set_defaults(run=_serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    serve.add_argument(
        "--workers", type=_positive_int, default=1, help="processes that serve requests"
    )
    _add_database_arguments(serve)
    serve.add_argument(
        "--migrate", action="store_true", help="migrate the database first, if it needs it"
    )
    serve.add_argument(
        "--purge-interval-s",
        type=float,
        default=defaults.purge_interval_s,
        help="how often each process deletes ended sessions, used nonces and drained limits "
        "(0: never; run `purge` yourself)",
    )
    serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN")
    serve.add_argument("--session-ttl-s", type=float, default=defaults.session_ttl_s)
    serve.add_argument("--idle-ttl-s", type=float, default=defaults.idle_ttl_s)
    serve.add_argument(
        "--grace-s",
        type=float,
        default=defaults.rotation_grace_s,
        help="how long the secret rotated out last still resumes",
    )
    serve.add_argument(
        "--login-attempts-per-user-address",
        type=int,
        default=defaults.login_attempts_per_user_address,
        help="sign-in attempts per window for one username from one address",
    )
    serve.add_argument(
        "--login-attempts-per-user",
        type=int,
        default=defaults.login_attempts_per_user,
        help="sign-in attempts per window for one username from anywhere",
    )
    serve.add_argument(
        "--login-attempts-per-ip",
        type=int,
        default=defaults.login_attempts_per_ip,
        help="sign-in attempts (and, apart, sign-ups) per window from one address",
    )
    serve.add_argument("--rate-window-s", type=float, default=defaults.rate_window_s)
    serve.add_argument(
        "--password-hash-workers",
        type=_positive_int,
        help="threads of each process that hash passwords (default: the CPU count shared "
        "among the workers)",
    )
    serve.add_argument(
        "--password-hash-queue",
        type=int,
        default=defaults.password_hash_queue,
        help="sign-ins that may wait for a hashing thread before the answer is 503 busy",
    )
    serve.add_argument(
        "--messages-per-minute",
        type=_positive_int,
        default=defaults.messages_per_minute,
        help="messages one user may send per minute (a burst of this many, then one every 60/N s)",
    )
    serve.add_argument(
        "--stream-ping-interval-s",
        type=float,
        default=defaults.stream_ping_interval_s,
        help="the longest a message stream stays silent: a ping then, and its session "
        "checked again",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default="",
        metavar="ADDRESSES",
        help="comma-separated addresses or networks (or *) of the proxies whose "
        "X-Forwarded-For is believed; default: none",
    )
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a line per request on stdout (a reverse proxy in front may keep its own)",
    )
    serve.add_argument(
        "--audit-log",
        default="-",
        metavar="PATH",
        help="append the security events (JSON lines) to this file; default: - (stderr)",
    )

    migrate = commands.add_parser(
        "migrate", help="bring the database to this version's schema (creating it if empty)"
    )
    migrate.set_defaults(run=_migrate)
    _add_database_arguments(migrate)
    migrate.add_argument(
        "--revision",
        default="head",
        help="the schema revision to go to (default: this version's); an older one downgrades, "
        "for running an older version of the service again",
    )

    purge = commands.add_parser(
        "purge", help="delete ended sessions, used ticket nonces and drained limits, once"
    )
    purge.set_defaults(run=_purge)
    _add_database_arguments(purge)

    create = commands.add_parser("create-app", help="create an application; prints its secret once")
    create.set_defaults(run=_create_app)
    _add_database_arguments(create)
    create.add_argument("--name", required=True)
    create.add_argument("--key", help="default: a random app_… key")

    listing = commands.add_parser("list-apps", help="list application names and keys")
    listing.set_defaults(run=_list_apps)
    _add_database_arguments(listing)

    sign = commands.add_parser("sign-ticket", help="sign a user ticket, as a partner backend does")
    sign.set_defaults(run=_sign_ticket)
    sign.add_argument("--application-key", required=True)
    sign.add_argument("--application-secret", help="default: $AUTH_APPLICATION_SECRET")
    sign.add_argument("--user-id", required=True)
    sign.add_argument("--ttl-s", type=float, default=300)
    return parser


def _add_database_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".data"),
        help="the server key, and the SQLite database unless --database-url (default: .data)",
    )
    command.add_argument(
        "--database-url",
        help="postgresql+psycopg://user@host/database (a password is better kept in ~/.pgpass "
        "or PGPASSWORD than here); default: SQLite in --data-dir",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())

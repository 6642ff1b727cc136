"""The command line: `python -m authservice serve | migrate | purge | create-app | list-apps |
add-audience | sign-ticket | rotate-signing-key | remove-signing-key | list-signing-keys`. The flags
of `serve` are the settings' own (setting_flags.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from authservice.admin.setting_flags import add_setting_flags, given_settings
from authservice.core.settings import Settings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ValueError as error:
        parser.exit(2, f"{parser.prog} {args.command}: {error}\n")


def _serve(args: argparse.Namespace) -> int:
    from authservice.admin.serving import run_server
    from authservice.admin.workers import FACTORY, hand_to_workers
    from authservice.database.engine import migrate_database, open_database

    given = given_settings(args)
    # The hashing threads of one process default to its share of the CPUs.
    given.setdefault("password_hash_workers", max(1, (os.cpu_count() or 1) // args.workers))
    if "issuer" not in given and args.port != 0:
        given["issuer"] = listening_issuer(args.host, args.port)
    settings = Settings(**given)
    if args.migrate:
        _print_migration(settings, migrate_database(settings))
    # Refuse a database that is not migrated here, once, before any worker starts.
    open_database(settings).dispose()
    hand_to_workers(settings, None if args.audit_log == "-" else Path(args.audit_log).resolve())

    def announce(host: str, port: int) -> None:
        workers = f" ({args.workers} workers)" if args.workers > 1 else ""
        print(f"authservice: serving http://{host}:{port}/v1/{workers}", flush=True)

    # The app applies the trusted proxies' headers itself (create_app); uvicorn would otherwise
    # believe X-Forwarded-For from 127.0.0.1 by default. No Server header: no version to give away.
    run_server(
        FACTORY,
        host=args.host,
        port=args.port,
        workers=args.workers,
        announce=announce,
        proxy_headers=False,
        server_header=False,
        access_log=args.access_log,
    )
    return 0


def listening_issuer(host: str, port: int) -> str:
    """The issuer of a service that no proxy fronts: the address it listens on, /v1 included.
    Never the address a request names (its Host header): that would let a caller pick the issuer
    of its tokens, and of the metadata that caches keep. (With --port 0 the port is not known
    before it is bound: without --issuer, that service issues no tokens.)"""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def _migrate(args: argparse.Namespace) -> int:
    from authservice.database.engine import migrate_database

    settings = Settings(**given_settings(args))
    _print_migration(settings, migrate_database(settings, args.revision))
    return 0


def _print_migration(settings: Settings, revisions: tuple[str | None, str]) -> None:
    from authservice.database.schema_versions import describe_migration

    print(f"authservice: {describe_migration(_database_name(settings), *revisions)}", flush=True)


def _purge(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from authservice.core.clock import utc_now
    from authservice.database.engine import open_database
    from authservice.database.purge import purge_database

    engine = open_database(Settings(**given_settings(args)))
    try:
        print(json.dumps(asdict(purge_database(engine, utc_now()))))
    finally:
        engine.dispose()
    return 0


def _database_name(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url or "").render_as_string(hide_password=True)


def _create_app(args: argparse.Namespace) -> int:
    from authservice.admin.applications import create_application

    application = create_application(
        Settings(**given_settings(args)), args.name, args.key, args.audience
    )
    print(
        json.dumps(
            {
                "name": application.name,
                "applicationKey": application.key,
                "applicationSecret": application.secret,
                "audiences": list(application.audiences),
            }
        )
    )
    return 0


def _add_audience(args: argparse.Namespace) -> int:
    from authservice.admin.applications import add_audience

    application = add_audience(
        Settings(**given_settings(args)), args.application_key, args.audience
    )
    print(json.dumps({"applicationKey": application.key, "audiences": list(application.audiences)}))
    return 0


def _rotate_signing_key(args: argparse.Namespace) -> int:
    from authservice.admin.signing_keys import describe_key, rotate_signing_key

    print(json.dumps(describe_key(rotate_signing_key(Settings(**given_settings(args))))))
    return 0


def _remove_signing_key(args: argparse.Namespace) -> int:
    from authservice.admin.signing_keys import remove_signing_key

    remove_signing_key(Settings(**given_settings(args)), args.kid, force=args.force)
    print(json.dumps({"removed": args.kid}))
    return 0


def _list_signing_keys(args: argparse.Namespace) -> int:
    from authservice.admin.signing_keys import describe_key, list_signing_keys

    keys = list_signing_keys(Settings(**given_settings(args)))
    print(json.dumps([describe_key(key) for key in keys], indent=2))
    return 0


def _list_apps(args: argparse.Namespace) -> int:
    from authservice.admin.applications import list_applications

    listing = [
        {
            "name": application.name,
            "applicationKey": application.key,
            "audiences": list(application.audiences),
        }
        for application in list_applications(Settings(**given_settings(args)))
    ]
    print(json.dumps(listing, indent=2))
    return 0


def _sign_ticket(args: argparse.Namespace) -> int:
    from authservice.auth.tickets import sign_ticket

    secret = args.application_secret or os.environ.get("AUTH_APPLICATION_SECRET")
    if not secret:
        raise ValueError("give --application-secret or set AUTH_APPLICATION_SECRET")
    print(sign_ticket(args.application_key, secret, args.user_id, ttl_s=args.ttl_s))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m authservice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.set_defaults(run=_serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    serve.add_argument(
        "--workers", type=_positive_int, default=1, help="processes that serve requests"
    )
    serve.add_argument(
        "--migrate", action="store_true", help="migrate the database first, if it needs it"
    )
    add_setting_flags(serve)
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
    create.add_argument(
        "--audience",
        action="append",
        default=[],
        metavar="URL",
        help="an audience its access tokens may name, the URL of one of its APIs (repeatable)",
    )

    audience = commands.add_parser(
        "add-audience", help="register one more audience for an application's access tokens"
    )
    audience.set_defaults(run=_add_audience)
    _add_database_arguments(audience)
    audience.add_argument("--application-key", required=True)
    audience.add_argument("--audience", required=True, metavar="URL")

    listing = commands.add_parser("list-apps", help="list application names and keys")
    listing.set_defaults(run=_list_apps)
    _add_database_arguments(listing)

    sign = commands.add_parser("sign-ticket", help="sign a user ticket, as a partner backend does")
    sign.set_defaults(run=_sign_ticket)
    sign.add_argument("--application-key", required=True)
    sign.add_argument("--application-secret", help="default: $AUTH_APPLICATION_SECRET")
    sign.add_argument("--user-id", required=True)
    sign.add_argument("--ttl-s", type=float, default=300)

    rotate = commands.add_parser(
        "rotate-signing-key",
        help="add a key that signs access tokens from now on; the old one stays in the JWKS",
    )
    rotate.set_defaults(run=_rotate_signing_key)
    _add_database_arguments(rotate)

    remove = commands.add_parser(
        "remove-signing-key",
        help="take a retired key out of the JWKS: the tokens it signed fail from then on",
    )
    remove.set_defaults(run=_remove_signing_key)
    add_setting_flags(remove, only=("data_dir", "database_url", "access_token_ttl_s"))
    remove.add_argument("--kid", required=True, help="the key's id (list-signing-keys)")
    remove.add_argument(
        "--force",
        action="store_true",
        help="remove it even while tokens it signed may still be valid (a compromised key)",
    )

    keys = commands.add_parser("list-signing-keys", help="the keys of the JWKS, the newest first")
    keys.set_defaults(run=_list_signing_keys)
    _add_database_arguments(keys)
    return parser


def _add_database_arguments(command: argparse.ArgumentParser) -> None:
    add_setting_flags(command, only=("data_dir", "database_url"))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())

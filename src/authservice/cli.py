"""`python -m authservice serve | create-app | list-apps | sign-ticket`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
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
    import uvicorn

    from authservice.app import create_app
    from authservice.audit import configure_audit_log

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
        password_hash_workers=args.password_hash_workers,
        password_hash_queue=args.password_hash_queue,
        cors_origins=tuple(args.cors_origin),
        forwarded_allow_ips=tuple(_comma_list(args.forwarded_allow_ips)),
    )
    configure_audit_log(None if args.audit_log == "-" else Path(args.audit_log))
    # The app applies the trusted proxies' headers itself (create_app); uvicorn would otherwise
    # believe X-Forwarded-For from 127.0.0.1 by default. No Server header: no version to give away.
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        proxy_headers=False,
        server_header=False,
    )

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                host = f"[{host}]" if ":" in host else host
                print(f"authservice: serving http://{host}:{port}/v1/", flush=True)

    # uvicorn shuts down gracefully on Ctrl-C or SIGTERM, then raises the signal again so that the
    # previous handler runs: make that handler a quiet exit, not a KeyboardInterrupt trace.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    AnnouncingServer(config).run()
    return 0


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _create_app(args: argparse.Namespace) -> int:
    from authservice.applications import create_application

    application = create_application(Settings(data_dir=args.data_dir), args.name, args.key)
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
        for application in list_applications(Settings(data_dir=args.data_dir))
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
    serve.add_argument("--data-dir", type=Path, default=Path(".data"))
    serve.add_argument("--database-url", help="any SQLAlchemy URL; default: SQLite in --data-dir")
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
        type=int,
        default=defaults.password_hash_workers,
        help="threads that hash passwords (default: the CPU count)",
    )
    serve.add_argument(
        "--password-hash-queue",
        type=int,
        default=defaults.password_hash_queue,
        help="sign-ins that may wait for a hashing thread before the answer is 503 busy",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default="",
        metavar="ADDRESSES",
        help="comma-separated addresses or networks (or *) of the proxies whose "
        "X-Forwarded-For is believed; default: none",
    )
    serve.add_argument(
        "--audit-log",
        default="-",
        metavar="PATH",
        help="append the security events (JSON lines) to this file; default: - (stderr)",
    )

    create = commands.add_parser("create-app", help="create an application; prints its secret once")
    create.set_defaults(run=_create_app)
    create.add_argument("--data-dir", type=Path, default=Path(".data"))
    create.add_argument("--name", required=True)
    create.add_argument("--key", help="default: a random app_… key")

    listing = commands.add_parser("list-apps", help="list application names and keys")
    listing.set_defaults(run=_list_apps)
    listing.add_argument("--data-dir", type=Path, default=Path(".data"))

    sign = commands.add_parser("sign-ticket", help="sign a user ticket, as a partner backend does")
    sign.set_defaults(run=_sign_ticket)
    sign.add_argument("--application-key", required=True)
    sign.add_argument("--application-secret", help="default: $AUTH_APPLICATION_SECRET")
    sign.add_argument("--user-id", required=True)
    sign.add_argument("--ttl-s", type=float, default=300)
    return parser


if __name__ == "__main__":
    sys.exit(main())

"""Serving an ASGI app with uvicorn: in this process, or in N worker processes that share one
listening socket (the kernel hands each new connection to one of them).

uvicorn's workers are new processes (spawned, not forked): each imports the app by name and builds
it with a factory, so whatever configures the app reaches them through the environment (for the
auth service: workers.py).

Every open connection is an open file, and a message stream stays open: the process raises its
soft limit of open files to the hard one first (the workers inherit it), as nginx and PostgreSQL
do, so that the hard limit (`ulimit -Hn`, systemd's `LimitNOFILE=`) is the only one to set.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

__all__ = ["raise_open_file_limit", "run_server", "tcp_listener"]


def run_server(
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    announce: Callable[[str, int], None],
    **options: Any,
) -> None:
    """Serve `factory` ("module:function", returning an ASGI app) until SIGINT or SIGTERM.
    `announce(host, port)` is called once the socket listens (with the real port when `port` is
    0); `options` go to `uvicorn.Config`."""
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    raise_open_file_limit()
    config = uvicorn.Config(factory, factory=True, host=host, port=port, workers=workers, **options)
    if workers == 1:
        # uvicorn shuts down gracefully on Ctrl-C or SIGTERM, then raises the signal again so
        # that the previous handler runs: make that handler a quiet exit, not a trace.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _exit_quietly)
        _AnnouncingServer(config, announce).run()
        return
    listener = tcp_listener(config.bind_socket())
    announce(*_address(listener))
    # The supervisor restarts a worker that dies, and stops them all on SIGINT or SIGTERM.
    Multiprocess(config, sockets=[listener]).run()


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce: Callable[[str, int], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._announce(*_address(self.servers[0].sockets[0]))


def tcp_listener(listener: socket.socket) -> socket.socket:
    """The listener, marked as TCP. uvicorn binds it with protocol 0, which the accepted
    connections inherit, and asyncio sets TCP_NODELAY only on sockets marked TCP: without it,
    every answer on a kept-alive connection waited ~40 ms for the client's delayed ACK (uvicorn
    issue 3149, seen here as a hello-world at 21 requests/s on one connection)."""
    if listener.family not in (socket.AF_INET, socket.AF_INET6):
        return listener
    return socket.socket(listener.family, listener.type, socket.IPPROTO_TCP, listener.detach())


def raise_open_file_limit() -> None:
    """This process's soft limit of open files raised to its hard limit (POSIX only)."""
    if sys.platform == "win32":
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # macOS refuses an unlimited soft limit: keep the one we have
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _address(listener: Any) -> tuple[str, int]:
    host, port = listener.getsockname()[:2]
    return (f"[{host}]" if ":" in host else host), int(port)


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)

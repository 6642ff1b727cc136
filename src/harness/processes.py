"""Servers as subprocesses, for tests and benchmarks: start, wait until they answer over HTTP,
restart, stop.

with AuthServiceProcess(tmp_path, session_ttl_s=2) as service:  # running once constructed
    application = service.ensure_application("tests")
    urllib.request.urlopen(service.url + "/v1/health")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from authclient import MemoryStorage, SessionClient
from authservice import Application, Settings, ensure_application
from sitebuild.site import read_page_config
from webapp.config import DEFAULT_AUTH_URL

__all__ = ["AuthServiceProcess", "ServerError", "ServerProcess", "Stack", "free_port"]


class ServerError(RuntimeError):
    """The server died or did not answer in time; the message carries its output."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (another process may take it before you bind it: rarely)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """A command run as a subprocess that is ready once `ready_url` answers with any HTTP status
    and, for a uvicorn server of several `workers`, once every worker says it has started (a test of
    what many workers do together needs them all, not only the first to answer).

        It starts on construction (unless `start=False`); `stop()` and `restart()` as named.

        stdout and stderr go to one temporary file (a pipe could fill up and block the server), kept
        across restarts and shown in every ServerError.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        url: str,
        ready_url: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        start_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
        workers: int = 1,
        start: bool = True,
    ) -> None:
        self.command = list(command)
        self.url = url
        self.ready_url = ready_url or url
        self.cwd = cwd
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.workers = workers
        self.env = _child_env(env)
        # Open for the object's whole life, across restarts: no `with` block fits.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"{type(self).__name__}({self.url!r}, {state})"

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._process.pid if self.running and self._process else None

    @property
    def output(self) -> str:
        """Everything the process wrote so far, stdout and stderr mixed."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def start(self) -> Self:
        if self.running:
            raise ServerError(f"{self!r} is already running")
        self._process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_until_ready()
        return self

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after `stop_timeout_s`; the exit code (None if never started)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            if sys.platform == "win32":
                process.terminate()
            else:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        # The log is kept across restarts: count the workers this start adds (Python takes far
        # longer to start one than this line takes to run).
        started = self.output.count(_WORKER_STARTED) + (self.workers if self.workers > 1 else 0)
        while time.monotonic() < deadline:
            code = self._process.poll() if self._process else None
            if code is not None:
                raise ServerError(f"{self!r} exited with {code} before answering:\n{self.output}")
            if self.output.count(_WORKER_STARTED) >= started and _answers(self.ready_url):
                return
            time.sleep(0.05)
        self.stop()
        waited = f"{self!r} did not answer {self.ready_url} within {self.start_timeout_s} s"
        raise ServerError(f"{waited}:\n{self.output}")


class AuthServiceProcess(ServerProcess):
    """`python -m authservice serve --migrate` on a free port: it starts on a database migrated
    to this version's schema (SQLite in `data_dir`, or `database_url`). Keyword flags become
    options, so `session_ttl_s=2` is `--session-ttl-s 2` and `cors_origins=["a", "b"]` repeats the
    option."""

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        start: bool = True,
        **flags: Any,
    ) -> None:
        self.settings = Settings(data_dir=Path(data_dir), database_url=database_url)
        self.data_dir = self.settings.data_dir
        port = port or free_port(host)
        url = f"http://{host}:{port}"
        command = [sys.executable, "-m", "authservice", "serve", "--migrate"]
        command += ["--data-dir", str(self.data_dir), "--database-url", self.database_url]
        command += ["--host", host, "--port", str(port), *_options(flags)]
        super().__init__(
            command,
            url=url,
            ready_url=f"{url}/v1/health",
            start_timeout_s=60,
            workers=int(flags.get("workers", 1)),
            start=start,
        )

    @property
    def database_url(self) -> str:
        return self.settings.database_url or ""

    def ensure_application(self, name: str) -> Application:
        """The application of that name in this service's database (created if missing)."""
        return ensure_application(self.settings, name=name)


class Stack(ServerProcess):
    """`python -m sitebuild serve` on a free port, as `python3 build.py serve` runs it: the built
    site and the auth service on one origin, with its access log in `.output`."""

    def __init__(
        self,
        dist: Path,
        data_dir: Path,
        *,
        isolation: bool = True,
        port: int | None = None,
        workers: int = 1,
    ) -> None:
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "sitebuild", "serve", "--no-build", "--port", str(port)]
        command += ["--dist", str(dist), "--data-dir", str(data_dir), "--workers", str(workers)]
        if not isolation:
            command.append("--no-isolation")
        super().__init__(
            command, url=url, ready_url=f"{url}/v1/health", start_timeout_s=60, workers=workers
        )
        config = read_page_config(dist)
        self.application_key = config.application_key
        self.storage_key = config.storage_key

    def client(self) -> SessionClient:
        """The real client in CPython, talking to the same auth service as the page."""
        auth_url = self.url + DEFAULT_AUTH_URL
        return SessionClient(self.application_key, auth_url, storage=MemoryStorage())

    def served(self, path_part: str) -> list[str]:
        """Access-log lines of the requests this server answered whose path contains `path_part`."""
        return [line for line in self.output.splitlines() if '"GET ' in line and path_part in line]


# What uvicorn prints as each worker process becomes ready.
_WORKER_STARTED = "Application startup complete."


def _child_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}


def _options(flags: Mapping[str, Any]) -> list[str]:
    options: list[str] = []
    for name, value in flags.items():
        option = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            options.append(option)
        elif isinstance(value, (list, tuple)):
            for item in value:
                options += [option, str(item)]
        else:
            options += [option, str(value)]
    return options


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP error status is still an answer
    except OSError:
        return False

"""Service configuration: one dataclass, every field but `data_dir` has a default.

Worker processes get theirs as JSON (`to_json`, `from_json`):

    >>> settings = Settings(data_dir=Path("/srv/auth"), session_ttl_s=3600)
    >>> Settings.from_json(settings.to_json()) == settings
    True
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["Settings"]

_DAY_S = 24 * 60 * 60
_HOUR_S = 60 * 60


def _cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class Settings:
    data_dir: Path
    # None means SQLite in data_dir; any SQLAlchemy URL (e.g. PostgreSQL) works.
    database_url: str | None = None
    session_ttl_s: float = 30 * _DAY_S
    idle_ttl_s: float = 7 * _DAY_S
    # How long the secret rotated out last still resumes (to the same new secret): Supabase's
    # refresh-token reuse interval.
    rotation_grace_s: float = 10.0
    # Sign-in limits, each "at most N attempts per rate_window_s" (docs/api.md, "Rate limits"):
    # strict for one username from one address, a higher ceiling for one username from anywhere,
    # and one for everything from one address (sign-ups count there too, in a bucket of their own).
    login_attempts_per_user_address: int = 10
    login_attempts_per_user: int = 50
    login_attempts_per_ip: int = 100
    rate_window_s: float = _HOUR_S
    # Password hashing: threads of its own, and how many sign-ins may wait for one before the
    # service answers 503 busy.
    password_hash_workers: int = field(default_factory=_cpu_count)
    password_hash_queue: int = 64
    max_body_bytes: int = 16 * 1024
    # Messages a user may send per minute (a leaky bucket: a burst of this many, then one every
    # 60 / N s).
    messages_per_minute: int = 30
    # The longest a message stream stays silent: a `: ping` then, and the session checked again.
    stream_ping_interval_s: float = 15.0
    # How often each process deletes what is over (purge.py); 0 never (run `purge` from cron).
    purge_interval_s: float = _HOUR_S
    cors_origins: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto is believed (addresses or networks, or
    # "*"); none by default, so the client address is the TCP peer's.
    forwarded_allow_ips: tuple[str, ...] = ()
    # None means: read <data_dir>/server.key, creating it on first start.
    server_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir.resolve() / 'auth.sqlite3'}"
        self.cors_origins = tuple(self.cors_origins)
        self.forwarded_allow_ips = tuple(self.forwarded_allow_ips)
        for name in (
            "session_ttl_s",
            "idle_ttl_s",
            "rate_window_s",
            "login_attempts_per_user_address",
            "login_attempts_per_user",
            "login_attempts_per_ip",
            "password_hash_workers",
            "max_body_bytes",
            "messages_per_minute",
            "stream_ping_interval_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"Settings.{name} must be positive, not {getattr(self, name)!r}")
        for name in ("rotation_grace_s", "password_hash_queue", "purge_interval_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"Settings.{name} must not be negative")
        if self.server_key is not None and len(self.server_key) < 32:
            raise ValueError("Settings.server_key must be at least 32 bytes")
        for origin in self.cors_origins:
            if origin in ("*", "null") or "://" not in origin:
                raise ValueError(
                    f"Settings.cors_origins takes origins such as https://app.example, "
                    f"not {origin!r}"
                )
        for proxy in self.forwarded_allow_ips:
            if proxy != "*":
                try:
                    ipaddress.ip_network(proxy, strict=False)
                except ValueError:
                    raise ValueError(
                        f"Settings.forwarded_allow_ips takes addresses, networks or *, "
                        f"not {proxy!r}"
                    ) from None

    @property
    def server_key_path(self) -> Path:
        return self.data_dir / "server.key"

    def to_json(self) -> str:
        """Every field but a `server_key` given in memory, which stays out of the environment
        that carries this to worker processes (they read it from `server_key_path`)."""
        if self.server_key is not None:
            raise ValueError(
                "Settings with a server_key in memory cannot be handed to worker processes: "
                "leave the key in <data_dir>/server.key"
            )
        values: dict[str, Any] = {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if item.name != "server_key"
        }
        values["data_dir"] = str(self.data_dir)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls(**json.loads(text))

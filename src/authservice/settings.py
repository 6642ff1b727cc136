"""Service configuration: one dataclass, every field but `data_dir` has a default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings"]

_DAY_S = 24 * 60 * 60


@dataclass
class Settings:
    data_dir: Path
    # None means SQLite in data_dir; any SQLAlchemy URL (e.g. PostgreSQL) works.
    database_url: str | None = None
    session_ttl_s: float = 30 * _DAY_S
    idle_ttl_s: float = 7 * _DAY_S
    rotation_grace_s: float = 30.0
    login_attempts_per_user: int = 10
    login_attempts_per_ip: int = 100
    rate_window_s: float = 5 * 60.0
    max_body_bytes: int = 16 * 1024
    cors_origins: tuple[str, ...] = ()
    # None means: read <data_dir>/server.key, creating it on first start.
    server_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir.resolve() / 'auth.sqlite3'}"
        self.cors_origins = tuple(self.cors_origins)
        for name in (
            "session_ttl_s",
            "idle_ttl_s",
            "rate_window_s",
            "login_attempts_per_user",
            "login_attempts_per_ip",
            "max_body_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"Settings.{name} must be positive, not {getattr(self, name)!r}")
        if self.rotation_grace_s < 0:
            raise ValueError("Settings.rotation_grace_s must not be negative")
        if self.server_key is not None and len(self.server_key) < 32:
            raise ValueError("Settings.server_key must be at least 32 bytes")

    @property
    def server_key_path(self) -> Path:
        return self.data_dir / "server.key"

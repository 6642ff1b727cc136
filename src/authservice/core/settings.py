"""The service's settings: one dataclass whose every field is one setting, defined once with its
type, its default, its help and its bounds. `python -m authservice serve` makes a flag of each
(admin/setting_flags.py), so a new setting is one field here.

Worker processes get theirs as JSON (`to_json`, `from_json`):

    >>> settings = Settings(data_dir=Path("/srv/auth"), session_ttl_s=3600)
    >>> Settings.from_json(settings.to_json()) == settings
    True
"""

from __future__ import annotations

import ipaddress
import json
import os
import urllib.parse
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

__all__ = ["MAX_ACCESS_TOKEN_TTL_S", "Settings", "setting_fields"]

_DAY_S = 24 * 60 * 60
_HOUR_S = 60 * 60
# Past this, an access token is no longer short-lived: revoking its session takes too long to show.
MAX_ACCESS_TOKEN_TTL_S = _HOUR_S

Bound = Literal["positive", "not negative"]


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _about(
    help: str,
    *,
    bound: Bound | None = None,
    shown_default: str | None = None,
    flag: bool = True,
) -> dict[str, Any]:
    """A setting's metadata: `help` is the sentence its flag shows; `bound` is checked when the
    settings are made; `shown_default` says the default in words where its value would not (a
    default computed, or None meaning something); `flag` False keeps it off the command line."""
    return {"help": help, "bound": bound, "shown_default": shown_default, "flag": flag}


@dataclass
class Settings:
    data_dir: Path = field(
        default=Path(".data"),
        metadata=_about("the server key, and the SQLite database unless --database-url"),
    )
    database_url: str | None = field(
        default=None,
        metadata=_about(
            "any SQLAlchemy URL, such as postgresql+psycopg://user@host/database (a password is "
            "better kept in ~/.pgpass or PGPASSWORD than here)",
            shown_default="SQLite in --data-dir",
        ),
    )
    session_ttl_s: float = field(
        default=30 * _DAY_S,
        metadata=_about("the absolute end of a session, after its sign-in", bound="positive"),
    )
    idle_ttl_s: float = field(
        default=7 * _DAY_S,
        metadata=_about("a session ends this long after its last resume", bound="positive"),
    )
    # Supabase's refresh-token reuse interval.
    rotation_grace_s: float = field(
        default=10.0,
        metadata=_about(
            "how long the secret rotated out last still resumes (to the same new secret)",
            bound="not negative",
        ),
    )
    # Firebase and Supabase ask again after about five minutes too.
    reauth_window_s: float = field(
        default=5 * 60.0,
        metadata=_about(
            "how long after a password was given in a session it may sign other devices out "
            "or delete the account without asking again",
            bound="positive",
        ),
    )
    # Sign-in limits, each "at most N attempts per rate_window_s" (docs/api.md, "Rate limits").
    login_attempts_per_user_address: int = field(
        default=10,
        metadata=_about(
            "sign-in attempts per window for one username from one address", bound="positive"
        ),
    )
    login_attempts_per_user: int = field(
        default=50,
        metadata=_about(
            "sign-in attempts per window for one username from anywhere", bound="positive"
        ),
    )
    login_attempts_per_ip: int = field(
        default=100,
        metadata=_about(
            "sign-in attempts (and, apart, sign-ups) per window from one address",
            bound="positive",
        ),
    )
    rate_window_s: float = field(
        default=_HOUR_S, metadata=_about("the window of the sign-in limits", bound="positive")
    )
    password_hash_workers: int = field(
        default_factory=_cpu_count,
        metadata=_about(
            "threads of each process that hash passwords",
            bound="positive",
            shown_default="the CPU count, shared among the --workers",
        ),
    )
    password_hash_queue: int = field(
        default=64,
        metadata=_about(
            "sign-ins that may wait for a hashing thread before the answer is 503 busy",
            bound="not negative",
        ),
    )
    max_body_bytes: int = field(
        default=16 * 1024,
        metadata=_about(
            "the largest request body; a larger one is 413 payload_too_large", bound="positive"
        ),
    )
    messages_per_minute: int = field(
        default=30,
        metadata=_about(
            "messages one user may send per minute (a burst of this many, then one every 60/N s)",
            bound="positive",
        ),
    )
    stream_ping_interval_s: float = field(
        default=15.0,
        metadata=_about(
            "the longest a message stream stays silent: a ping then, and its session checked again",
            bound="positive",
        ),
    )
    purge_interval_s: float = field(
        default=_HOUR_S,
        metadata=_about(
            "how often each process deletes ended sessions, used nonces and drained limits "
            "(0: never; run `purge` yourself)",
            bound="not negative",
        ),
    )
    cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=_about(
            "origins of pages that may call the service, such as https://app.example",
            shown_default="none",
        ),
    )
    # The client address is the TCP peer's unless its proxy is named here.
    forwarded_allow_ips: tuple[str, ...] = field(
        default=(),
        metadata=_about(
            "addresses or networks (or *) of the proxies whose X-Forwarded-For is believed",
            shown_default="none",
        ),
    )
    # Not taken from requests: a Host header (or a proxy's) would name any issuer, and the issuer
    # metadata, which caches may keep, would point verifiers at any JWKS.
    issuer: str | None = field(
        default=None,
        metadata=_about(
            "the service's public URL, /v1 included, that access tokens name as their issuer "
            "(iss); behind a proxy, the URL clients use",
            shown_default="http://HOST:PORT/v1 of --host and --port",
        ),
    )
    access_token_ttl_s: float = field(
        default=300.0,
        metadata=_about(
            f"the lifetime of an access token (at most {MAX_ACCESS_TOKEN_TTL_S}), never past its "
            "session's end",
            bound="positive",
        ),
    )
    # None: read <data_dir>/server.key, creating it on first start. Never a flag: a key on a
    # command line is visible to every user of the machine.
    server_key: bytes | None = field(
        default=None,
        repr=False,
        metadata=_about("the server key itself, for a service embedded in a program", flag=False),
    )

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir.resolve() / 'auth.sqlite3'}"
        self.cors_origins = tuple(self.cors_origins)
        self.forwarded_allow_ips = tuple(self.forwarded_allow_ips)
        for item in fields(self):
            value, bound = getattr(self, item.name), item.metadata["bound"]
            if bound == "positive" and value <= 0:
                raise ValueError(f"Settings.{item.name} must be positive, not {value!r}")
            if bound == "not negative" and value < 0:
                raise ValueError(f"Settings.{item.name} must not be negative")
        if self.access_token_ttl_s > MAX_ACCESS_TOKEN_TTL_S:
            raise ValueError(
                f"Settings.access_token_ttl_s must be at most {MAX_ACCESS_TOKEN_TTL_S} s"
            )
        if self.issuer is not None:
            self.issuer = _checked_issuer(self.issuer)
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


def _checked_issuer(url: str) -> str:
    """An absolute http(s) URL without query, fragment or trailing slash."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"Settings.issuer takes the service's public URL such as https://auth.example/v1, "
            f"not {url!r}"
        )
    return url.rstrip("/")


def setting_fields() -> list[Field[Any]]:
    """The settings that the command line sets, in their order."""
    return [item for item in fields(Settings) if item.metadata["flag"]]

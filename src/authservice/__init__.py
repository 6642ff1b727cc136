"""The reference auth service: applications, users, sessions and messages over HTTP under /v1.

    from authservice import Settings, create_app, ensure_application
    settings = Settings(data_dir=Path(".data"))
    app = create_app(settings)  # ASGI

The public names are these five. Each loads on first use, so that a partner backend's
`from authservice import sign_ticket` imports the standard library only (no FastAPI, no SQLAlchemy).

The package, top to bottom (a part imports only the parts below it; tests/test_import_layers.py
checks it): `admin` (the command line, serving, application management), `api` (HTTP),
`composition` (builds the services once), `messaging` and `tokens` (access tokens for an
application's backend), `auth`, `database`, `core` (shared primitives: settings, clock, keys,
errors).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authservice.admin.applications import Application, ensure_application
    from authservice.api.asgi import create_app
    from authservice.auth.tickets import sign_ticket
    from authservice.core.settings import Settings

__all__ = ["Application", "Settings", "create_app", "ensure_application", "sign_ticket"]

_HOMES = {
    "Application": "authservice.admin.applications",
    "Settings": "authservice.core.settings",
    "create_app": "authservice.api.asgi",
    "ensure_application": "authservice.admin.applications",
    "sign_ticket": "authservice.auth.tickets",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'authservice' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)

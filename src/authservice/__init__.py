"""The reference auth service: applications, users and sessions over HTTP under /v1.

    from authservice import Settings, create_app, ensure_application
    settings = Settings(data_dir=Path(".data"))
    app = create_app(settings)  # ASGI

Names load on first use, so `authservice.tickets` imports without FastAPI or SQLAlchemy installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authservice.app import create_app
    from authservice.applications import Application, ensure_application
    from authservice.settings import Settings
    from authservice.tickets import sign_ticket

__all__ = ["Application", "Settings", "create_app", "ensure_application", "sign_ticket"]

_HOMES = {
    "Application": "authservice.applications",
    "Settings": "authservice.settings",
    "create_app": "authservice.app",
    "ensure_application": "authservice.applications",
    "sign_ticket": "authservice.tickets",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'authservice' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)

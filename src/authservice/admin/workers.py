"""How `python -m authservice serve` configures its worker processes. uvicorn's workers are new
processes that each import the app's factory by name, so the settings and the audit log's place
reach them through the environment: `hand_to_workers` leaves them there, and
`create_app_from_environment` (the factory every worker calls) reads them back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI

from authservice.api.asgi import create_app
from authservice.core.audit import configure_audit_log
from authservice.core.settings import Settings

__all__ = ["FACTORY", "WORKER_ENVIRONMENT", "create_app_from_environment", "hand_to_workers"]

# Where the configuration waits for the workers, and the factory they call ("module:function").
WORKER_ENVIRONMENT = "AUTHSERVICE_SERVE"
FACTORY = "authservice.admin.workers:create_app_from_environment"


def hand_to_workers(settings: Settings, audit_log: Path | None) -> None:
    """Leave the configuration for the worker processes this process starts (None: the audit log
    goes to standard error)."""
    os.environ[WORKER_ENVIRONMENT] = json.dumps(
        {"settings": settings.to_json(), "audit_log": None if audit_log is None else str(audit_log)}
    )


def create_app_from_environment() -> FastAPI:
    """The app, with the settings and the audit log that `hand_to_workers` left."""
    configuration = json.loads(os.environ[WORKER_ENVIRONMENT])
    audit_log = configuration["audit_log"]
    configure_audit_log(Path(audit_log) if audit_log else None)
    return create_app(Settings.from_json(configuration["settings"]))

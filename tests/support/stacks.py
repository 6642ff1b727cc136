"""The built page on one origin and the auth service on another, as separate processes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from authservice import Settings, ensure_application
from authservice.database.engine import migrate_database
from harness.processes import AuthServiceProcess, Stack, free_port
from sitebuild.site import build
from webapp.config import PageConfig

__all__ = ["running_split_stack"]


@contextlib.contextmanager
def running_split_stack(
    data_dir: Path, **service_flags: Any
) -> Iterator[tuple[Stack, AuthServiceProcess]]:
    """The page and the auth service (CORS between them), so the service alone can stop; the
    service runs with `service_flags` (`idle_ttl_s=8` is `--idle-ttl-s 8`)."""
    page_port = free_port()
    page_origin = f"http://127.0.0.1:{page_port}"
    settings = Settings(data_dir=data_dir / "auth")
    migrate_database(settings)
    application = ensure_application(settings, name="split")
    with AuthServiceProcess(data_dir / "auth", cors_origins=[page_origin], **service_flags) as auth:
        dist = build(data_dir / "dist", PageConfig(application.key, auth_url=auth.url + "/v1"))
        with Stack(dist, data_dir / "page-data", port=page_port) as stack:
            yield stack, auth

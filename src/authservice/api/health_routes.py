"""`GET /v1/health`: whether the service runs and its database answers. How it asks without queueing
behind busy requests: database/health.py."""

from __future__ import annotations

from fastapi import APIRouter

from authservice.api.common_bodies import Health, error_responses
from authservice.api.dependencies import DatabaseHealth

__all__ = ["router"]

router = APIRouter(prefix="/v1")


@router.get(
    "/health",
    summary="Liveness: the service runs and its database answers",
    responses=error_responses(503),
)
async def health(database: DatabaseHealth) -> Health:
    await database.check()
    return Health()

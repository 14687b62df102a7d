"""Liveness with DB state, readiness (DB reachable and schema at head), Prometheus metrics.

All three use the probe pool (core.db.make_probe_engine), never the webhook's connections.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.auth import MetricsAuth
from app.core.deps import (
    GaugeRefresherDep,
    ProbeEngineDep,
    ProbeSessionmakerDep,
    SchemaHeadsDep,
    ScrapeHooksDep,
    SettingsDep,
)
from app.core.metrics import render_metrics
from app.core.settings import Settings

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


async def _db_revision(engine: AsyncEngine, timeout: float) -> list[str]:
    async def probe() -> list[str]:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return sorted(str(r[0]) for r in rows)

    return await asyncio.wait_for(probe(), timeout)


async def _db_ok(engine: AsyncEngine, settings: Settings) -> tuple[bool, list[str]]:
    try:
        return True, await _db_revision(engine, settings.DATABASE_TIMEOUT_SECONDS)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("database check failed", extra={"error_class": type(exc).__name__})
        return False, []


@router.get("/health")
async def health(engine: ProbeEngineDep, settings: SettingsDep) -> JSONResponse:
    """`{"status": "healthy", "database": "connected"}`, or 503 with `disconnected`."""
    ok, _ = await _db_ok(engine, settings)
    if ok:
        return JSONResponse({"status": "healthy", "database": "connected"})
    return JSONResponse({"status": "unhealthy", "database": "disconnected"}, status_code=503)


@router.get("/ready")
async def ready(
    engine: ProbeEngineDep, settings: SettingsDep, expected: SchemaHeadsDep
) -> JSONResponse:
    """Ready when the database answers and its schema is at the code's migration head."""
    ok, revision = await _db_ok(engine, settings)
    body = {
        "ready": ok and revision == expected,
        "database": "connected" if ok else "disconnected",
        "schema_revisions": revision,
        "expected_revisions": expected,
    }
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(
    _: MetricsAuth,
    hooks: ScrapeHooksDep,
    sessionmaker: ProbeSessionmakerDep,
    refresher: GaugeRefresherDep,
) -> Response:
    """Prometheus text format; DB-derived gauges refreshed at most once per TTL.

    Open while METRICS_TOKEN is unset; with it set, scrape with that bearer token.
    """
    await refresher.refresh(hooks, sessionmaker)
    payload, content_type = render_metrics()
    return Response(payload, media_type=content_type)

"""Incidents' part of the lifespan: the stale-flagging maintenance job, the metrics scrape hook."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.db import make_ingest_engine
from app.core.maintenance import add_job
from app.incidents import service
from app.incidents.batcher import IngestBatcher
from app.incidents.deps import set_ingest_batcher
from app.incidents.heartbeats import check_heartbeats
from app.incidents.metrics import refresh_gauges

log = logging.getLogger(__name__)


async def _flag_stale(app: FastAPI) -> None:
    """Maintenance job: flag incidents whose alert stopped arriving."""
    settings = app.state.settings
    async with app.state.sessionmaker() as session:
        flagged = await service.flag_stale(
            session, app.state.clock.now(), settings.INCIDENT_STALE_AFTER_SECONDS
        )
    if flagged:
        log.warning("incidents flagged stale", extra={"incident_ids": flagged})


async def _check_heartbeats(app: FastAPI) -> None:
    """Maintenance job: a silent dead man's switch opens its P0; beats returning resolve it."""
    settings = app.state.settings
    checked = await check_heartbeats(
        app.state.engine, app.state.sessionmaker, settings, app.state.clock.now()
    )
    if checked.opened:
        log.error("alertmanager heartbeat missing", extra={"incident_ids": checked.opened})
        runner = getattr(app.state, "pipeline_runner", None)
        if runner is not None:
            await runner.kick(checked.opened)  # it pages like any P0; the sweeper is the backstop
    if checked.resolved:
        log.warning("alertmanager heartbeat back", extra={"incident_ids": checked.resolved})


@asynccontextmanager
async def incidents_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    app.state.scrape_hooks.append(refresh_gauges)
    ingest_engine = make_ingest_engine(settings)
    batcher = IngestBatcher(
        ingest_engine,
        app.state.clock,
        list(settings.PIPELINE_PRIORITIES),
        lanes=settings.WEBHOOK_INGEST_LANES,
        max_alerts=settings.WEBHOOK_BATCH_MAX_ALERTS,
        heartbeat_alertname=settings.HEARTBEAT_ALERTNAME or None,
    )
    set_ingest_batcher(app, batcher)
    add_job(app, "flag_stale", _flag_stale)
    add_job(app, "heartbeats", _check_heartbeats)
    try:
        yield
    finally:
        await batcher.close()
        await ingest_engine.dispose()

"""Incidents' part of the lifespan: the stale-flagging loop and the metrics scrape hook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.incidents import service
from app.incidents.batcher import IngestBatcher
from app.incidents.deps import set_ingest_batcher
from app.incidents.metrics import refresh_gauges

log = logging.getLogger(__name__)


async def _maintenance_loop(app: FastAPI) -> None:
    settings = app.state.settings
    while True:
        try:
            async with app.state.sessionmaker() as session:
                flagged = await service.flag_stale(
                    session, app.state.clock.now(), settings.INCIDENT_STALE_AFTER_SECONDS
                )
            if flagged:
                log.warning("incidents flagged stale", extra={"incident_ids": flagged})
        except Exception:  # the loop must outlive a database outage
            log.exception("stale-incident check failed")
        await asyncio.sleep(settings.MAINTENANCE_INTERVAL_SECONDS)


@asynccontextmanager
async def incidents_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    app.state.scrape_hooks.append(refresh_gauges)
    batcher = IngestBatcher(
        app.state.engine,
        app.state.clock,
        list(settings.PIPELINE_PRIORITIES),
        lanes=settings.WEBHOOK_INGEST_LANES,
        max_alerts=settings.WEBHOOK_BATCH_MAX_ALERTS,
    )
    set_ingest_batcher(app, batcher)
    task = asyncio.create_task(_maintenance_loop(app), name="incident-maintenance")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await batcher.close()

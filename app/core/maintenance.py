"""The maintenance loop: every MAINTENANCE_INTERVAL_SECONDS, each registered job in turn.

Domains register jobs in their lifespan (`add_job`); one failing job is logged and the others
still run, and the loop outlives a database outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

log = logging.getLogger(__name__)

MaintenanceJob = Callable[[FastAPI], Awaitable[None]]


def add_job(app: FastAPI, name: str, job: MaintenanceJob) -> None:
    """Run `job(app)` on every pass of the maintenance loop."""
    app.state.maintenance_jobs.append((name, job))


async def run_jobs(app: FastAPI) -> None:
    """One pass: each job once, in registration order."""
    for name, job in list(app.state.maintenance_jobs):
        try:
            await job(app)
        except Exception:  # one job's failure must not stop the others or the loop
            log.exception("maintenance job failed", extra={"job": name})


async def _loop(app: FastAPI) -> None:
    # The first pass waits an interval too: start-up (and each test's app) stays quiet.
    while True:
        await asyncio.sleep(app.state.settings.MAINTENANCE_INTERVAL_SECONDS)
        await run_jobs(app)


@asynccontextmanager
async def maintenance_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the loop once every domain has registered its jobs (enter it last)."""
    task = asyncio.create_task(_loop(app), name="maintenance")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

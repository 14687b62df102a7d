"""Retention's part of the lifespan: its job on the maintenance loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.maintenance import add_job
from app.retention.job import run_retention


async def _retention(app: FastAPI) -> None:
    settings = app.state.settings
    await run_retention(app.state.engine, settings, settings.DATA_DIR, app.state.clock.now())


@asynccontextmanager
async def retention_lifespan(app: FastAPI) -> AsyncIterator[None]:
    add_job(app, "retention", _retention)
    yield

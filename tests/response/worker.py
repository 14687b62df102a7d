"""A pipeline worker in its own OS process (multiprocessing spawn), for kill and race tests."""

from __future__ import annotations

import asyncio
from typing import Any

from app.core.clock import Clock
from app.core.db import make_engine, make_sessionmaker
from app.core.settings import load_settings
from app.response.lifespan import pipeline_runtime


async def _serve(database_url: str, overrides: dict[str, Any]) -> None:
    settings = load_settings(DATABASE_URL=database_url, **overrides)
    engine = make_engine(settings)
    try:
        async with pipeline_runtime(settings, make_sessionmaker(engine), Clock()):
            await asyncio.Event().wait()  # runs until the test kills or terminates it
    finally:
        await engine.dispose()


def serve(database_url: str, overrides: dict[str, Any]) -> None:
    asyncio.run(_serve(database_url, overrides))

"""The push domain's lifespan part: one Telegram client per process, closed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.push.telegram import make_telegram_client


@asynccontextmanager
async def push_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Expose the client as `app.state.push_telegram` for the routes."""
    client = make_telegram_client(app.state.settings)
    app.state.push_telegram = client
    try:
        yield
    finally:
        await client.aclose()

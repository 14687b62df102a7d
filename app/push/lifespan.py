"""The push domain's lifespan part: one Telegram client per process, closed on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.push.deps import set_telegram
from app.push.telegram import make_telegram_client


@asynccontextmanager
async def push_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The client the routes get through `push.deps.TelegramDep`."""
    client = make_telegram_client(app.state.settings)
    set_telegram(app, client)
    try:
        yield
    finally:
        await client.aclose()

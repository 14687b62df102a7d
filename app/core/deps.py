"""Typed dependencies on what the lifespan built; routes never read `app.state` themselves.

Async on purpose: a plain `def` dependency would cost a threadpool hop on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.metrics import GaugeRefresher
from app.core.settings import Settings

# Refreshes database-derived gauges before a /metrics scrape.
ScrapeHook = Callable[[async_sessionmaker[AsyncSession]], Awaitable[None]]


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def app_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def app_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def app_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


async def app_probe_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.probe_engine
    return engine


async def app_probe_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.probe_sessionmaker
    return sessionmaker


async def app_gauge_refresher(request: Request) -> GaugeRefresher:
    refresher: GaugeRefresher = request.app.state.gauge_refresher
    return refresher


async def app_schema_heads(request: Request) -> list[str]:
    heads: list[str] = request.app.state.schema_heads
    return heads


async def app_scrape_hooks(request: Request) -> list[ScrapeHook]:
    hooks: list[ScrapeHook] = request.app.state.scrape_hooks
    return hooks


SettingsDep = Annotated[Settings, Depends(app_settings)]
ClockDep = Annotated[Clock, Depends(app_clock)]
EngineDep = Annotated[AsyncEngine, Depends(app_engine)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(app_sessionmaker)]
# The probe pool (/health, /ready, scrape gauges): never the webhook's connections.
ProbeEngineDep = Annotated[AsyncEngine, Depends(app_probe_engine)]
ProbeSessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(app_probe_sessionmaker)]
GaugeRefresherDep = Annotated[GaugeRefresher, Depends(app_gauge_refresher)]
SchemaHeadsDep = Annotated[list[str], Depends(app_schema_heads)]
ScrapeHooksDep = Annotated[list[ScrapeHook], Depends(app_scrape_hooks)]

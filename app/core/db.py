"""Declarative Base with a naming convention; engine and sessionmaker are built in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from app.core.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Normalise any postgres URL to the asyncpg driver."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def make_engine(
    settings: Settings,
    url: str | None = None,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    server_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    """An asyncpg engine sized for one worker; statement timeout keeps a stuck DB from hanging us."""
    target = url or settings.DATABASE_URL
    if target is None:
        raise ValueError("no database URL: start the embedded server or set DATABASE_URL")
    return create_async_engine(
        async_url(target),
        pool_size=settings.DATABASE_POOL_SIZE if pool_size is None else pool_size,
        max_overflow=settings.DATABASE_MAX_OVERFLOW if max_overflow is None else max_overflow,
        # No pre-ping: it is a round trip on every checkout of the hot path. A dead connection
        # instead fails one request (503, retried by the caller) and is invalidated.
        pool_pre_ping=False,
        pool_timeout=settings.DATABASE_TIMEOUT_SECONDS,
        connect_args={
            "timeout": settings.DATABASE_TIMEOUT_SECONDS,
            "command_timeout": max(settings.DATABASE_TIMEOUT_SECONDS * 6, 30),
            "server_settings": {"application_name": "ops-backend", **(server_settings or {})},
        },
    )


def make_probe_engine(settings: Settings) -> AsyncEngine:
    """A pool of its own for /health, /ready and the /metrics gauges: a probe or a scrape
    never waits behind the webhook for a connection, nor takes one from it."""
    return make_engine(settings, pool_size=1, max_overflow=2)


# The webhook statement's planner settings. Its plan is made once per connection and kept, so
# a sequential scan chosen while `incidents` was small would read the whole table on every
# webhook once it is large; every table the statement reads has an index for it.
INGEST_PLANNER = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}


def make_ingest_engine(settings: Settings) -> AsyncEngine:
    """The webhook statement's own pool, one connection per ingest lane.

    Its one statement always runs its cached generic plan: PostgreSQL would otherwise re-plan
    it on every webhook (1.3 ms of database CPU each, more than running it), because the
    custom plans look cheaper than the generic one. The generic plan is index probes whatever
    the table held when it was made (tests/incidents/test_ingest_plan.py). A pool of its own
    also means the response pipeline can never take the connections alerts are stored on.
    """
    return make_engine(
        settings,
        pool_size=settings.WEBHOOK_INGEST_LANES,
        max_overflow=0,
        server_settings={"application_name": "ops-backend-ingest", **INGEST_PLANNER},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (responses are built after the commit)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for handlers that only read: no BEGIN and ROLLBACK round trips around the
    query. Nothing is lost: in READ COMMITTED every statement takes its own snapshot anyway."""
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the handler's service owns the transaction and commits it."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One autocommit session per request, for handlers that never write."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    async with sessionmaker() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The asyncpg connection behind a pooled SQLAlchemy connection (same pool, no ORM).

    For the webhook hot path only: the session machinery costs more CPU than the statement.
    """
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        try:
            yield raw.driver_connection
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
            # SQLAlchemy never saw this error: tell its pool the connection is dead.
            await conn.invalidate()
            raise

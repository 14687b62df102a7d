"""Test database plumbing: a fresh database per run on TEST_DATABASE_URL (or a throwaway pgserver)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.core.db import Base
from app.models_registry import import_all_models

_pgserver: Any = None


def server_url() -> str:
    """The server tests may create databases on."""
    global _pgserver
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    if _pgserver is None:
        import pgserver

        _pgserver = pgserver.get_server(Path(tempfile.mkdtemp(prefix="ops-test-pg-")), "delete")
    return str(_pgserver.get_uri())


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def plain(url: str) -> str:
    """asyncpg.connect wants postgresql:// without a driver suffix."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(prefix: str = "ops_test") -> str:
    """Create a uniquely named database and return its URL (parallel runs never collide)."""
    base = server_url()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    return with_database(base, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(
        _admin(with_database(url, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


def table_names() -> list[str]:
    import_all_models()
    return [t.name for t in Base.metadata.sorted_tables]


async def truncate_all(url: str) -> None:
    """Clean state between tests: every application table emptied."""
    names = ", ".join(f'"{n}"' for n in table_names())
    await _admin(url, f"TRUNCATE {names} RESTART IDENTITY CASCADE")

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from app.core import migrations
from tests import dbutil


@pytest.fixture
def empty_db() -> Iterator[str]:
    url = dbutil.create_database("ops_mig")
    yield url
    dbutil.drop_database(url)


def _query(url: str, sql: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dbutil.plain(url))
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    rows = _query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


def test_upgrade_downgrade_upgrade(empty_db: str) -> None:
    migrations.upgrade(empty_db)
    assert "incidents" in _tables(empty_db)
    columns = {
        r["column_name"]: (r["data_type"], r["is_nullable"])
        for r in _query(
            empty_db,
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'incidents'",
        )
    }
    assert columns["id"] == ("character varying", "NO")
    assert columns["alert_name"] == ("character varying", "NO")
    assert columns["priority"][0] == "USER-DEFINED"
    assert columns["resolved_at"] == ("timestamp with time zone", "YES")
    assert columns["diagnostics"][0] == "jsonb"
    indexes = {r["indexname"] for r in _query(empty_db, "SELECT indexname FROM pg_indexes")}
    assert {"ix_incidents_status", "ix_incidents_priority", "ix_incidents_created_at"} <= indexes

    migrations.downgrade(empty_db, "base")
    assert _tables(empty_db) == {"alembic_version"}
    types = _query(empty_db, "SELECT typname FROM pg_type WHERE typname LIKE 'incident_%'")
    assert types == []

    migrations.upgrade(empty_db)
    assert "incidents" in _tables(empty_db)


def test_models_match_migrations(database_url: str) -> None:
    """The ORM models and the migrated schema agree (no forgotten migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from app.core.db import Base
    from app.models_registry import import_all_models

    import_all_models()
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []

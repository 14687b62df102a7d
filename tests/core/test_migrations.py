from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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
    assert {
        "ix_incidents_status_created_at",
        "ix_incidents_priority_created_at",
        "ix_incidents_created_at",
    } <= indexes
    assert not {"ix_incidents_status", "ix_incidents_priority"} & indexes

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


ROOT = Path(__file__).resolve().parents[2]


def test_the_migrations_have_one_head() -> None:
    """A new migration revises the current head; two heads break a plain `upgrade head`."""
    assert len(migrations.head_revisions()) == 1, migrations.head_revisions()


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_plain_alembic_upgrade_head_on_an_empty_database(empty_db: str) -> None:
    """What a Kubernetes migration Job or an operator runs: the alembic CLI, nothing of ours."""
    done = _run([sys.executable, "-m", "alembic", "upgrade", "head"], empty_db)
    assert done.returncode == 0, done.stderr
    assert {"incidents", "incident_deliveries", "push_messages"} <= _tables(empty_db)
    [row] = _query(empty_db, "SELECT version_num FROM alembic_version")
    assert [row["version_num"]] == migrations.head_revisions()


def test_ops_backend_migrate_on_an_empty_database(empty_db: str) -> None:
    done = _run([sys.executable, "-m", "app.cli", "migrate"], empty_db)
    assert done.returncode == 0, done.stderr
    [row] = _query(empty_db, "SELECT version_num FROM alembic_version")
    assert [row["version_num"]] == migrations.head_revisions()

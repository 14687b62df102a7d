"""The migration Job's command, run as the Job runs it (from the image's /app = the repo root)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import yaml

from app.core import migrations
from tests import dbutil
from tests.deploy.tools import ROOT


@pytest.fixture
def empty_db() -> Iterator[str]:
    url = dbutil.create_database("ops_job")
    yield url
    dbutil.drop_database(url)


def _revisions(url: str) -> list[str]:
    async def run() -> list[str]:
        conn = await asyncpg.connect(dbutil.plain(url))
        try:
            return sorted(r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version"))
        finally:
            await conn.close()

    return asyncio.run(run())


def test_migration_job_brings_an_empty_database_to_the_code_heads(empty_db: str) -> None:
    job = yaml.safe_load((ROOT / "k8s" / "migrate-job.yaml").read_text())
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][0] == "alembic"
    assert container["workingDir"] == "/app"
    env = {
        **os.environ,
        "DATABASE_URL": empty_db,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        container["command"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _revisions(empty_db) == migrations.head_revisions()

"""Shared fixtures: one fresh database per run, migrated by Alembic; clean tables per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core import migrations
from app.core.clock import FixedClock
from app.core.redact import configure_secrets
from app.core.settings import Settings, load_settings
from app.main import create_app
from tests import dbutil

TOKENS = {
    "ALERTMANAGER_TOKEN": "am-token-0123456789abcdef",
    "VIEWER_TOKEN": "viewer-token-0123456789abcdef",
    "OPERATOR_TOKEN": "operator-token-0123456789abcdef",
    "OPS_SCRIPT_TOKEN": "ops-script-token-0123456789abcdef",
}


def bearer(name: str) -> dict[str, str]:
    """Authorization header for one of the test tokens ('ALERTMANAGER', 'VIEWER', ...)."""
    return {"Authorization": f"Bearer {TOKENS[f'{name}_TOKEN']}"}


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = dbutil.create_database()
    migrations.upgrade(url)
    yield url
    dbutil.drop_database(url)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def settings(database_url: str, data_dir: Path, settings_overrides: dict[str, Any]) -> Settings:
    return load_settings(
        DATABASE_URL=database_url,
        DATA_DIR=data_dir,
        **{k: v for k, v in TOKENS.items()},
        **settings_overrides,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 25, 9, 5, 30, tzinfo=UTC))


@pytest.fixture
async def clean_db(database_url: str) -> AsyncIterator[None]:
    await dbutil.truncate_all(database_url)
    yield
    configure_secrets(())


@pytest.fixture
async def app(settings: Settings, clock: FixedClock, clean_db: None) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The leak scan (tests/leak_scan.py) over every artifact this run wrote: a hit fails it."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or session.testscollected == 0 or factory._basetemp is None:
        return  # no test ran, or none used a temporary directory: nothing was written
    from tests.leak_scan import scan

    hits = list(scan(factory.getbasetemp()))
    if hits:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"  {path} carries {which}" for path, which in hits[:50]]
        message = "\n".join(["LEAK SCAN: a configured test secret is in an artifact:", *lines])
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

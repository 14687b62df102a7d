"""GET /api/ops/summary: each reason, the overall status, the report file, a dead database."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import FixedClock
from app.core.settings import Settings, load_settings
from app.incidents.models import Heartbeat, Incident, IncidentEvent, IncidentStatus, Priority
from app.main import create_app
from app.ops.checks import CHECKS, CheckContext, OpsCheckSpec
from app.ops.schemas import OpsCheck
from app.ops.summary import build_summary
from app.push import paths as P
from app.push.models import PushSelfTest
from app.response.models import PageGroup
from tests.conftest import TOKENS, bearer
from tests.fakes.server import free_port

READ = bearer("VIEWER")
OP = bearer("OPERATOR")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"PIPELINE_ENABLED": False, "OPS_PAGE_OVERDUE_SECONDS": 300}


def _sm(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return sessionmaker


async def add_incident(
    app: FastAPI,
    created: datetime,
    *,
    priority: Priority = Priority.P0,
    status: IncidentStatus = IncidentStatus.OPEN,
    stale: bool = False,
) -> str:
    incident_id = str(uuid.uuid4())
    async with _sm(app)() as session, session.begin():
        session.add(
            Incident(
                id=incident_id,
                alert_name="HighErrorRate",
                priority=priority,
                status=status,
                created_at=created,
                last_seen_at=created,
                source="api",
                stale=stale,
            )
        )
    return incident_id


async def add_rows(app: FastAPI, *rows: Any) -> None:
    async with _sm(app)() as session, session.begin():
        session.add_all(rows)


async def summary(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/ops/summary", headers=READ)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


async def test_all_clear_is_ok_and_written(client: httpx.AsyncClient, data_dir: Path) -> None:
    body = await summary(client)
    assert body["schema"] == "OPS_SUMMARY_V1"
    assert body["overall_status"] == "OK"
    assert body["reasons"] == []
    assert [c["name"] for c in body["checks"]] == [s.name for s in CHECKS]
    assert {c["status"] for c in body["checks"]} == {"OK"}
    assert json.loads((data_dir / P.OPS_SUMMARY_LATEST).read_text()) == body
    assert (await client.get("/api/ops/summary")).status_code == 401


async def test_emergency_stop_blocks(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        "/api/push/gates", json={"emergency_stop": True, "reason": "drill"}, headers=OP
    )
    assert response.status_code == 200
    body = await summary(client)
    assert (body["overall_status"], codes(body)) == ("BLOCKED", ["EMERGENCY_STOP"])


async def test_open_p0_and_overdue_pages(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    now = clock.now()
    await add_incident(app, now - timedelta(minutes=1), priority=Priority.P1)
    await add_incident(app, now - timedelta(minutes=1), status=IncidentStatus.RESOLVED)
    fresh = await add_incident(app, now - timedelta(minutes=1))
    body = await summary(client)
    assert codes(body) == ["OPEN_P0_INCIDENTS"]  # opened a minute ago: the page is not late
    assert body["checks"][2]["detail"] == {"count": 1, "incident_ids": [fresh]}

    old = await add_incident(app, now - timedelta(minutes=10))
    body = await summary(client)
    assert (body["overall_status"], codes(body)) == (
        "BLOCKED",
        ["OPEN_P0_INCIDENTS", "OVERDUE_PAGES"],
    )
    overdue = body["checks"][3]
    assert overdue["detail"]["incident_ids"] == [old]
    assert "PAGERDUTY_ROUTING_KEY is not set" in overdue["reason"]["message"]

    # Its group's page is open at PagerDuty: paged.
    group = PageGroup(key="k" * 64, receiver="api", group_key="g", pd_state="triggered")
    await add_rows(app, group)
    async with _sm(app)() as session, session.begin():
        await session.execute(update(Incident).where(Incident.id == old).values(page_key=group.key))
    assert codes(await summary(client)) == ["OPEN_P0_INCIDENTS"]

    # Reopened seven minutes ago, after its group's page resolved: not paged again yet.
    reopened = IncidentEvent(
        incident_id=old, at=now - timedelta(minutes=7), kind="reopen", actor="operator"
    )
    await add_rows(app, reopened)
    async with _sm(app)() as session, session.begin():
        await session.execute(update(PageGroup).values(pd_state="idle", episode=1))
    body = await summary(client)
    assert body["checks"][3]["detail"]["incident_ids"] == [old]
    async with _sm(app)() as session, session.begin():
        await session.execute(update(PageGroup).values(pd_state="acknowledged"))
    assert codes(await summary(client)) == ["OPEN_P0_INCIDENTS"]


async def test_self_test_failing_and_stale_incidents_warn(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    failing = PushSelfTest(
        id=str(uuid.uuid4()), asof=clock.now(), decision="SELF_TEST_FAIL", document={}
    )
    await add_rows(app, failing)
    await add_incident(app, clock.now(), priority=Priority.P1, stale=True)
    body = await summary(client)
    assert (body["overall_status"], codes(body)) == (
        "WARN",
        ["SELF_TEST_FAILING", "STALE_INCIDENTS"],
    )
    assert {r["status"] for r in body["reasons"]} == {"WARN"}


async def test_a_broken_check_warns_without_hiding_the_others(
    app: FastAPI, settings: Settings, clock: FixedClock
) -> None:
    async def broken(ctx: CheckContext) -> OpsCheck:
        raise RuntimeError("bug")

    checks = [*CHECKS[:2], OpsCheckSpec("broken", broken), *CHECKS[2:]]
    async with _sm(app)() as session:
        result = await build_summary(session, settings, clock.now(), checks)
    assert result.overall_status == "WARN"
    assert [c.status for c in result.checks].count("OK") == len(CHECKS)
    assert [r.code for r in result.reasons] == ["CHECK_ERROR"]


@pytest.fixture
async def dead_db_client(data_dir: Path, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/gone",
        DATA_DIR=data_dir,
        DATABASE_TIMEOUT_SECONDS=1,
        PIPELINE_ENABLED=False,
        **TOKENS,
    )
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dead") as http:
            yield http


async def test_database_down_is_blocked_not_503(
    dead_db_client: httpx.AsyncClient, data_dir: Path
) -> None:
    body = await summary(dead_db_client)
    assert (body["overall_status"], codes(body)) == ("BLOCKED", ["DATABASE_DOWN"])
    assert [c["status"] for c in body["checks"]] == ["BLOCKED"] + ["SKIPPED"] * (len(CHECKS) - 1)
    assert json.loads((data_dir / P.OPS_SUMMARY_LATEST).read_text()) == body


async def test_a_silent_heartbeat_blocks(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    beat = Heartbeat(
        receiver="am-1",
        alert_name="Watchdog",
        first_seen_at=clock.now() - timedelta(hours=1),
        last_seen_at=clock.now() - timedelta(seconds=30),
        beats=120,
    )
    await add_rows(app, beat)
    assert codes(await summary(client)) == []
    clock.advance(timedelta(seconds=600))
    body = await summary(client)
    assert (body["overall_status"], codes(body)) == ("BLOCKED", ["HEARTBEAT_MISSING"])
    [check] = [c for c in body["checks"] if c["name"] == "heartbeats"]
    assert check["detail"]["receivers"] == ["am-1"]

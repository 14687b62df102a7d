"""Retention of rows, through the maintenance loop's pass, with a fixed clock.

Old rows of each kind go, recent ones stay, rows of other kinds are never touched, and one pass
deletes at most RETENTION_BATCH_SIZE x RETENTION_MAX_BATCHES_PER_PASS rows of a kind.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.core.clock import FixedClock
from app.core.maintenance import run_jobs
from app.incidents.models import IgnoredAlert, Incident, IncidentEvent, Priority
from app.push.models import PushSendReceipt
from app.response.models import Delivery, DeliveryAttempt, PageCall

DAY = timedelta(days=1)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"PIPELINE_ENABLED": False, "RETENTION_BATCH_SIZE": 10}


async def _incident(app: FastAPI) -> str:
    incident_id = str(uuid.uuid4())
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            Incident(
                id=incident_id,
                alert_name="DiskSpaceLow",
                priority=Priority("P2"),
                summary="disk",
                labels={"alertname": "DiskSpaceLow"},
                annotations={},
                fingerprint=uuid.uuid4().hex,
            )
        )
    return incident_id


async def _count(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def _fill(app: FastAPI, clock: FixedClock) -> str:
    """Of every kind: rows past their default retention and rows well inside it."""
    now = clock.now()
    incident_id = await _incident(app)
    async with app.state.sessionmaker() as session, session.begin():
        for age in (31 * DAY, 1 * DAY):  # timeline 'repeated': 30 days
            session.add(
                IncidentEvent(incident_id=incident_id, at=now - age, kind="repeated", actor="am")
            )
            # Other timeline rows are the incident's history: never expired.
            session.add(
                IncidentEvent(incident_id=incident_id, at=now - age, kind="created", actor="am")
            )
            session.add(  # ignored alerts: 30 days
                IgnoredAlert(
                    received_at=now - age,
                    fingerprint=uuid.uuid4().hex,
                    alert_name="Gone",
                    reason="no_incident",
                    labels={},
                )
            )
        delivery = Delivery(
            incident_id=incident_id, channel="slack", event="notify", state="delivered"
        )
        session.add(delivery)
        await session.flush()
        for age in (91 * DAY, 1 * DAY):  # delivery attempts and push receipts: 90 days
            session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    incident_id=incident_id,
                    channel="slack",
                    event="notify",
                    attempt=1,
                    http_status=200,
                    at=now - age,
                )
            )
            session.add(  # the page call log: 90 days
                PageCall(
                    page_key="k" * 64,
                    episode=0,
                    channel="pagerduty",
                    event="trigger",
                    result="delivered",
                    http_status=202,
                    at=now - age,
                )
            )
            session.add(
                PushSendReceipt(
                    send_id=str(uuid.uuid4()),
                    asof=now - age,
                    message_id=None,
                    decision="SKIPPED",
                    blocked_reason="NO_MESSAGES",
                    document={},
                )
            )
    return incident_id


async def test_old_rows_go_recent_and_other_rows_stay(app: FastAPI, clock: FixedClock) -> None:
    await _fill(app, clock)
    cutoff_30, cutoff_90 = clock.now() - 30 * DAY, clock.now() - 90 * DAY

    await run_jobs(app)  # one pass of the maintenance loop

    repeated = IncidentEvent.kind == "repeated"
    assert await _count(app, IncidentEvent, repeated, IncidentEvent.at < cutoff_30) == 0
    assert await _count(app, IncidentEvent, repeated) == 1
    assert await _count(app, IncidentEvent, IncidentEvent.kind == "created") == 2
    assert await _count(app, IgnoredAlert, IgnoredAlert.received_at < cutoff_30) == 0
    assert await _count(app, IgnoredAlert) == 1
    assert await _count(app, DeliveryAttempt, DeliveryAttempt.at < cutoff_90) == 0
    assert await _count(app, DeliveryAttempt) == 1
    assert await _count(app, PushSendReceipt, PushSendReceipt.asof < cutoff_90) == 0
    assert await _count(app, PushSendReceipt) == 1
    assert await _count(app, PageCall, PageCall.at < cutoff_90) == 0
    assert await _count(app, PageCall) == 1
    assert await _count(app, Delivery) == 1  # the delivery record itself stays


@pytest.mark.parametrize(
    "settings_overrides",
    [{"PIPELINE_ENABLED": False, "RETENTION_BATCH_SIZE": 10, "RETENTION_MAX_BATCHES_PER_PASS": 2}],
)
async def test_a_pass_is_bounded_and_the_next_one_continues(
    app: FastAPI, clock: FixedClock
) -> None:
    now = clock.now()
    async with app.state.sessionmaker() as session, session.begin():
        session.add_all(
            IgnoredAlert(
                received_at=now - (40 * DAY) - timedelta(minutes=i),
                fingerprint=f"old-{i}",
                alert_name="Gone",
                reason="no_incident",
                labels={},
            )
            for i in range(25)
        )
    await run_jobs(app)
    assert await _count(app, IgnoredAlert) == 5  # 2 batches of 10, oldest first
    left = await _count(
        app, IgnoredAlert, IgnoredAlert.fingerprint.in_([f"old-{i}" for i in range(5)])
    )
    assert left == 5  # the newest of the old ones wait for the next pass
    await run_jobs(app)
    assert await _count(app, IgnoredAlert) == 0


@pytest.mark.parametrize(
    "settings_overrides",
    [{"PIPELINE_ENABLED": False, "RETENTION_IGNORED_ALERTS_DAYS": 0}],
)
async def test_zero_days_keeps_for_ever(app: FastAPI, clock: FixedClock) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            IgnoredAlert(
                received_at=clock.now() - 3650 * DAY,
                fingerprint="ancient",
                alert_name="Gone",
                reason="no_incident",
                labels={},
            )
        )
    await run_jobs(app)
    assert await _count(app, IgnoredAlert) == 1


@pytest.mark.parametrize(
    "settings_overrides", [{"PIPELINE_ENABLED": False, "MAINTENANCE_INTERVAL_SECONDS": 0.05}]
)
async def test_the_maintenance_loop_runs_the_job_on_its_own(
    app: FastAPI, clock: FixedClock
) -> None:
    """Registered by the retention lifespan, run by the loop every interval: no caller needed."""
    assert [name for name, _ in app.state.maintenance_jobs] == [
        "flag_stale",
        "heartbeats",
        "retention",
    ]
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            IgnoredAlert(
                received_at=clock.now() - 31 * DAY,
                fingerprint="old",
                alert_name="Gone",
                reason="no_incident",
                labels={},
            )
        )
    for _ in range(400):  # a deadline for a broken loop, not a speed assertion
        if await _count(app, IgnoredAlert) == 0:
            break
        await asyncio.sleep(0.05)
    assert await _count(app, IgnoredAlert) == 0

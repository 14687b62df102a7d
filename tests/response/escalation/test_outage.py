"""Issue 9 point 2: PagerDuty down for longer than the pipeline's attempts. The page is never
abandoned: it is retried with capped backoff, made visible once (timeline, metric, one
notice through Slack and Telegram) and delivered when PagerDuty is back; /ready stays ready."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.core.clock import FixedClock
from app.push.models import PushMessage
from app.response.escalation.queries import overdue_pages
from app.response.runner import PipelineRunner
from tests.response.conftest import (
    Peers,
    Sleeps,
    insert_incident,
    load,
    page_calls,
    run_pipelines,
    timeline,
)

OUTAGE = {
    "PIPELINE_MAX_ATTEMPTS": 2,
    "PIPELINE_RETRY_DELAY_SECONDS": 0,
    "PAGE_OVERDUE_SECONDS": 180,
    "PAGE_RETRY_MAX_DELAY_SECONDS": 60,
}


async def sweep(app: FastAPI) -> None:
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()
    await runner.wait_idle()


@pytest.mark.parametrize("extra_settings", [OUTAGE])
async def test_a_pagerduty_outage_longer_than_the_pipeline_never_abandons_the_page(
    app: FastAPI,
    client: httpx.AsyncClient,
    peers: Peers,
    sleeps: Sleeps,
    clock: FixedClock,
    record_property: object,
) -> None:
    peers.pagerduty.always = "500"
    incident_id = await insert_incident(app, "NodeDown", priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    for _ in range(10 * 6):  # ten minutes of sweeps, ten seconds apart
        clock.advance(timedelta(seconds=10))
        await sweep(app)
        assert (await client.get("/ready")).status_code == 200

    incident = await load(app, incident_id)
    assert incident.pipeline_state.value == "done"  # the pipeline never waited on PagerDuty
    assert incident.page_decision == "pending"
    assert peers.pagerduty.incidents == []
    tries = [c for c in await page_calls(app, incident_id) if c.channel == "pagerduty"]
    assert all(c.result == "failed" and c.http_status == 500 for c in tries)
    assert 5 <= len(tries) <= 15  # capped backoff: 5, 10, 20, 40, then every 60 s

    notices = [m for m in peers.slack.requests if "PagerDuty unreachable" in m["text"]]
    assert len(notices) == 1  # one notice, not one per sweep
    assert "page for NodeDown" in notices[0]["text"]
    assert "pending since" in notices[0]["text"]
    overdue = [e for e in await timeline(app, incident_id) if e.kind == "page_overdue"]
    assert len(overdue) == 1
    async with app.state.sessionmaker() as session:
        pushes = list(
            await session.scalars(
                select(PushMessage).where(PushMessage.dedup_key.like("page-overdue:%"))
            )
        )
        late = await overdue_pages(session, clock.now(), 180)
    assert len(pushes) == 1  # the Telegram notice, through the push pipeline
    assert [p.incident_ids for p in late] == [[incident_id]]
    assert "pages_overdue 1.0" in (await client.get("/metrics")).text

    peers.pagerduty.always = None  # PagerDuty is back
    clock.advance(timedelta(seconds=60))
    await sweep(app)
    assert len(peers.pagerduty.incidents) == 1
    assert (await load(app, incident_id)).page_decision == "paged"
    assert "pages_overdue 0.0" in (await client.get("/metrics")).text
    record_property("pagerduty_attempts_during_outage", len(tries))
    record_property("overdue_notices", len(notices))

"""PagerDuty and Slack through the group ledger: claimed calls, audited results, retries with
capped backoff (never abandoned while wanted), follow-ups bounded, secrets never stored."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.clock import FixedClock
from app.incidents.models import IncidentStatus
from app.response.escalation.reconcile import reconcile
from app.response.runner import PipelineRunner
from tests.fakes.k8s import Deployment
from tests.response.conftest import (
    ROUTING_KEY,
    Peers,
    Sleeps,
    dedup_key_of,
    insert_incident,
    load,
    page_calls,
    page_group,
    run_pipelines,
)


async def sweep(app: FastAPI) -> None:
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()
    await runner.wait_idle()


async def test_pagerduty_400_is_retried_only_at_the_slowest_pace(
    app: FastAPI, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    peers.pagerduty.script.append("400")
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    [call] = [c for c in await page_calls(app, incident_id) if c.channel == "pagerduty"]
    assert (call.event, call.result, call.http_status, call.error_class) == (
        "trigger",
        "failed",
        400,
        "HTTP400",
    )
    assert "Event object is invalid" in (call.error or "")
    group = await page_group(app, incident_id)
    assert group.pd_state == "triggering"  # still owed: a page is never dropped
    assert group.next_attempt_at == clock.now() + timedelta(seconds=300)
    assert (await load(app, incident_id)).pipeline_state.value == "done"


async def test_pagerduty_429_honours_retry_after(
    app: FastAPI, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    peers.pagerduty.retry_after = 7
    peers.pagerduty.script.append("429")
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    assert (await page_group(app, incident_id)).next_attempt_at == clock.now() + timedelta(
        seconds=7
    )
    await sweep(app)
    assert len(peers.pagerduty.requests) == 1  # not before Retry-After
    clock.advance(timedelta(seconds=7))
    await sweep(app)
    calls = await page_calls(app, incident_id)
    assert [(c.http_status, c.result) for c in calls if c.channel == "pagerduty"] == [
        (429, "failed"),
        (202, "delivered"),
    ]
    assert {r["dedup_key"] for r in peers.pagerduty.requests} == {dedup_key_of(incident_id)}
    assert len(peers.pagerduty.incidents) == 1


@pytest.mark.parametrize("extra_settings", [{"HTTP_TIMEOUT_SECONDS": 0.3}])
async def test_a_hanging_pagerduty_times_out_and_is_recorded(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.pagerduty.always = "hang"
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    try:
        await run_pipelines(app, incident_id)
    finally:
        peers.pagerduty.released = True
    [call] = [c for c in await page_calls(app, incident_id) if c.channel == "pagerduty"]
    assert (call.http_status, call.error_class, call.result) == (None, "ReadTimeout", "failed")


async def test_slack_posts_once_per_group_and_retries_a_429(
    app: FastAPI, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    peers.slack.script.append("429")
    incident_id = await insert_incident(app, priority="P1", service="nowhere")
    await run_pipelines(app, incident_id)
    clock.advance(timedelta(seconds=5))
    await sweep(app)
    calls = await page_calls(app, incident_id)
    slack = [(c.event, c.http_status) for c in calls if c.channel == "slack"]
    assert slack == [("opened", 429), ("opened", 200)]
    message = peers.slack.requests[-1]
    assert message["text"].startswith(":warning: [P1] KafkaConsumerLagHigh: 1 alert(s)")
    assert any(b["type"] == "actions" for b in message["blocks"])


async def test_two_workers_reconciling_one_group_page_once(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.pagerduty.delay = 0.2
    incident_id = await insert_incident(app, priority="P0", pipeline="none")
    runner: PipelineRunner = app.state.pipeline_runner
    from app.response.escalation.paging import page

    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE incidents SET page_decision = NULL WHERE id = :i"), {"i": incident_id}
        )
    results = await asyncio.gather(*(page(runner.deps, incident_id, o) for o in ("a", "b", "c")))
    key = (await load(app, incident_id)).page_key
    assert key is not None
    await asyncio.gather(*(reconcile(runner.deps, key, o) for o in ("d", "e")))
    assert len(peers.pagerduty.requests) == 1
    assert {r.value for r in results} <= {"paged", "pending"}


async def test_acknowledge_and_resolve_follow_the_group(
    app: FastAPI, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE incidents SET acknowledged_at = now() WHERE id = :id"), {"id": incident_id}
        )
    await sweep(app)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE incidents SET status = :s, resolved_at = :at WHERE id = :id"),
            {"s": IncidentStatus.CLOSED.value, "id": incident_id, "at": clock.now()},
        )
    await sweep(app)
    clock.advance(timedelta(seconds=61))  # PAGE_RESOLVE_DELAY_SECONDS
    await sweep(app)
    await sweep(app)
    assert [r["event_action"] for r in peers.pagerduty.requests] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert peers.pagerduty.requests[2] == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": dedup_key_of(incident_id),
    }


@pytest.mark.parametrize("extra_settings", [{"PAGE_FOLLOWUP_MAX_ATTEMPTS": 4}])
async def test_failed_follow_ups_back_off_and_stop(
    app: FastAPI, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    """Issue 9 point 8: a resolve PagerDuty keeps refusing is retried with a growing delay,
    a bounded number of times, then given up on the record; sweeps write nothing after."""
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    peers.pagerduty.always = "500"
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE incidents SET status = 'resolved', resolved_at = :at WHERE id = :id"),
            {"id": incident_id, "at": clock.now()},
        )
    clock.advance(timedelta(seconds=61))
    delays = []
    for _ in range(30):  # many sweeps, a second apart
        await sweep(app)
        group = await page_group(app, incident_id)
        if group.next_attempt_at is not None and group.next_attempt_at > clock.now():
            delays.append((group.next_attempt_at - clock.now()).total_seconds())
            clock.advance(group.next_attempt_at - clock.now())
        else:
            clock.advance(timedelta(seconds=1))
    calls = [(c.event, c.result) for c in await page_calls(app, incident_id)]
    resolves = [c for c in calls if c[0] == "resolve"]
    assert resolves == [("resolve", "failed")] * 3 + [("resolve", "gave_up")]
    assert delays[:3] == [5.0, 10.0, 20.0]  # PAGE_RETRY_BASE_SECONDS, doubling
    assert len(peers.pagerduty.events("resolve")) == 4
    group = await page_group(app, incident_id)
    assert (group.pd_state, group.episode) == ("idle", 1)
    async with app.state.sessionmaker() as session:
        note = await session.scalar(
            text("SELECT note FROM incident_events WHERE kind = 'page_followup_failed'")
        )
    assert note is None or "gave up" in note


async def test_secrets_never_reach_the_database(app: FastAPI, peers: Peers, sleeps: Sleeps) -> None:
    peers.slack.script.append("500")
    peers.pagerduty.script.append("500")
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    async with app.state.sessionmaker() as session:
        dump = await session.scalar(
            text(
                "SELECT string_agg(t::text, ' ') FROM ("
                " SELECT row_to_json(d)::text AS t FROM incident_deliveries d"
                " UNION ALL SELECT row_to_json(c)::text FROM page_calls c"
                " UNION ALL SELECT row_to_json(g)::text FROM page_groups g"
                " UNION ALL SELECT row_to_json(e)::text FROM incident_events e"
                " UNION ALL SELECT row_to_json(i)::text FROM incidents i) x"
            )
        )
    assert dump
    assert ROUTING_KEY not in dump
    assert peers.slack_url not in dump
    assert "fakeSecretPart" not in dump


async def test_metrics_expose_the_response_series(
    app: FastAPI, peers: Peers, sleeps: Sleeps, client: httpx.AsyncClient
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=1))
    incident_id = await insert_incident(app, priority="P0")
    await run_pipelines(app, incident_id)
    body = (await client.get("/metrics")).text
    for name in (
        "remediation_success_rate ",
        'remediation_attempts_total{action="scale_deployment",result="dry_run"}',
        'escalations_total{channel="pagerduty",result="delivered"}',
        'page_calls_total{channel="pagerduty",event="trigger",result="delivered"}',
        'page_decisions_total{decision="paged"}',
        "pages_overdue 0.0",
        "pages_held 0.0",
        'diagnostics_duration_seconds_count{provider="all"}',
    ):
        assert name in body

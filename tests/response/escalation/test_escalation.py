"""PagerDuty and Slack: delivery claims, audited attempts, retries only where they help."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.incidents.models import IncidentStatus
from app.response.escalation.send import deliver
from app.response.runner import PipelineRunner
from tests.fakes.k8s import Deployment
from tests.response.conftest import (
    ROUTING_KEY,
    Peers,
    Sleeps,
    attempts,
    deliveries,
    insert_incident,
    load,
    run_pipelines,
)


async def test_pagerduty_400_is_not_retried(app: FastAPI, peers: Peers, sleeps: Sleeps) -> None:
    peers.pagerduty.script.append("400")
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    tries = [a for a in await attempts(app, incident_id) if a.channel == "pagerduty"]
    assert [(a.attempt, a.http_status, a.error_class) for a in tries] == [(1, 400, "HTTP400")]
    assert "Event object is invalid" in (tries[0].error or "")
    trigger = next(d for d in await deliveries(app, incident_id) if d.channel == "pagerduty")
    assert (trigger.state, trigger.retryable) == ("failed", False)
    assert (await load(app, incident_id)).pipeline_state.value == "done"


async def test_pagerduty_429_honours_retry_after(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.pagerduty.retry_after = 7
    peers.pagerduty.script.append("429")
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    tries = [a.http_status for a in await attempts(app, incident_id) if a.channel == "pagerduty"]
    assert tries == [429, 202]
    assert 7.0 in sleeps.waits
    assert len(peers.pagerduty.events("trigger")) == 2  # same dedup_key: one page at PagerDuty
    assert {r["dedup_key"] for r in peers.pagerduty.requests} == {incident_id}


@pytest.mark.parametrize("extra_settings", [{"PIPELINE_RETRY_DELAY_SECONDS": 0}])
async def test_pagerduty_5xx_exhausts_retries_then_the_pipeline_retries(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.pagerduty.always = "503"
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    assert [
        a.http_status for a in await attempts(app, incident_id) if a.channel == "pagerduty"
    ] == [
        503,
        503,
        503,
    ]
    incident = await load(app, incident_id)
    assert incident.pipeline_state.value == "pending"  # deferred, not lost

    peers.pagerduty.always = None
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()  # the deferred retry is due at once: a free worker claims it
    await runner.wait_idle()
    incident = await load(app, incident_id)
    assert incident.pipeline_state.value == "done"
    assert incident.pipeline_attempts == 2
    tries = [(a.attempt, a.http_status) for a in await attempts(app, incident_id)]
    assert [t for t in tries if t[1] != 200] == [(1, 503), (2, 503), (3, 503), (4, 202)]


@pytest.mark.parametrize("extra_settings", [{"HTTP_TIMEOUT_SECONDS": 0.3, "HTTP_MAX_ATTEMPTS": 2}])
async def test_a_hanging_pagerduty_times_out_and_is_recorded(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.pagerduty.always = "hang"
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    try:
        await run_pipelines(app, incident_id)
    finally:
        peers.pagerduty.released = True
    tries = [a for a in await attempts(app, incident_id) if a.channel == "pagerduty"]
    assert [(a.http_status, a.error_class) for a in tries] == [
        (None, "ReadTimeout"),
        (None, "ReadTimeout"),
    ]


@pytest.mark.parametrize(("answer", "statuses"), [("404", [404]), ("429", [429, 200])])
async def test_slack_errors(
    app: FastAPI, peers: Peers, sleeps: Sleeps, answer: str, statuses: list[int]
) -> None:
    peers.slack.script.append(answer)
    incident_id = await insert_incident(app, priority="P1", service="nowhere")
    await run_pipelines(app, incident_id)
    tries = [a.http_status for a in await attempts(app, incident_id) if a.channel == "slack"]
    assert tries == statuses
    message = peers.slack.requests[0]
    assert message["text"].startswith(":warning: [P1] KafkaConsumerLagHigh - Consumer lag")
    assert any(b["type"] == "actions" for b in message["blocks"])


async def test_one_page_per_event_however_often_it_is_delivered(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    incident_id = await insert_incident(app, priority="P2", pipeline="none")
    runner: PipelineRunner = app.state.pipeline_runner
    body = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": incident_id}
    results = [
        await deliver(runner.deps, incident_id, "pagerduty", "trigger", body, owner)
        for owner in ("a", "b", "a")
    ]
    assert results == ["delivered", "duplicate", "duplicate"]
    assert len(peers.pagerduty.requests) == 1


async def test_resolve_and_acknowledge_follow_the_incident(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]
    runner: PipelineRunner = app.state.pipeline_runner
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE incidents SET acknowledged_at = now() WHERE id = :id"), {"id": incident_id}
        )
    await runner.sweep_once()
    async with app.state.sessionmaker() as session, session.begin():
        incident = await load(app, incident_id)
        await session.execute(
            text("UPDATE incidents SET status = :s WHERE id = :id"),
            {"s": IncidentStatus.CLOSED.value, "id": incident.id},
        )
    await runner.sweep_once()
    await runner.sweep_once()
    assert [r["event_action"] for r in peers.pagerduty.requests] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert peers.pagerduty.requests[2] == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": incident_id,
    }


async def test_secrets_never_reach_the_database(app: FastAPI, peers: Peers, sleeps: Sleeps) -> None:
    peers.slack.script.append("500")
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    async with app.state.sessionmaker() as session:
        dump = await session.scalar(
            text(
                "SELECT string_agg(t::text, ' ') FROM ("
                " SELECT row_to_json(d)::text AS t FROM incident_deliveries d"
                " UNION ALL SELECT row_to_json(a)::text FROM incident_delivery_attempts a"
                " UNION ALL SELECT row_to_json(e)::text FROM incident_events e"
                " UNION ALL SELECT row_to_json(i)::text FROM incidents i) x"
            )
        )
    assert dump
    assert ROUTING_KEY not in dump
    assert peers.slack_url not in dump
    assert "fakeSecretPart" not in dump


async def test_metrics_expose_the_response_series(
    app: FastAPI, peers: Peers, sleeps: Sleeps, client: object
) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    peers.k8s.add(Deployment("email-service", replicas=1))
    incident_id = await insert_incident(app, priority="P1")
    await run_pipelines(app, incident_id)
    body = (await client.get("/metrics")).text
    for name in (
        "remediation_success_rate ",
        'remediation_attempts_total{action="scale_deployment",result="dry_run"}',
        'escalations_total{channel="pagerduty",result="delivered"}',
        'diagnostics_duration_seconds_count{provider="all"}',
    ):
        assert name in body

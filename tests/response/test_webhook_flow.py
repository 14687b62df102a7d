"""Through the real webhook: an alert storm stays bounded, a P0 runs end to end, a reopened
incident pages again (once), and a new P0/P1 incident queues one ALERT push."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from app.core.clock import FixedClock
from app.incidents.alertmanager import page_key
from app.push.models import PushMessage
from app.response import runner as runner_module
from app.response.runner import PipelineRunner
from tests.conftest import bearer
from tests.fakes.k8s import Deployment, pod
from tests.incidents.payloads import alert, webhook
from tests.response.conftest import (
    IDLE_LIMIT,
    Peers,
    Sleeps,
    dedup_key_of,
    insert_incident,
    load,
    run_pipelines,
)

ENFORCE = {"REMEDIATION_MODE": "enforce", "REMEDIATION_TARGETS": ["email-service"]}


async def post_alerts(client: httpx.AsyncClient, *alerts: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/webhook/alert", json=webhook(*alerts), headers=bearer("ALERTMANAGER")
    )


async def settle(app: FastAPI) -> None:
    runner: PipelineRunner = app.state.pipeline_runner
    await asyncio.wait_for(runner.wait_idle(), IDLE_LIMIT)


async def scalar(app: FastAPI, sql: str, **params: Any) -> Any:
    async with app.state.sessionmaker() as session:
        return await session.scalar(text(sql), params)


# --- alert storm --------------------------------------------------------------------------

STORM_WEBHOOKS, STORM_ALERTS_EACH = 20, 10


@pytest.mark.parametrize("extra_settings", [{"PIPELINE_CONCURRENCY": 2}])
async def test_alert_storm_runs_two_pipelines_at_a_time_and_the_webhook_keeps_answering(
    app: FastAPI,
    client: httpx.AsyncClient,
    peers: Peers,
    sleeps: Sleeps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    total = STORM_WEBHOOKS * STORM_ALERTS_EACH
    runner: PipelineRunner = app.state.pipeline_runner
    peers.pagerduty.delay = 0.02  # a slow peer: every P0 pipeline pages at once
    counts = {"now": 0, "peak": 0}
    real_run = runner_module.run_pipeline

    async def counted(*args: Any) -> None:
        counts["now"] += 1
        counts["peak"] = max(counts["peak"], counts["now"])
        try:
            await real_run(*args)
        finally:
            counts["now"] -= 1

    monkeypatch.setattr(runner_module, "run_pipeline", counted)

    db_peak = 0
    watching = True

    async def watch_running_rows() -> None:
        nonlocal db_peak
        while watching:
            running = await scalar(
                app,
                "SELECT count(*) FROM incidents WHERE pipeline_state = 'running'"
                " AND pipeline_owner = :owner",
                owner=runner.owner,
            )
            db_peak = max(db_peak, running)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch_running_rows())
    running_while_answered = []
    try:
        for w in range(STORM_WEBHOOKS):
            alerts = [
                alert(
                    "KafkaConsumerLagHigh",
                    severity="critical",
                    fingerprint=f"{w * STORM_ALERTS_EACH + n:016x}",
                    instance=f"broker-{w}-{n}",
                )
                for n in range(STORM_ALERTS_EACH)
            ]
            answer = await post_alerts(client, *alerts)
            assert answer.status_code == 200, answer.text
            assert [r["outcome"] for r in answer.json()["results"]] == ["created"] * len(alerts)
            running_while_answered.append(counts["now"])
        finished_when_last_answered = await scalar(
            app, "SELECT count(*) FROM incidents WHERE pipeline_state = 'done'"
        )
        await settle(app)
    finally:
        watching = False
        await watcher

    # The webhook answered while pipelines were running, long before the storm was worked off.
    assert any(running_while_answered)
    assert finished_when_last_answered < total
    states = await scalar(
        app,
        "SELECT json_object_agg(s, n) FROM (SELECT pipeline_state::text s, count(*) n"
        " FROM incidents GROUP BY 1) x",
    )
    assert states == {"done": total}
    assert counts["peak"] == 2  # the bound was used, and never exceeded
    assert peers.pagerduty.max_in_flight <= 2
    assert db_peak <= 2
    # One Alertmanager group: one PagerDuty incident for the 200 alerts, not 200 pages.
    assert len(peers.pagerduty.incidents) == 1
    assert len(peers.pagerduty.events("trigger")) <= 3


# --- one P0 end to end --------------------------------------------------------------------


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_kafka_lag_p0_from_the_webhook_to_the_incident_api(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=2))
    peers.k8s.pods.extend(
        [pod("email-service-a", "email-service"), pod("email-service-b", "email-service")]
    )
    answer = await post_alerts(
        client,
        alert(
            "KafkaConsumerLagHigh",
            severity="critical",
            service="email-service",
            summary="Consumer lag above 10k",
        ),
    )
    assert answer.status_code == 200, answer.text
    incident_id = answer.json()["incident_id"]

    await settle(app)  # the webhook's background kick queued it; the runner did the rest
    clock.advance(timedelta(seconds=61))  # its group stayed quiet for PAGE_RESOLVE_DELAY_SECONDS
    await app.state.pipeline_runner.sweep_once()

    detail = (await client.get(f"/incidents/{incident_id}", headers=bearer("VIEWER"))).json()
    assert (detail["priority"], detail["status"], detail["pipeline_state"]) == (
        "P0",
        "resolved",
        "done",
    )
    assert [(p.path, p.body) for p in peers.k8s.patches] == [
        (
            "/apis/apps/v1/namespaces/production/deployments/email-service/scale",
            {"spec": {"replicas": 6}},
        )
    ]
    [trigger, resolve] = peers.pagerduty.requests
    group = page_key("incident-webhook", '{}:{alertname="X"}')  # from the webhook's groupKey
    assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", group)
    assert trigger["payload"]["summary"] == "KafkaConsumerLagHigh - Consumer lag above 10k"
    assert trigger["payload"]["severity"] == "critical"
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", group)

    diagnostics = detail["diagnostics"]
    assert diagnostics["pods"]["email-service"]["ready"] == "2/2"
    assert diagnostics["pods"]["email-service"]["status"] == "Running"
    assert set(diagnostics["errors"]["prometheus"]) == {"availability", "latency_p95", "error_rate"}
    assert diagnostics["metrics"] == {"availability": None, "latency_p95": None, "error_rate": None}

    [action] = detail["remediation_actions"]
    assert {k: action[k] for k in ("action", "target", "from", "to", "success")} == {
        "action": "scale_deployment",
        "target": "email-service",
        "from": 2,
        "to": 6,
        "success": True,
    }
    assert action["timestamp"].startswith("2026-01-25T09:05:30")

    timeline = [(e["kind"], e["actor"], e["to_status"]) for e in detail["timeline"]]
    notes = [e["note"] or "" for e in detail["timeline"]]
    steps = [
        ("pipeline_started", "pipeline", None),
        ("status_changed", "pipeline", "investigating"),
        ("page_paged", "paging", None),  # PagerDuty trigger, before remediation (P0)
        ("diagnostics", "diagnostics", None),
        ("resolved_by_remediation", "remediation", "resolved"),
        ("pipeline_done", "pipeline", None),
    ]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions), timeline
    assert any(n.startswith("paged: PagerDuty incident") for n in notes)


# --- reopen pages again -------------------------------------------------------------------


async def _act(client: httpx.AsyncClient, incident_id: str, action: str) -> None:
    answer = await client.post(f"/incidents/{incident_id}/{action}", headers=bearer("OPERATOR"))
    assert answer.status_code == 200, answer.text


async def test_a_reopened_p0_pages_again_once_across_replicas(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    incident_id = await insert_incident(app, priority="P0", service="nowhere")
    await run_pipelines(app, incident_id)
    runner: PipelineRunner = app.state.pipeline_runner
    replica = PipelineRunner(runner.deps, owner="replica-b")  # same database, another worker

    def actions() -> list[str]:
        return [r["event_action"] for r in peers.pagerduty.requests]

    async def both() -> None:
        await asyncio.gather(runner.sweep_once(), replica.sweep_once())

    assert actions() == ["trigger"]
    await _act(client, incident_id, "resolve")
    clock.advance(timedelta(seconds=61))
    await both()
    assert actions() == ["trigger", "resolve"]

    peers.pagerduty.script.append("503")  # the first try fails: retried, still one page
    await _act(client, incident_id, "reopen")  # the action itself sweeps: pages at once
    await runner.wait_idle()
    assert actions() == ["trigger", "resolve", "trigger"]
    await both()  # backing off: nobody calls before the retry is due
    assert len(actions()) == 3
    clock.advance(timedelta(seconds=5))
    await both()
    await both()
    assert actions() == ["trigger", "resolve", "trigger", "trigger"]
    assert {r["dedup_key"] for r in peers.pagerduty.requests} == {dedup_key_of(incident_id)}
    assert len(peers.pagerduty.incidents) == 2  # the first page, and the reopened one
    retrigger = peers.pagerduty.requests[-1]
    assert retrigger["payload"]["summary"] == "KafkaConsumerLagHigh - Consumer lag above 10k"

    await _act(client, incident_id, "resolve")
    clock.advance(timedelta(seconds=61))
    await both()
    await both()
    assert actions() == ["trigger", "resolve", "trigger", "trigger", "resolve"]
    assert peers.pagerduty.open_incidents() == []


async def test_a_reopened_incident_that_never_paged_does_not_page(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, sleeps: Sleeps
) -> None:
    incident_id = await insert_incident(app, priority="P2", pipeline="none")
    await _act(client, incident_id, "resolve")
    await _act(client, incident_id, "reopen")
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()
    assert peers.pagerduty.requests == []  # P2 pages never (default policy), reopened or not


# --- push ---------------------------------------------------------------------------------


async def _alert_pushes(app: FastAPI) -> list[PushMessage]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(PushMessage).where(PushMessage.push_type == "ALERT").order_by(PushMessage.seq)
        )
        return list(rows)


async def test_a_new_p0_p1_incident_queues_one_alert_push(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, sleeps: Sleeps
) -> None:
    answer = await post_alerts(
        client,
        alert("KafkaConsumerLagHigh", severity="critical", summary="lag > 10k <b>&</b>"),
    )
    incident_id = answer.json()["incident_id"]
    async with app.state.sessionmaker() as session:
        queued_by_webhook = await session.scalar(select(func.count()).select_from(PushMessage))
    assert queued_by_webhook == 0  # not on the hot path: the pipeline queues it
    await settle(app)

    [message] = await _alert_pushes(app)
    assert message.dedup_key == f"incident:{incident_id}:alert"
    assert message.status == "PENDING"
    assert "[P0]" in message.title
    assert "KafkaConsumerLagHigh" in message.title
    assert "email-service" in message.content
    assert "lag > 10k <b>&</b>" in message.content  # plain: the formatter escapes later

    # A second run of the same pipeline (a retry, another replica) queues nothing new.
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE incidents SET pipeline_state = 'pending' WHERE id = :id"),
            {"id": incident_id},
        )
    await run_pipelines(app, incident_id)
    assert (await load(app, incident_id)).pipeline_attempts == 2
    assert len(await _alert_pushes(app)) == 1

    # P2 is not an ALERT; a resolved incident's pipeline runs nothing, push included.
    p2 = await insert_incident(app, priority="P2")
    resolved = await insert_incident(app, priority="P0", status="resolved")
    await run_pipelines(app, p2, resolved)
    assert [m.dedup_key for m in await _alert_pushes(app)] == [f"incident:{incident_id}:alert"]

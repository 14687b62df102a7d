"""End to end through the runner: diagnose, remediate, verify, resolve or escalate."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from app.core.clock import FixedClock
from app.response.runner import PipelineRunner
from tests.fakes.k8s import Deployment, pod
from tests.response.conftest import (
    IDLE_LIMIT,
    Peers,
    Sleeps,
    dedup_key_of,
    deliveries,
    insert_incident,
    load,
    run_pipelines,
    timeline,
)

ENFORCE = {"REMEDIATION_MODE": "enforce"}


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_kafka_lag_scales_email_service_verifies_and_resolves(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=1))
    peers.k8s.pods.append(pod("email-service-a", "email-service"))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", priority="P1")

    await run_pipelines(app, incident_id)

    incident = await load(app, incident_id)
    assert [(p.path, p.body) for p in peers.k8s.patches] == [
        (
            "/apis/apps/v1/namespaces/production/deployments/email-service/scale",
            {"spec": {"replicas": 6}},
        )
    ]
    incident = await load(app, incident_id)
    assert incident.status.value == "resolved"
    assert incident.pipeline_state.value == "done"
    [action] = incident.remediation_actions or []
    assert {k: action[k] for k in ("action", "target", "from", "to", "success", "dry_run")} == {
        "action": "scale_deployment",
        "target": "email-service",
        "from": 1,
        "to": 6,
        "success": True,
        "dry_run": False,
    }
    assert action["error"] is None
    assert action["timestamp"].startswith("2026-01-25T09:05:30")
    diagnostics = incident.diagnostics or {}
    assert diagnostics["pods"]["email-service"]["ready"] == "1/1"
    assert diagnostics["pods"]["email-service"]["status"] == "Running"
    assert "prometheus" in diagnostics["errors"]  # nothing listens there: data, not a crash
    kinds = [(e.kind, e.actor) for e in await timeline(app, incident_id)]
    assert ("resolved_by_remediation", "remediation") in kinds
    assert ("diagnostics", "diagnostics") in kinds
    assert ("status_changed", "pipeline") in kinds  # open -> investigating
    assert peers.pagerduty.requests == []  # a P1 fixed by remediation pages nobody
    # ...and its group never opened in Slack: it was fixed before anyone was told (timeline)
    assert peers.slack.requests == []


async def test_default_dry_run_changes_nothing_and_p1_pages(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=1))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", priority="P1")

    await run_pipelines(app, incident_id)

    assert peers.k8s.patches == []
    incident = await load(app, incident_id)
    assert incident.status.value == "investigating"
    [action] = incident.remediation_actions or []
    assert action["dry_run"] is True
    assert action["result"] == "dry_run"
    assert (action["from"], action["to"]) == (1, 6)
    [trigger] = peers.pagerduty.requests
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == dedup_key_of(incident_id)
    assert trigger["routing_key"]
    assert trigger["payload"]["summary"] == "KafkaConsumerLagHigh - Consumer lag above 10k"
    assert trigger["payload"]["severity"] == "error"


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_p0_pages_at_once_then_resolves_the_page(
    app: FastAPI, peers: Peers, sleeps: Sleeps, clock: FixedClock
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=2))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", priority="P0")

    await run_pipelines(app, incident_id)
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]
    clock.advance(timedelta(seconds=61))  # the group stayed quiet for PAGE_RESOLVE_DELAY_SECONDS
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()

    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger", "resolve"]
    assert {r["dedup_key"] for r in peers.pagerduty.requests} == {dedup_key_of(incident_id)}
    assert peers.pagerduty.requests[0]["payload"]["severity"] == "critical"
    assert (await load(app, incident_id)).status.value == "resolved"
    assert [(d.channel, d.event, d.state) for d in await deliveries(app, incident_id)] == [
        ("pagerduty", "page", "paged"),
    ]
    opened, resolved = (m["text"] for m in peers.slack.requests)
    assert opened.startswith(":rotating_light: [P0] KafkaConsumerLagHigh: 1 alert(s)")
    assert resolved.startswith(":white_check_mark: [RESOLVED] group")


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_failed_verification_escalates_and_stays_investigating(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=1, auto_ready=False))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", priority="P1")

    await run_pipelines(app, incident_id)

    incident = await load(app, incident_id)
    assert len(peers.k8s.patches) == 1, incident.remediation_actions
    assert incident.status.value == "investigating"
    [action] = incident.remediation_actions or []
    assert action["success"] is False
    assert action["verified"] is False
    assert "re-check" in action["error"]
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]
    slack_text = peers.slack.requests[0]["text"]
    assert "[P1] KafkaConsumerLagHigh: 1 alert(s)" in slack_text


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_nothing_runs_for_an_incident_already_resolved(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=1))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", status="resolved")

    await run_pipelines(app, incident_id)

    assert peers.k8s.patches == []
    assert peers.k8s.requests == []
    assert peers.pagerduty.requests == []
    incident = await load(app, incident_id)
    assert incident.remediation_actions is None
    assert incident.pipeline_state.value == "done"


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_rollout_restart_sends_kubectls_patch(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("api", replicas=3))
    incident_id = await insert_incident(app, "HighErrorRate", service="api", priority="P1")

    await run_pipelines(app, incident_id)

    [patch] = peers.k8s.patches
    assert patch.path == "/apis/apps/v1/namespaces/production/deployments/api"
    assert patch.body == {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "kubectl.kubernetes.io/restartedAt": "2026-01-25T09:05:30+00:00"
                    }
                }
            }
        }
    }
    assert "merge-patch+json" in patch.content_type
    assert (await load(app, incident_id)).status.value == "resolved"


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_crash_looping_pods_are_deleted_healthy_ones_kept(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("api", replicas=3, ready=2))
    peers.k8s.pods.extend(
        [
            pod("api-ok", "api"),
            pod("api-crash", "api", waiting="CrashLoopBackOff", restarts=7),
            pod("api-oom", "api", terminated="OOMKilled", restarts=2),
            pod("other-crash", "other", waiting="CrashLoopBackOff"),
        ]
    )
    incident_id = await insert_incident(app, "PodCrashLooping", service="api")

    await run_pipelines(app, incident_id)

    assert peers.k8s.deleted == ["api-crash"]
    incident = await load(app, incident_id)
    pods: dict[str, Any] = (incident.diagnostics or {})["pods"]["api"]
    assert pods["status"] == "CrashLoopBackOff"
    assert pods["ready"] == "2/3"
    assert {p["name"]: p["restarts"] for p in pods["pods"]}["api-crash"] == 7
    assert "OOMKilled" in {r for p in pods["pods"] for r in p["reasons"]}
    [action] = incident.remediation_actions or []
    assert (action["from"], action["to"], action["success"]) == (1, 0, True)


@pytest.mark.parametrize("extra_settings", [{"PIPELINE_CONCURRENCY": 2}])
async def test_a_worker_that_joins_a_storm_keeps_claiming_until_it_is_drained(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    # A storm queued on another worker: pending in the database, kicked nowhere here. One
    # sweep offers at most 2 slots; each finished run claims the next due pipeline at once,
    # so this worker drains all 12 instead of 2 per sweep interval (an hour in these tests).
    ids = [await insert_incident(app, priority="P2", service="nowhere") for _ in range(12)]
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()
    await asyncio.wait_for(runner.wait_idle(), IDLE_LIMIT)
    states = [(await load(app, i)).pipeline_state.value for i in ids]
    assert states == ["done"] * 12

"""Real OS processes against the test database: a killed worker's pipeline is finished by
another (lease expiry); two racing workers make one remediation and one page."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.fakes.k8s import Deployment
from tests.response import worker
from tests.response.conftest import (
    Peers,
    dedup_key_of,
    insert_incident,
    load,
    page_calls,
    peer_settings,
    timeline,
)

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    return {"PIPELINE_ENABLED": False}  # the test process only watches; workers do the work


def worker_settings(peers: Peers, **extra: Any) -> dict[str, Any]:
    return {
        **peer_settings(peers),
        "OPERATOR_TOKEN": None,
        "REMEDIATION_MODE": "enforce",
        "REMEDIATION_TARGETS": ["email-service", "svc-*", "shared"],
        "PIPELINE_SWEEP_INTERVAL_SECONDS": 0.2,
        "PIPELINE_LEASE_SECONDS": 2,
        "PAGE_RESOLVE_DELAY_SECONDS": 0,
        "PAGE_LEASE_SECONDS": 5,
        "HTTP_MAX_RETRY_SECONDS": 5,
        **extra,
    }


@pytest.fixture
def processes() -> Iterator[list[multiprocessing.process.BaseProcess]]:
    started: list[multiprocessing.process.BaseProcess] = []
    yield started
    for process in started:
        if process.is_alive():
            process.kill()
        process.join(10)


def start(
    started: list[multiprocessing.process.BaseProcess], database_url: str, settings: dict[str, Any]
) -> multiprocessing.process.BaseProcess:
    process = SPAWN.Process(target=worker.serve, args=(database_url, settings), daemon=True)
    process.start()
    started.append(process)
    return process


async def eventually(check: Callable[[], Awaitable[bool]], what: str, limit: float = 60) -> None:
    """Poll a condition on shared state (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        await asyncio.sleep(0.1)


async def test_killed_worker_is_finished_by_another_process(
    app: FastAPI, peers: Peers, database_url: str, processes: list[Any]
) -> None:
    deployment = peers.k8s.add(Deployment("email-service", replicas=1, auto_ready=False))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", priority="P0")
    first = start(
        processes,
        database_url,
        worker_settings(peers, REMEDIATION_VERIFY_TIMEOUT_SECONDS=600),
    )

    async def acting() -> bool:
        actions = (await load(app, incident_id)).remediation_actions or []
        return any(a.get("result") == "pending" for a in actions) and len(peers.k8s.patches) == 1

    await eventually(acting, "worker 1 scaled and is verifying")
    first.kill()  # SIGKILL mid-pipeline: no cleanup, the lease simply stops being renewed
    first.join(10)
    killed = await load(app, incident_id)
    assert killed.pipeline_state.value == "running"
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]

    deployment.auto_ready = True  # the scale-up the dead worker made has now rolled out
    deployment.ready = deployment.replicas
    # Only the dead worker's lease needs to be short; a 2 s lease for the survivor can lapse on
    # a loaded machine and count a third attempt.
    start(processes, database_url, worker_settings(peers, PIPELINE_LEASE_SECONDS=30))

    async def done() -> bool:
        return (await load(app, incident_id)).pipeline_state.value == "done"

    await eventually(done, "worker 2 finished the pipeline")
    incident = await load(app, incident_id)
    assert incident.status.value == "resolved"
    assert incident.pipeline_attempts == 2, [
        (e.kind, e.note) for e in await timeline(app, incident_id) if e.kind.startswith("pipe")
    ]
    assert len(peers.k8s.patches) == 1  # the action was not repeated, only re-checked
    [action] = incident.remediation_actions or []
    assert (action["result"], action["resumed"], action["verified"]) == ("success", True, True)
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger", "resolve"]
    owners = {
        e.data["owner"] for e in await timeline(app, incident_id) if e.kind == "pipeline_started"
    }
    assert len(owners) == 2


async def test_two_racing_workers_remediate_and_page_once(
    app: FastAPI, peers: Peers, database_url: str, processes: list[Any]
) -> None:
    ids = []
    for n in range(6):
        peers.k8s.add(Deployment(f"svc-{n}", replicas=1))
        ids.append(
            await insert_incident(app, "KafkaConsumerLagHigh", priority="P0", service=f"svc-{n}")
        )
    peers.k8s.add(Deployment("shared", replicas=1))
    for _ in range(2):  # two incidents, one target: the shared cooldown lets one act
        ids.append(
            await insert_incident(app, "KafkaConsumerLagHigh", priority="P0", service="shared")
        )

    settings = worker_settings(
        peers,
        PIPELINE_CONCURRENCY=4,
        PIPELINE_LEASE_SECONDS=30,  # nobody dies here: a 2 s lease only lapses under load
        DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS=60,
        DIAGNOSTICS_TOTAL_TIMEOUT_SECONDS=90,
    )
    # Hold diagnostics until both workers hold 4 claims each, so they really contend.
    peers.k8s.hang.add("/apis/apps/v1/namespaces/production/deployments/")
    start(processes, database_url, settings)
    start(processes, database_url, settings)

    async def all_claimed() -> bool:
        states = [(await load(app, i)).pipeline_state.value for i in ids]
        return all(s == "running" for s in states)

    await eventually(all_claimed, "the two workers claimed all eight pipelines")
    peers.k8s.hang.clear()

    async def all_done() -> bool:
        states = [(await load(app, i)).pipeline_state.value for i in ids]
        return all(s == "done" for s in states)

    await eventually(all_done, "both workers drained every pipeline")
    patched = sorted(p.path.split("/")[-2] for p in peers.k8s.patches)
    assert patched == ["shared", "svc-0", "svc-1", "svc-2", "svc-3", "svc-4", "svc-5"]
    for incident_id in ids:
        incident = await load(app, incident_id)
        events = [(e.at.time(), e.kind, e.note, e.data) for e in await timeline(app, incident_id)]
        assert incident.pipeline_attempts == 1, events
        triggers = [
            r
            for r in peers.pagerduty.requests
            if r["dedup_key"] == dedup_key_of(incident_id) and r["event_action"] == "trigger"
        ]
        assert len(triggers) == 1
    owners = {
        e.data["owner"] for i in ids for e in await timeline(app, i) if e.kind == "pipeline_started"
    }
    assert len(owners) == 2  # both processes took work, neither took the same incident twice


async def test_a_page_in_flight_when_its_worker_is_killed_is_delivered_by_the_next(
    app: FastAPI, peers: Peers, database_url: str, processes: list[Any]
) -> None:
    """Issue 9 point 1: PagerDuty hangs, the worker is SIGKILLed mid-trigger, the service comes
    back with PagerDuty healthy: the page is delivered (the dead worker's claim expired and the
    sweeper re-drove it), not counted as a duplicate and forgotten."""
    incident_id = await insert_incident(app, "NodeDown", priority="P0", service="nowhere")
    peers.pagerduty.always = "hang"
    settings = worker_settings(peers, HTTP_TIMEOUT_SECONDS=10, PAGE_LEASE_SECONDS=21)
    first = start(processes, database_url, settings)

    async def in_flight() -> bool:
        return peers.pagerduty.in_flight == 1

    await eventually(in_flight, "worker 1 is calling PagerDuty")
    first.kill()  # SIGKILL while the trigger is in flight
    first.join(10)
    peers.pagerduty.always = None  # PagerDuty is healthy again (the hung call never answers)
    assert peers.pagerduty.incidents == []
    start(processes, database_url, worker_settings(peers))

    async def paged() -> bool:
        return (await load(app, incident_id)).page_decision == "paged"

    await eventually(paged, "the restarted service delivers the page", limit=120)
    calls = [(c.event, c.result) for c in await page_calls(app, incident_id)]
    assert ("trigger", "delivered") in calls
    [incident] = peers.pagerduty.incidents
    assert incident.dedup_key == dedup_key_of(incident_id)

"""A worker SIGKILLed while its PagerDuty trigger is in flight: another process finishes the
pipeline, and the page PagerDuty sees is one page (every trigger carries the group's
dedup_key, so a resend after the crash lands on the same PagerDuty incident)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.fakes.k8s import Deployment
from tests.response.conftest import Peers, insert_incident, load, page_calls
from tests.response.test_processes import (  # noqa: F401 - fixtures
    eventually,
    extra_settings,
    processes,
    start,
    worker_settings,
)


async def test_worker_killed_during_a_page_is_finished_by_another_and_pages_once(
    app: FastAPI,
    peers: Peers,
    database_url: str,
    processes: list[Any],  # noqa: F811
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=1))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", priority="P0")
    peers.pagerduty.always = "hang"  # the trigger reaches PagerDuty and is never answered
    # The group's claim outlives one call (PAGE_LEASE_SECONDS > 2 x HTTP_TIMEOUT_SECONDS).
    slow = worker_settings(peers, HTTP_TIMEOUT_SECONDS=10, PAGE_LEASE_SECONDS=21)
    first = start(processes, database_url, slow)

    async def paging() -> bool:
        return peers.pagerduty.in_flight == 1

    await eventually(paging, "worker 1 is waiting on its PagerDuty trigger")
    first.kill()  # SIGKILL mid-page
    first.join(10)
    peers.pagerduty.always = None
    peers.pagerduty.released = True  # the held request ends (its client is gone)
    start(processes, database_url, worker_settings(peers))

    async def done() -> bool:
        return (await load(app, incident_id)).pipeline_state.value == "done"

    await eventually(done, "worker 2 finished the pipeline")

    async def paged() -> bool:  # once the dead worker's claim on the group has expired
        calls = await page_calls(app, incident_id)
        return any((c.event, c.result) == ("trigger", "delivered") for c in calls)

    await eventually(paged, "the page is re-driven and delivered", limit=90)
    triggers = peers.pagerduty.events("trigger")
    assert triggers, "the page was never sent"
    assert len({t["dedup_key"] for t in triggers}) == 1  # one PagerDuty incident
    assert len(triggers) <= 2  # the lost answer's resend, at most
    assert len(peers.pagerduty.incidents) == 1
    incident = await load(app, incident_id)
    assert incident.pipeline_attempts == 2

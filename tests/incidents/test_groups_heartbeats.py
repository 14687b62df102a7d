"""Incidents record their Alertmanager group; the Watchdog heartbeat is a dead man's switch."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.core.clock import FixedClock
from app.core.maintenance import run_jobs as maintenance_once
from app.incidents.models import Heartbeat, Incident
from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

AM = bearer("ALERTMANAGER")
READ = bearer("VIEWER")
OPERATOR = bearer("OPERATOR")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"PIPELINE_ENABLED": False, "HEARTBEAT_TIMEOUT_SECONDS": 120}


async def _get(client: httpx.AsyncClient, incident_id: str) -> dict[str, Any]:
    response = await client.get(f"/incidents/{incident_id}", headers=READ)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_incidents_record_the_webhook_group_and_receiver(client: httpx.AsyncClient) -> None:
    group = '{}/{severity="critical"}:{alertname="NodeDown"}'
    body = webhook(
        alert("PodNotReady", fingerprint="cccc000000000001", pod="a"),
        alert("PodNotReady", fingerprint="cccc000000000002", pod="b"),
        group_key=group,
        receiver="pager",
    )
    answer = (await client.post("/webhook/alert", json=body, headers=AM)).json()
    first, second = [await _get(client, i) for i in answer["incident_ids"]]
    expected = hashlib.sha256(f"pager\x00{group}".encode()).hexdigest()
    for incident in (first, second):
        assert (incident["group_key"], incident["receiver"]) == (group, "pager")
        assert incident["page_key"] == expected
    other = webhook(alert("X", fingerprint="cccc000000000003"), group_key=group, receiver="other")
    third = (await client.post("/webhook/alert", json=other, headers=AM)).json()["incident_id"]
    assert (await _get(client, third))["page_key"] != expected  # same key, other receiver


async def test_a_bare_alert_is_a_group_of_its_own(client: httpx.AsyncClient) -> None:
    answer = (
        await client.post("/webhook/alert", json=alert("Lone", fingerprint="dd01"), headers=AM)
    ).json()
    incident = await _get(client, answer["incident_id"])
    assert (incident["receiver"], incident["group_key"]) == ("direct", "alert:dd01")


async def test_api_incidents_are_their_own_group_unless_named(client: httpx.AsyncClient) -> None:
    async def create(**extra: Any) -> dict[str, Any]:
        body = {"alert_name": "ManualCheck", "priority": "P1", **extra}
        response = await client.post("/incidents", json=body, headers=OPERATOR)
        assert response.status_code == 201
        return await _get(client, response.json()["incident_id"])

    alone_1, alone_2 = await create(), await create()
    assert alone_1["page_key"] != alone_2["page_key"]
    assert alone_1["receiver"] == "api"
    named_1, named_2 = await create(group="db-failover"), await create(group="db-failover")
    assert named_1["page_key"] == named_2["page_key"]
    assert named_1["group_key"] == "api:db-failover"


async def test_watchdog_is_a_heartbeat_never_an_incident(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    watchdog = alert("Watchdog", fingerprint="ee01", severity="none")
    body = webhook(watchdog, alert("Real", fingerprint="ee02"), receiver="incident-webhook")
    answer = (await client.post("/webhook/alert", json=body, headers=AM)).json()
    assert [r["outcome"] for r in answer["results"]] == ["heartbeat", "created"]
    assert answer["incident_ids"][0] is None
    for _ in range(2):
        clock.advance(timedelta(seconds=30))
        await client.post("/webhook/alert", json=webhook(watchdog), headers=AM)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Incident)) == 1
        beat = await session.get(Heartbeat, "incident-webhook")
        assert beat is not None
        assert beat.beats == 3
    listed = (await client.get("/api/heartbeats", headers=READ)).json()
    assert [(b["receiver"], b["status"], b["beats"]) for b in listed] == [
        ("incident-webhook", "ok", 3)
    ]
    assert (await client.get("/api/heartbeats")).status_code == 401


async def test_silence_opens_one_p0_incident_and_beats_resolve_it(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    watchdog = webhook(alert("Watchdog", fingerprint="ff01", severity="none"), receiver="am-1")
    await client.post("/webhook/alert", json=watchdog, headers=AM)
    await maintenance_once(app)  # fresh: nothing opens
    clock.advance(timedelta(seconds=121))
    for _ in range(3):  # every check while silent (any replica): still one incident
        await maintenance_once(app)
    [beat] = (await client.get("/api/heartbeats", headers=READ)).json()
    assert beat["status"] == "missing"
    assert beat["incident_id"]
    incident = await _get(client, beat["incident_id"])
    assert (incident["alert_name"], incident["priority"], incident["status"]) == (
        "AlertmanagerHeartbeatMissing",
        "P0",
        "open",
    )
    assert incident["pipeline_state"] == "pending"  # it pages like any P0
    assert "am-1" in incident["summary"]

    await client.post("/webhook/alert", json=watchdog, headers=AM)
    await maintenance_once(app)
    assert (await _get(client, beat["incident_id"]))["status"] == "resolved"
    [beat] = (await client.get("/api/heartbeats", headers=READ)).json()
    assert (beat["status"], beat["incident_id"]) == ("ok", None)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Incident)) == 1

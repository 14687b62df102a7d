"""Concurrent webhooks share statements without sharing each other's failures."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
from app.incidents import batcher
from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

AM = bearer("ALERTMANAGER")


async def test_concurrent_webhooks_each_get_their_own_answer(client: httpx.AsyncClient) -> None:
    bodies = [
        webhook(*(alert(f"B{w}", fingerprint=f"b{w:02d}{n}") for n in range(5))) for w in range(40)
    ]
    bodies.append(webhook(alert("B0", fingerprint="b000")))  # a copy of an alert in webhook 0
    answers = await asyncio.gather(
        *(client.post("/webhook/alert", json=body, headers=AM) for body in bodies)
    )
    assert all(a.status_code == 200 for a in answers)
    for body, answer in zip(bodies[:40], answers[:40], strict=True):
        results = answer.json()["results"]
        assert [r["fingerprint"] for r in results] == [a["fingerprint"] for a in body["alerts"]]
    outcomes = [r["outcome"] for a in answers for r in a.json()["results"]]
    assert outcomes.count("created") == 200
    assert outcomes.count("updated") == 1
    assert answers[-1].json()["incident_id"] == answers[0].json()["incident_ids"][0]
    listed = await client.get("/incidents", params={"limit": 1000}, headers=bearer("VIEWER"))
    assert len(listed.json()) == 200
    assert sum(i["occurrence_count"] for i in listed.json()) == 201


async def test_a_refused_payload_fails_alone(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batcher.ingest_alerts

    async def picky(conn: Any, alerts: list[Any], **kw: Any) -> Any:
        if any(a.alert_name == "Poison" for a in alerts):
            raise asyncpg.DataError("value refused by the database")
        return await real(conn, alerts, **kw)

    monkeypatch.setattr(batcher, "ingest_alerts", picky)
    bodies = [webhook(alert(f"Fine{n}", fingerprint=f"fine{n}")) for n in range(9)]
    bodies.insert(4, webhook(alert("Poison", fingerprint="poison")))
    answers = await asyncio.gather(
        *(client.post("/webhook/alert", json=body, headers=AM) for body in bodies)
    )
    assert [a.status_code for a in answers] == [200] * 10
    # Refused for ever is not "database unavailable": rejected with a reason, never a 503.
    (poisoned,) = answers[4].json()["results"]
    assert poisoned["outcome"] == "rejected"
    assert poisoned["reason"] == "the database refused this alert (DataError)"
    listed = await client.get("/incidents", headers=bearer("VIEWER"))
    assert sorted(i["alert_name"] for i in listed.json()) == [f"Fine{n}" for n in range(9)]


async def test_an_alert_the_database_refuses_does_not_block_its_webhook(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batcher.ingest_alerts

    async def picky(conn: Any, alerts: list[Any], **kw: Any) -> Any:
        if any(a.alert_name == "Poison" for a in alerts):
            raise asyncpg.exceptions.UntranslatableCharacterError("refused")
        return await real(conn, alerts, **kw)

    monkeypatch.setattr(batcher, "ingest_alerts", picky)
    body = webhook(
        alert("Good", fingerprint="g1"),
        alert("Poison", fingerprint="p1"),
        alert("Also", fingerprint="g2"),
    )
    answer = await client.post("/webhook/alert", json=body, headers=AM)
    assert answer.status_code == 200
    assert [r["outcome"] for r in answer.json()["results"]] == ["created", "rejected", "created"]
    assert answer.json()["results"][1]["fingerprint"] == "p1"


async def test_a_lost_connection_is_still_a_503(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(conn: Any, alerts: list[Any], **kw: Any) -> Any:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    monkeypatch.setattr(batcher, "ingest_alerts", down)
    answer = await client.post("/webhook/alert", json=webhook(alert("A"), alert("B")), headers=AM)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"


async def test_every_lane_is_connected_and_prepared_before_the_first_webhook(
    app: FastAPI, settings: Settings, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        for _ in range(100):  # the lanes warm up in the background: at most 5 s
            last_queries = await conn.fetch(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'ops-backend-ingest'"
            )
            # pg_stat_activity keeps the first 1 kB of the text: the webhook statement's head.
            warm = [q for (q,) in last_queries if q.lstrip().startswith("WITH input AS (")]
            if len(warm) == settings.WEBHOOK_INGEST_LANES:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    assert len(last_queries) == settings.WEBHOOK_INGEST_LANES
    assert len(warm) == settings.WEBHOOK_INGEST_LANES

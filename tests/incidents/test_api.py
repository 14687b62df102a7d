from __future__ import annotations

from datetime import timedelta

import asyncpg
import asyncpg.transaction
import httpx
import pytest
from fastapi import FastAPI

from app.core.clock import FixedClock
from app.incidents import service
from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

AM = bearer("ALERTMANAGER")
READ = bearer("VIEWER")
OP = bearer("OPERATOR")


async def _fire(client: httpx.AsyncClient, name: str, fp: str, **kw: str) -> str:
    answer = (
        await client.post(
            "/webhook/alert", json=webhook(alert(name, fingerprint=fp, **kw)), headers=AM
        )
    ).json()
    incident_id: str = answer["incident_id"]
    return incident_id


async def test_lifecycle_actions_and_conflicts(client: httpx.AsyncClient) -> None:
    iid = await _fire(client, "Lifecycle", "life01")
    ack = await client.post(
        f"/incidents/{iid}/acknowledge", json={"actor": "alice", "note": "on it"}, headers=OP
    )
    assert ack.status_code == 200
    assert ack.json()["status"] == "investigating"
    assert ack.json()["acknowledged_by"] == "alice"
    again = await client.post(f"/incidents/{iid}/acknowledge", headers=OP)
    assert again.status_code == 409
    assert "already acknowledged" in again.json()["detail"]
    assert (await client.post(f"/incidents/{iid}/reopen", headers=OP)).status_code == 409
    assert (await client.post(f"/incidents/{iid}/resolve", headers=OP)).json()[
        "status"
    ] == "resolved"
    assert (await client.post(f"/incidents/{iid}/resolve", headers=OP)).status_code == 409
    closed = (
        await client.post(f"/incidents/{iid}/close", json={"note": "postmortem done"}, headers=OP)
    ).json()
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    reopened = (await client.post(f"/incidents/{iid}/reopen", headers=OP)).json()
    assert reopened["status"] == "open"
    assert reopened["resolved_at"] is None
    assert reopened["acknowledged_by"] is None  # a reopened incident is acknowledged afresh
    timeline = (await client.get(f"/incidents/{iid}", headers=READ)).json()["timeline"]
    assert [(e["kind"], e["actor"], e["to_status"]) for e in timeline] == [
        ("created", "alertmanager", "open"),
        ("acknowledge", "alice", "investigating"),
        ("resolve", "operator", "resolved"),
        ("close", "operator", "closed"),
        ("reopen", "operator", "open"),
    ]
    assert timeline[1]["note"] == "on it"


async def test_actions_need_operator_scope_and_real_incident(client: httpx.AsyncClient) -> None:
    iid = await _fire(client, "Scoped", "scope01")
    assert (await client.post(f"/incidents/{iid}/resolve", headers=READ)).status_code == 403
    assert (
        await client.post(f"/incidents/{iid}/resolve", headers=bearer("OPS_SCRIPT"))
    ).status_code == 403
    missing = await client.post("/incidents/nope/resolve", headers=OP)
    assert missing.status_code == 404
    assert (await client.post(f"/incidents/{iid}/explode", headers=OP)).status_code == 422
    assert (await client.get("/incidents/nope", headers=READ)).status_code == 404


async def test_reopen_refused_while_another_incident_is_active(client: httpx.AsyncClient) -> None:
    old = await _fire(client, "Flap", "flap01", starts_at="2026-01-25T08:00:00Z")
    await client.post(f"/incidents/{old}/resolve", headers=OP)
    new = await _fire(client, "Flap", "flap01", starts_at="2026-01-25T09:00:00Z")
    assert new != old
    response = await client.post(f"/incidents/{old}/reopen", headers=OP)
    assert response.status_code == 409
    assert new in response.json()["detail"]


async def test_direct_creation_with_dedup_key(client: httpx.AsyncClient) -> None:
    body = {
        "alert_name": "SelfHealingRestart",
        "severity": "critical",
        "service": "api",
        "summary": "restarted api pod",
        "dedup_key": "heal-api-1",
    }
    first = await client.post("/incidents", json=body, headers=bearer("OPS_SCRIPT"))
    assert first.status_code == 201
    assert first.json()["outcome"] == "created"
    second = await client.post("/incidents", json=body, headers=OP)
    assert second.status_code == 200
    assert second.json() == {"incident_id": first.json()["incident_id"], "outcome": "updated"}
    other = await client.post(
        "/incidents", json={"alert_name": "Manual", "priority": "P2"}, headers=OP
    )
    assert other.status_code == 201
    detail = (await client.get(f"/incidents/{first.json()['incident_id']}", headers=READ)).json()
    assert detail["priority"] == "P0"
    assert detail["source"] == "api:ops_script"
    assert detail["fingerprint"] == "api:heal-api-1"
    assert (await client.post("/incidents", json=body, headers=READ)).status_code == 403
    bad = await client.post("/incidents", json={"alert_name": "", "bogus": 1}, headers=OP)
    assert bad.status_code == 422


async def test_filters_and_keyset_pagination(client: httpx.AsyncClient, clock: FixedClock) -> None:
    ids = []
    for n in range(7):
        clock.advance(timedelta(minutes=1))
        severity = "critical" if n % 2 else "warning"
        ids.append(
            await _fire(
                client, f"Page{n % 3}", f"page{n}", severity=severity, service=f"svc{n % 2}"
            )
        )
    await client.post(f"/incidents/{ids[0]}/resolve", headers=OP)

    seen: list[str] = []
    url: str | None = "/incidents?limit=3"
    pages = 0
    while url:
        response = await client.get(url, headers=READ)
        seen += [i["id"] for i in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        pages += 1
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, no gaps, no repeats

    only_open = await client.get("/incidents", params={"status": "open"}, headers=READ)
    assert ids[0] not in [i["id"] for i in only_open.json()]
    both = await client.get(
        "/incidents", params=[("status", "open"), ("status", "resolved")], headers=READ
    )
    assert len(both.json()) == 7
    p0 = (await client.get("/incidents", params={"priority": "P0"}, headers=READ)).json()
    assert {i["priority"] for i in p0} == {"P0"}
    assert len(p0) == 3
    svc = (
        await client.get(
            "/incidents", params={"service": "svc1", "alert_name": "Page1"}, headers=READ
        )
    ).json()
    assert all(i["service"] == "svc1" and i["alert_name"] == "Page1" for i in svc)
    assert svc
    window = await client.get(
        "/incidents",
        params={"since": "2026-01-25T09:08:00+00:00", "until": "2026-01-25T09:10:31"},
        headers=READ,
    )
    assert len(window.json()) == 3
    assert (
        await client.get("/incidents", params={"status": "bogus"}, headers=READ)
    ).status_code == 422
    assert (
        await client.get("/incidents", params={"cursor": "@@@"}, headers=READ)
    ).status_code == 422
    assert (await client.get("/incidents", params={"limit": 0}, headers=READ)).status_code == 422


async def test_stale_incidents_are_flagged_not_closed(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    iid = await _fire(client, "Silenced", "stale01")
    settings = app.state.settings
    async with app.state.sessionmaker() as session:
        assert (
            await service.flag_stale(session, clock.now(), settings.INCIDENT_STALE_AFTER_SECONDS)
            == []
        )
    later = clock.now() + timedelta(seconds=settings.INCIDENT_STALE_AFTER_SECONDS + 1)
    async with app.state.sessionmaker() as session:
        assert await service.flag_stale(session, later, settings.INCIDENT_STALE_AFTER_SECONDS) == [
            iid
        ]
        assert await service.flag_stale(session, later, settings.INCIDENT_STALE_AFTER_SECONDS) == []
    detail = (await client.get(f"/incidents/{iid}", headers=READ)).json()
    assert detail["stale"] is True
    assert detail["status"] == "open"
    assert detail["timeline"][-1]["kind"] == "flagged_stale"
    await _fire(client, "Silenced", "stale01")  # it came back: no longer stale
    assert (await client.get(f"/incidents/{iid}", headers=READ)).json()["stale"] is False


async def test_reads_cost_no_transaction_round_trips(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = await _fire(client, "ReadOnly", "read01")
    await client.get("/incidents", headers=READ)  # the pool's first connection is set up
    begun: list[object] = []
    real_start = asyncpg.transaction.Transaction.start

    async def counted(self: asyncpg.transaction.Transaction) -> None:
        begun.append(self)
        await real_start(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counted)
    listed = await client.get("/incidents", headers=READ)
    detail = await client.get(f"/incidents/{iid}", headers=READ)
    assert [listed.status_code, detail.status_code] == [200, 200]
    assert detail.json()["timeline"][0]["kind"] == "created"
    assert begun == []  # no BEGIN/ROLLBACK around a read: each statement is its own
    await client.post(f"/incidents/{iid}/acknowledge", headers=OP)
    assert len(begun) == 1  # a write still runs in its transaction


async def test_list_pages_through_link_headers(client: httpx.AsyncClient) -> None:
    ids = [await _fire(client, f"Page{n}", f"page{n:02d}") for n in range(5)]
    seen: list[str] = []
    url: str | None = "/incidents?limit=2"
    for _ in range(5):  # bounded: 3 pages expected
        if url is None:
            break
        page = await client.get(url, headers=READ)
        assert page.status_code == 200
        assert page.headers["content-type"] == "application/json"
        seen += [i["id"] for i in page.json()]
        link = page.headers.get("link")
        url = link.split(";")[0].strip("<>") if link else None
    assert url is None
    assert sorted(seen) == sorted(ids)  # every incident once, none repeated
    assert len(seen) == 5

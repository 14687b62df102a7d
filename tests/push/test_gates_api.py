from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.push.gates import consume_window
from tests.conftest import bearer
from tests.fakes.telegram import FakeTelegram
from tests.push.conftest import CHAT_ID
from tests.push.helpers import OP, patch_gates


async def test_defaults_are_closed(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    gate = (await client.get("/api/push/gates", headers=bearer("VIEWER"))).json()
    assert gate["mode"] == "MOCK_ONLY"
    assert gate["sender_enabled"] is False
    assert gate["emergency_stop"] is False
    assert gate["allowlist_push_types"] == []
    assert gate["configured_chat_allowed"] is False
    assert gate["window"] is None


async def test_changes_are_audited_without_chat_ids(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    gate = await patch_gates(
        client, mode="REAL_ENABLED", allowlist_chat_ids=[CHAT_ID], reason="go live"
    )
    assert gate["configured_chat_allowed"] is True
    assert gate["version"] == 1
    assert CHAT_ID not in str(gate)
    await patch_gates(client, mode="REAL_ENABLED")  # no change: no audit entry
    audit = (await client.get("/api/push/gates/audit", headers=OP)).json()
    assert audit["total"] == 1
    entry = audit["items"][0]
    assert (entry["actor"], entry["action"], entry["reason"]) == (
        "operator",
        "gate_update",
        "go live",
    )
    assert entry["changes"]["mode"] == {"from": "MOCK_ONLY", "to": "REAL_ENABLED"}
    assert CHAT_ID not in str(audit)


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "YOLO"},
        {"sender_enabled": "perhaps"},
        {"allowlist_chat_ids": ["not-a-chat"]},
        {"allowlist_push_types": ["PAGE"]},
        {"unknown": 1},
    ],
)
async def test_bad_gate_input(
    client: httpx.AsyncClient, telegram: FakeTelegram, body: dict[str, Any]
) -> None:
    response = await client.patch("/api/push/gates", json=body, headers=OP)
    assert response.status_code == 422


async def test_only_operators_change_gates(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    for who in ("VIEWER", "OPS_SCRIPT"):
        response = await client.patch(
            "/api/push/gates", json={"emergency_stop": True}, headers=bearer(who)
        )
        assert response.status_code == 403


async def test_window_lifecycle(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    assert (await client.delete("/api/push/gates/window", headers=OP)).status_code == 404
    first = await client.post("/api/push/gates/window", json={"ttl_seconds": 60}, headers=OP)
    assert first.status_code == 201
    assert first.json()["budget"] == 1
    second = await client.post("/api/push/gates/window", json={"budget": 3}, headers=OP)
    gate = (await client.get("/api/push/gates", headers=OP)).json()
    assert gate["window"]["window_id"] == second.json()["window_id"]  # replaced the first
    assert gate["window"]["remaining"] == 3
    bad = await client.post("/api/push/gates/window", json={"budget": 0}, headers=OP)
    assert bad.status_code == 422
    assert (await client.delete("/api/push/gates/window", headers=OP)).status_code == 200
    actions = [
        e["action"] for e in (await client.get("/api/push/gates/audit", headers=OP)).json()["items"]
    ]
    assert actions == ["window_close", "window_open", "window_open"]


async def test_window_budget_is_never_overdrawn(
    app: FastAPI, client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    """Ten concurrent consumers on their own connections: exactly `budget` succeed."""
    await client.post("/api/push/gates/window", json={"budget": 3}, headers=OP)
    now = app.state.clock.now()

    async def take() -> str | None:
        async with app.state.sessionmaker() as session, session.begin():
            return await consume_window(session, now)

    results = await asyncio.gather(*(take() for _ in range(10)))
    assert sum(r is not None for r in results) == 3
    assert (await client.get("/api/push/gates", headers=OP)).json()["window"] is None

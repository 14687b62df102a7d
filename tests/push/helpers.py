"""Steps the push tests share: queue messages, open every gate, run outbox and send."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import bearer
from tests.push.conftest import CHAT_ID

OP = bearer("OPERATOR")
# Contract D (INCIDENT_PUSH_V1, MISSION.md): its fields and kinds, locked by the spec.
INCIDENT_PUSH_FIELDS = {
    "schema",
    "asof",
    "idempotency_key",
    "kind",
    "severity",
    "step",
    "message",
    "reason",
    "delivery_actual",
    "send_receipt",
    "snapshot_ref",
    "evidence_refs",
}
INCIDENT_KINDS = [
    "BACKEND_DOWN",
    "OPS_BLOCKED",
    "OPS_FAILED",
    "LIVE_BLOCKED",
    "LIVE_FAILED",
    "PUSH_FAILED",
]


async def queue(client: httpx.AsyncClient, n: int = 1, **fields: Any) -> list[str]:
    ids = []
    for i in range(n):
        body = {"push_type": "ALERT", "title": f"Disk full #{i}", "content": "node-3 at 97%"}
        body.update(fields)
        response = await client.post("/api/push/messages", json=body, headers=OP)
        assert response.status_code in (200, 201), response.text
        ids.append(response.json()["message_id"])
    return ids


async def patch_gates(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.patch("/api/push/gates", json=changes, headers=OP)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_gates(client: httpx.AsyncClient, budget: int = 1) -> None:
    """Everything a real send needs: REAL_ENABLED, sender on, allowlists, self-test, window."""
    await patch_gates(
        client,
        mode="REAL_ENABLED",
        sender_enabled=True,
        allowlist_chat_ids=[CHAT_ID],
        allowlist_push_types=["ALERT", "INCIDENT", "REPORT", "INFO"],
        reason="test walk",
    )
    response = await client.post("/api/push/self-test", headers=OP)
    assert response.json()["decision"] == "SELF_TEST_PASS", response.text
    response = await client.post("/api/push/gates/window", json={"budget": budget}, headers=OP)
    assert response.status_code == 201, response.text


async def outbox(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/push/outbox/run", headers=OP)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ready_to_send(
    client: httpx.AsyncClient, n: int = 1, budget: int = 1, **fields: Any
) -> list[str]:
    """n queued messages, every gate open for `budget` sends, and an outbox run: a send's
    set-up. The queued message ids."""
    ids = await queue(client, n, **fields)
    await open_gates(client, budget=budget)
    await outbox(client)
    return ids


async def send(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.post("/api/push/send", params={"confirm": "true"}, headers=OP)
    assert response.status_code == 200, response.text
    receipts: list[dict[str, Any]] = response.json()["receipts"]
    return receipts


def decisions(receipts: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["decision"], r["blocked_reason"]) for r in receipts]

"""One test per blocked reason, evaluated in contract C's order."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import bearer
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import (
    OP,
    decisions,
    open_gates,
    outbox,
    patch_gates,
    queue,
    ready_to_send,
    send,
)


async def test_send_requires_confirm(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    response = await client.post("/api/push/send", headers=OP)
    assert response.status_code == 422
    assert response.json() == {"detail": "sending needs confirm=true"}


async def test_viewer_cannot_send(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    response = await client.post("/api/push/send?confirm=true", headers=bearer("VIEWER"))
    assert response.status_code == 403


async def test_emergency_stop_wins_over_everything(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await ready_to_send(client, 2)
    await patch_gates(client, emergency_stop=True, reason="incident bridge says stop")
    receipts = await send(client)
    assert decisions(receipts) == [("BLOCKED", "EMERGENCY_STOP")] * 2
    assert telegram.sent() == []


async def test_emergency_stop_with_no_messages_still_says_stop(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await patch_gates(client, emergency_stop=True)
    receipts = await send(client)
    assert decisions(receipts) == [("BLOCKED", "EMERGENCY_STOP")]
    assert receipts[0]["message_id"] is None


@pytest.mark.parametrize("mode", ["MOCK_ONLY", "DRY_RUN"])
async def test_not_real_gate(client: httpx.AsyncClient, telegram: FakeTelegram, mode: str) -> None:
    await queue(client)
    await open_gates(client)
    await patch_gates(client, mode=mode)
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "NOT_REAL_GATE")]
    assert telegram.sent() == []


async def test_default_gate_is_mock_only(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client)
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "NOT_REAL_GATE")]


async def test_sender_disabled(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client)
    await open_gates(client)
    await patch_gates(client, sender_enabled=False)
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "SENDER_DISABLED")]


async def test_self_test_fail_blocks(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client)
    await open_gates(client)
    telegram.fail_next("401")  # the next self-test's getMe is refused
    response = await client.post("/api/push/self-test", headers=OP)
    assert response.json()["decision"] == "SELF_TEST_FAIL"
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "SELF_TEST_FAIL")]
    assert telegram.sent() == []


async def test_no_self_test_at_all_blocks(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await queue(client)
    await patch_gates(client, mode="REAL_ENABLED", sender_enabled=True)
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "SELF_TEST_FAIL")]


async def test_no_messages(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await open_gates(client)
    await outbox(client)
    receipts = await send(client)
    assert decisions(receipts) == [("SKIPPED", "NO_MESSAGES")]
    assert receipts[0]["message_id"] is None


async def test_no_outbox_run_yet_is_no_messages(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await queue(client)
    await open_gates(client)
    assert decisions(await send(client)) == [("SKIPPED", "NO_MESSAGES")]


async def test_allowlist_push_type(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client, push_type="INFO")
    await queue(client, push_type="ALERT")
    await open_gates(client, budget=5)
    await patch_gates(client, allowlist_push_types=["ALERT"])
    await outbox(client)
    receipts = await send(client)
    assert decisions(receipts) == [("BLOCKED", "ALLOWLIST_VIOLATION"), ("SENT", None)]
    assert receipts[0]["request_type"] == "INFO"


async def test_allowlist_chat(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client)
    await open_gates(client)
    gate = await patch_gates(client, allowlist_chat_ids=["-100999"])
    assert gate["configured_chat_allowed"] is False
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "ALLOWLIST_VIOLATION")]


async def test_window_budget_one_sends_one(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await ready_to_send(client, 3, budget=1)
    assert decisions(await send(client)) == [
        ("SENT", None),
        ("BLOCKED", "WINDOW_CONSUMED"),
        ("BLOCKED", "WINDOW_CONSUMED"),
    ]
    # The window is spent: the next send (same outbox, two unsent left) is blocked too.
    assert decisions(await send(client)) == [("BLOCKED", "WINDOW_CONSUMED")] * 2
    assert len(telegram.sent()) == 1


async def test_no_window_opened(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client)
    await open_gates(client)
    assert (await client.delete("/api/push/gates/window", headers=OP)).status_code == 200
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "WINDOW_CONSUMED")]


async def test_expired_window(
    client: httpx.AsyncClient, telegram: FakeTelegram, clock: object
) -> None:
    from datetime import timedelta

    from app.core.clock import FixedClock

    assert isinstance(clock, FixedClock)
    await ready_to_send(client)  # ttl 600 s
    clock.advance(timedelta(seconds=601))
    assert decisions(await send(client)) == [("BLOCKED", "WINDOW_CONSUMED")]


async def test_secret_injection(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    leaked = "xoxb-1234567890-abcdefghijklmnop"
    await queue(client, content=f"restart failed, use token {leaked}")
    await queue(client)
    await open_gates(client, budget=5)
    box = await outbox(client)
    assert box["messages"][0]["blocked_reason"] == "SECRET_INJECTION_SUSPECTED"
    assert leaked not in str(box)
    assert decisions(await send(client)) == [
        ("BLOCKED", "SECRET_INJECTION_SUSPECTED"),
        ("SENT", None),
    ]
    assert all(leaked not in r.body["text"] for r in telegram.sent())


async def test_allowlist_is_checked_before_window(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await queue(client, push_type="REPORT")
    await open_gates(client)
    await client.delete("/api/push/gates/window", headers=OP)
    await patch_gates(client, allowlist_push_types=["ALERT"])
    await outbox(client)
    assert decisions(await send(client)) == [("BLOCKED", "ALLOWLIST_VIOLATION")]

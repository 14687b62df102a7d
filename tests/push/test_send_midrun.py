"""What changes while a send run is under way is seen by its next message.

The gates, the window's expiry and the claim's lease are taken per message, at the moment the
message is claimed: a stop set mid-run stops the next message, a window that expires mid-run
sends nothing more, and a slow run's later messages hold a full lease of their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.push import send as send_module
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

Hook = Callable[[int], Awaitable[None]]


def _after_each_delivery(monkeypatch: pytest.MonkeyPatch, hook: Hook) -> None:
    """Run `hook(n)` after the n-th message's HTTP call (n from 1), before its outcome is stored."""
    real_deliver = send_module._deliver
    count = 0

    async def deliver(ctx: Any, candidate: Any) -> Any:
        nonlocal count
        result = await real_deliver(ctx, candidate)
        count += 1
        await hook(count)
        return result

    monkeypatch.setattr(send_module, "_deliver", deliver)


async def test_emergency_stop_set_mid_run_stops_the_next_message(
    client: httpx.AsyncClient, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready_to_send(client, 3, budget=3)

    async def stop(n: int) -> None:
        if n == 1:
            await patch_gates(client, emergency_stop=True, reason="pull the plug")

    _after_each_delivery(monkeypatch, stop)
    receipts = await send(client)
    assert decisions(receipts) == [
        ("SENT", None),
        ("BLOCKED", "EMERGENCY_STOP"),
        ("BLOCKED", "EMERGENCY_STOP"),
    ]
    assert len(telegram.sent()) == 1
    pending = (await client.get("/api/push/messages?status=PENDING", headers=OP)).json()
    assert pending["total"] == 2  # blocked, not lost: a later run may send them


async def test_sender_switched_off_mid_run_stops_the_next_message(
    client: httpx.AsyncClient, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready_to_send(client, 2, budget=2)

    async def switch_off(n: int) -> None:
        await patch_gates(client, sender_enabled=False)

    _after_each_delivery(monkeypatch, switch_off)
    assert decisions(await send(client)) == [("SENT", None), ("BLOCKED", "SENDER_DISABLED")]


async def test_window_expiring_mid_run_blocks_the_next_message(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await ready_to_send(client, 2, budget=5)  # default TTL: 600 s

    async def slow(n: int) -> None:
        clock.advance(timedelta(seconds=601))

    _after_each_delivery(monkeypatch, slow)
    receipts = await send(client)
    assert decisions(receipts) == [("SENT", None), ("BLOCKED", "WINDOW_CONSUMED")]
    assert len(telegram.sent()) == 1
    # The blocked receipt carries the time its message was decided, not the run's start.
    assert receipts[1]["asof"] == clock.now().isoformat().replace("+00:00", "Z")


async def test_a_slow_runs_later_message_is_not_claimable_by_a_second_run(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lease counts from the claim: a run 400 s in still holds its second message."""
    await queue(client, 2)
    await open_gates(client, budget=3)
    response = await client.post(
        "/api/push/gates/window", json={"budget": 3, "ttl_seconds": 3600}, headers=OP
    )
    assert response.status_code == 201
    await outbox(client)
    second_run: list[list[dict[str, Any]]] = []

    async def slow_then_race(n: int) -> None:
        if n == 1:
            clock.advance(timedelta(seconds=400))  # longer than PUSH_SEND_LEASE_SECONDS (300)
        elif n == 2:
            second_run.append(await send(client))  # another replica, while message 2 is in flight

    _after_each_delivery(monkeypatch, slow_then_race)
    first_run = await send(client)
    assert decisions(first_run) == [("SENT", None), ("SENT", None)]
    [[other]] = second_run
    assert (other["decision"], other["error_class"]) == ("SKIPPED", "AlreadyClaimed")
    assert len(telegram.sent()) == 2
    texts = [r.body["text"] for r in telegram.sent()]
    assert len(set(texts)) == 2

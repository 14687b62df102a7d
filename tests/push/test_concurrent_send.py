"""Two OS processes send the same outbox at the same moment: each message goes out once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.core.clock import FixedClock
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP, ready_to_send
from tests.push.racing import race

MESSAGES = 6


async def test_two_processes_send_each_message_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    # A budget enough for all: only the claims stop doubles.
    ids = await ready_to_send(client, MESSAGES, budget=MESSAGES)
    telegram.delay = 0.05  # keep each send in flight long enough for the other to try it
    outputs = race(app, clock, tmp_path, "tests.push.send_worker")

    sent_texts = Counter(r.body["text"] for r in telegram.sent())
    assert len(sent_texts) == MESSAGES
    assert set(sent_texts.values()) == {1}
    sent = [m for out in outputs for m, decision, _ in out if decision == "SENT"]
    assert sorted(sent) == sorted(ids)
    others = {(d, e) for out in outputs for _, d, e in out if d != "SENT"}
    assert others <= {("SKIPPED", "AlreadyClaimed")}
    rows = (await client.get("/api/push/receipts?decision=SENT", headers=OP)).json()
    assert rows["total"] == MESSAGES
    messages = (await client.get("/api/push/messages?status=SENT", headers=OP)).json()
    assert messages["total"] == MESSAGES

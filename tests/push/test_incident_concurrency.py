"""20 concurrent incident pushes over two OS processes: exactly one reaches Telegram."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.core.clock import FixedClock
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP
from tests.push.racing import WORKERS, race

CALLS_PER_PROCESS = 10


async def test_twenty_calls_two_processes_deliver_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    telegram.delay = 0.2  # the winner's send is in flight while the others try
    outputs = race(app, clock, tmp_path, "tests.push.incident_worker", str(CALLS_PER_PROCESS))
    answers = [answer for out in outputs for answer in out]

    assert len(answers) == WORKERS * CALLS_PER_PROCESS
    outcomes = Counter((skipped, why) for skipped, why in answers)
    assert outcomes[(False, "DELIVERED")] == 1
    assert (
        sum(n for (skipped, _), n in outcomes.items() if skipped) == WORKERS * CALLS_PER_PROCESS - 1
    )
    assert set(outcomes) <= {(False, "DELIVERED"), (True, "IN_FLIGHT"), (True, "ALREADY_DELIVERED")}
    assert len(telegram.sent()) == 1
    page = (await client.get("/api/push/incident", headers=OP)).json()
    assert page["total"] == 1
    assert page["items"][0]["delivery_reason"] == "DELIVERED"

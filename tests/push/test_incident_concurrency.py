"""20 concurrent incident pushes over two OS processes: exactly one reaches Telegram."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.core.clock import FixedClock
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP
from tests.push.test_concurrent_send import ROOT, _worker_env

CALLS_PER_PROCESS = 10


async def test_twenty_calls_two_processes_deliver_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    telegram.delay = 0.2  # the winner's send is in flight while the others try
    env = _worker_env(app, clock)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.push.incident_worker",
                str(r),
                str(go),
                str(CALLS_PER_PROCESS),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(w.poll() is None for w in workers), workers[0].stderr
        time.sleep(0.02)
    go.touch()
    answers = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
        answers += json.loads(out.strip().splitlines()[-1])

    assert len(answers) == 2 * CALLS_PER_PROCESS
    outcomes = Counter((skipped, why) for skipped, why in answers)
    assert outcomes[(False, "DELIVERED")] == 1
    assert sum(n for (skipped, _), n in outcomes.items() if skipped) == 2 * CALLS_PER_PROCESS - 1
    assert set(outcomes) <= {(False, "DELIVERED"), (True, "IN_FLIGHT"), (True, "ALREADY_DELIVERED")}
    assert len(telegram.sent()) == 1
    page = (await client.get("/api/push/incident", headers=OP)).json()
    assert page["total"] == 1
    assert page["items"][0]["delivery_reason"] == "DELIVERED"

"""Two OS processes send the same outbox at the same moment: each message goes out once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.core.clock import FixedClock
from tests.conftest import TOKENS
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP, open_gates, outbox, queue

MESSAGES = 6
ROOT = Path(__file__).resolve().parents[2]


def _worker_env(app: FastAPI, clock: FixedClock) -> dict[str, str]:
    settings = app.state.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(TOKENS)
    env.update(
        DATABASE_URL=settings.DATABASE_URL,
        DATA_DIR=str(settings.DATA_DIR),
        TELEGRAM_BOT_TOKEN=settings.TELEGRAM_BOT_TOKEN.get_secret_value(),
        TELEGRAM_CHAT_ID=settings.TELEGRAM_CHAT_ID.get_secret_value(),
        TELEGRAM_API_BASE=settings.TELEGRAM_API_BASE,
        FIXED_NOW=clock.now().isoformat(),
        PIPELINE_ENABLED="false",
    )
    return env


async def test_two_processes_send_each_message_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    ids = await queue(client, MESSAGES)
    await open_gates(client, budget=MESSAGES)  # budget enough for all: only claims stop doubles
    await outbox(client)
    telegram.delay = 0.05  # keep each send in flight long enough for the other to try it
    env = _worker_env(app, clock)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.push.send_worker", str(r), str(go)],
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
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))

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

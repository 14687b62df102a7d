"""Two OS processes against the test's database, let go at the same moment (concurrency tests).

Test side: `race(app, clock, tmp_path, "tests.push.x_worker", *args)` starts the workers with
the app's settings, waits until both are ready, lets them go and returns each one's answer
(the JSON of its last stdout line). Worker side (`python -m tests.push.x_worker <ready> <go>
...`): `async with started_together(ready, go) as client:` is an app client on that database
that returns once both workers are ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.core.clock import FixedClock
from app.core.settings import load_settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2


def worker_env(app: FastAPI, clock: FixedClock) -> dict[str, str]:
    """The environment of a worker: the app's database, data dir, Telegram and clock."""
    from tests.conftest import TOKENS  # the test side only (a worker needs no pytest)

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


def race(app: FastAPI, clock: FixedClock, tmp_path: Path, module: str, *args: str) -> list[Any]:
    """Run WORKERS `python -m module <ready> <go> *args` together; their answers, in order."""
    env = worker_env(app, clock)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(WORKERS)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", module, str(r), str(go), *args],
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
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


@asynccontextmanager
async def started_together(
    ready: Path, go: Path, poll_seconds: float = 0.01
) -> AsyncIterator[httpx.AsyncClient]:
    """In a worker: the app on the environment's settings; yields once told to go."""
    app = create_app(load_settings(), FixedClock(datetime.fromisoformat(os.environ["FIXED_NOW"])))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            ready.touch()
            deadline = time.monotonic() + 60
            while not go.exists():  # start together with the other worker
                if time.monotonic() > deadline:
                    raise SystemExit("never told to go")
                await asyncio.sleep(poll_seconds)
            yield client

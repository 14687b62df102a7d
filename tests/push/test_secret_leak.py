"""Secret leak zero: every failure mode with a known token, then search files, database, logs."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.core.http import RetryPolicy, make_client
from app.core.logging import JsonFormatter
from app.push.telegram import TelegramClient
from tests import dbutil
from tests.fakes.server import free_port
from tests.fakes.telegram import FakeTelegram
from tests.push.conftest import BOT_TOKEN
from tests.push.helpers import OP, open_gates, outbox, queue, send

# The token and its secret half: a leak of either counts.
NEEDLES = (BOT_TOKEN, BOT_TOKEN.split(":", 1)[1])


class _Capture(logging.Handler):
    """Formats every record the way production does (JSON) and keeps the lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def _database_text(url: str) -> str:
    conn = await asyncpg.connect(dbutil.plain(url))
    try:
        chunks = []
        for table in dbutil.table_names():
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t')
            chunks += [r["row"] for r in rows]
        return "\n".join(chunks)
    finally:
        await conn.close()


async def test_no_failure_mode_leaks_the_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    sleeps: list[float],
    data_dir: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    capture = _Capture()
    logging.getLogger().addHandler(capture)
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    try:
        await open_gates(client, budget=20)
        # Content that carries the token itself: stored redacted, blocked at send.
        await queue(client, content=f"deploy with bot{BOT_TOKEN} please", title=f"t {BOT_TOKEN}")
        for failure in ("429", "chat_not_found", "cant_parse", "401", "500", "502", "hang"):
            await queue(client, title=f"failure {failure}")
        await outbox(client)
        for failure in ("429", "chat_not_found", "cant_parse", "401", "500", "502", "hang"):
            telegram.always = failure
            bodies += [str(r) for r in await send(client)]
            bodies.append((await client.post("/api/push/self-test", headers=OP)).text)
        telegram.always = None
        # A token the API refuses, and an API that refuses connections.
        policy = RetryPolicy(max_attempts=2, max_total_seconds=1)

        async def no_wait(seconds: float) -> None:
            sleeps.append(seconds)

        for base in (telegram_base(app), f"http://127.0.0.1:{free_port()}"):
            client_for = TelegramClient(
                make_client(base_url=base, timeout=0.5),
                SecretStr(BOT_TOKEN + "x"),
                policy,
                no_wait,
            )
            app.state.push_telegram = client_for
            bodies.append((await client.post("/api/push/self-test", headers=OP)).text)
            await client.post("/api/push/gates/window", json={"budget": 5}, headers=OP)
            bodies += [str(r) for r in await send(client)]
            await client_for.aclose()
        for path in (
            "/api/push/outbox/latest",
            "/api/push/preview/latest",
            "/api/push/receipts",
            "/api/push/messages",
            "/api/push/gates",
            "/api/push/gates/audit",
            "/api/push/send/latest",
            "/api/push/self-test/latest",
        ):
            bodies.append((await client.get(path, headers=OP)).text)
    finally:
        logging.getLogger().removeHandler(capture)

    # The token really was in play: it went over the wire in the URL path.
    assert any(BOT_TOKEN in r.path for r in telegram.requests)
    assert any("FAILED" in b for b in bodies)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "send_receipts.jsonl" for p in files)
    haystacks = {str(p): p.read_text(errors="replace") for p in files}
    haystacks["database"] = await _database_text(database_url)
    haystacks["logs(json)"] = "\n".join(capture.lines)
    haystacks["logs(caplog)"] = caplog.text
    haystacks["responses"] = "\n".join(bodies)
    leaks = [name for name, text in haystacks.items() for n in NEEDLES if n in text]
    assert leaks == []
    assert "[REDACTED]" in haystacks["database"]  # the injected token was scrubbed, not lost


def telegram_base(app: FastAPI) -> str:
    return str(app.state.settings.TELEGRAM_API_BASE)

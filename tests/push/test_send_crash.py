"""A sender that dies mid-send: its message is settled with a clear receipt, never sent twice.

Telegram's sendMessage has no idempotency key, so after a crash nobody can know whether the
message reached the chat. The sender is at-most-once: once the dead sender's lease has passed,
the message is settled `UNCONFIRMED` with a FAILED receipt (`SendOutcomeUnknown`) and is not
re-sent; a sender that was only slow and comes back records what really happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.core.clock import FixedClock
from tests.dbutil import plain
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP, decisions, outbox, queue, ready_to_send, send
from tests.push.racing import ROOT, worker_env
from tests.push.test_send_midrun import _after_each_delivery

LEASE = 300


async def _messages(client: httpx.AsyncClient) -> dict[str, str]:
    items = (await client.get("/api/push/messages", headers=OP)).json()["items"]
    return {m["message_id"]: m["status"] for m in items}


async def _receipts(client: httpx.AsyncClient, message_id: str) -> list[dict[str, object]]:
    body = (await client.get(f"/api/push/receipts?message_id={message_id}", headers=OP)).json()
    items: list[dict[str, object]] = body["items"]
    return items


def _sends_of(telegram: FakeTelegram, title: str) -> int:
    return sum(
        1
        for r in telegram.requests
        if r.method == "sendMessage" and title in str(r.body.get("text", ""))
    )


async def test_killed_sender_message_is_settled_once_a_newer_outbox_exists(
    app: FastAPI,
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    [crashed] = await ready_to_send(client, title="Crashed mid-send", budget=3)
    telegram.always = "hang"  # the worker's sendMessage is in flight when it dies
    go = tmp_path / "go"
    go.touch()
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.push.send_worker", str(tmp_path / "ready"), str(go)],
        cwd=ROOT,
        env=worker_env(app, clock),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _sends_of(telegram, "Crashed mid-send") == 0:
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker never called Telegram"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        if worker.stderr:
            worker.stderr.close()
    telegram.always = None
    telegram.released = True
    assert (await _messages(client))[crashed] == "SENDING"

    [fresh] = await queue(client, title="Queued after the crash")
    await outbox(client)  # while the dead sender's lease still runs: left alone
    assert (await _messages(client))[crashed] == "SENDING"

    clock.advance(timedelta(seconds=LEASE + 1))
    newer = await outbox(client)  # a newer outbox run: the crashed message must not be lost in it
    assert [m["message_id"] for m in newer["messages"]] == [fresh]
    assert (await _messages(client))[crashed] == "UNCONFIRMED"
    [settled] = await _receipts(client, crashed)
    assert (settled["decision"], settled["error_class"]) == ("FAILED", "SendOutcomeUnknown")
    assert settled["http_status"] is None

    assert decisions(await send(client)) == [("SENT", None)]
    assert _sends_of(telegram, "Crashed mid-send") == 1  # at-most-once: never re-sent
    assert _sends_of(telegram, "Queued after the crash") == 1
    statuses = await _messages(client)
    assert (statuses[crashed], statuses[fresh]) == ("UNCONFIRMED", "SENT")


async def test_expired_claim_on_the_latest_outbox_is_settled_not_resent(
    client: httpx.AsyncClient, telegram: FakeTelegram, clock: FixedClock, database_url: str
) -> None:
    [crashed] = await ready_to_send(client, title="Crashed mid-send", budget=2)
    conn = await asyncpg.connect(plain(database_url))
    try:  # what a sender that died after its claim leaves behind
        await conn.execute(
            "UPDATE push_messages SET status = 'SENDING', claim_owner = 'dead:1:x', "
            "claimed_until = $1, attempts = 1",
            clock.now() - timedelta(seconds=1),
        )
    finally:
        await conn.close()
    receipt, nothing_left = await send(client)
    assert (receipt["decision"], receipt["error_class"]) == ("FAILED", "SendOutcomeUnknown")
    assert receipt["message_id"] == crashed
    assert (nothing_left["decision"], nothing_left["blocked_reason"]) == ("SKIPPED", "NO_MESSAGES")
    assert [r.method for r in telegram.requests].count("sendMessage") == 0
    assert decisions(await send(client)) == [("SKIPPED", "NO_MESSAGES")]
    assert (await _messages(client))[crashed] == "UNCONFIRMED"


async def test_slow_sender_settled_meanwhile_records_what_really_happened(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [message] = await ready_to_send(client)

    async def outlive_the_lease(n: int) -> None:
        clock.advance(timedelta(seconds=LEASE + 1))
        await outbox(client)  # someone else settles the "dead" claim meanwhile

    _after_each_delivery(monkeypatch, outlive_the_lease)
    assert decisions(await send(client)) == [("SENT", None)]
    assert (await _messages(client))[message] == "SENT"
    trail = [(r["decision"], r["error_class"]) for r in await _receipts(client, message)]
    assert trail == [("SENT", None), ("FAILED", "SendOutcomeUnknown")]  # newest first
    assert len(telegram.sent()) == 1


async def test_read_timeout_is_not_repeated_and_leaves_the_message_unconfirmed(
    client: httpx.AsyncClient, telegram: FakeTelegram, sleeps: list[float]
) -> None:
    """The request left and no answer came: repeating it could post the message twice."""
    [message] = await ready_to_send(client, budget=2)
    telegram.always = "hang"
    [receipt] = await send(client)
    assert (receipt["decision"], receipt["error_class"]) == ("FAILED", "ReadTimeout")
    assert "may have delivered" in str(receipt["error_message_sanitized"])
    assert [r.method for r in telegram.requests].count("sendMessage") == 1
    telegram.always = None
    telegram.released = True
    await outbox(client)
    assert decisions(await send(client)) == [("SKIPPED", "NO_MESSAGES")]
    assert (await _messages(client))[message] == "UNCONFIRMED"


async def test_connection_refused_is_retried_and_stays_pending(
    client: httpx.AsyncClient, app: FastAPI, sleeps: list[float]
) -> None:
    """Nothing reached Telegram: the message waits for the next window, as before."""
    from tests.fakes.server import free_port

    [message] = await ready_to_send(client)
    telegram_client = app.state.push_telegram
    telegram_client._http.base_url = f"http://127.0.0.1:{free_port()}"  # nobody listens
    [receipt] = await send(client)
    assert (receipt["decision"], receipt["error_class"]) == ("FAILED", "ConnectError")
    assert len(sleeps) == 2  # HTTP_MAX_ATTEMPTS = 3
    assert (await _messages(client))[message] == "PENDING"

"""What the sender does with each Telegram answer, and the receipts and files it leaves."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.push import paths as P
from tests.fakes.telegram import FakeTelegram
from tests.push.conftest import CHAT_ID
from tests.push.helpers import OP, decisions, outbox, ready_to_send, send


async def _walk(client: httpx.AsyncClient, budget: int = 1) -> list[dict[str, object]]:
    await ready_to_send(client, budget=budget)
    return await send(client)


async def test_sent_receipt_and_body(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await ready_to_send(client, title="CPU <high> & rising", content="load 12 > 8")
    [receipt] = await send(client)
    assert receipt["decision"] == "SENT"
    assert receipt["http_status"] == 200
    assert receipt["error_class"] is None
    assert receipt["formatter_ref"] == "app/utils/push_formatter.py"
    assert receipt["preview_ref"] == "api:/api/push/preview/latest"
    assert receipt["secrets_status_observed"] == {
        "TELEGRAM_BOT_TOKEN": True,
        "TELEGRAM_CHAT_ID": True,
    }
    [sent] = telegram.sent()
    assert sent.body["parse_mode"] == "HTML"
    assert sent.body["chat_id"] == CHAT_ID
    assert sent.body["text"] == "<b>[ALERT] CPU &lt;high&gt; &amp; rising</b>\n\nload 12 &gt; 8"
    preview = (await client.get("/api/push/preview/latest", headers=OP)).json()
    assert preview["messages"][0]["body"] == sent.body["text"]


async def test_sent_message_is_never_sent_again(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    assert decisions(await _walk(client, budget=5)) == [("SENT", None)]
    assert decisions(await send(client)) == [("SKIPPED", "NO_MESSAGES")]
    await outbox(client)  # a new outbox no longer lists it
    assert decisions(await send(client)) == [("SKIPPED", "NO_MESSAGES")]
    assert len(telegram.sent()) == 1


@pytest.mark.parametrize(
    ("failure", "status", "error_class", "text"),
    [
        ("chat_not_found", 400, "TelegramBadRequest", "Bad Request: chat not found"),
        ("401", 401, "TelegramUnauthorized", "Unauthorized"),
    ],
)
async def test_client_errors_fail_without_retry(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    sleeps: list[float],
    failure: str,
    status: int,
    error_class: str,
    text: str,
) -> None:
    await ready_to_send(client)
    telegram.always = failure
    [receipt] = await send(client)
    assert receipt["decision"] == "FAILED"
    assert receipt["http_status"] == status
    assert receipt["error_class"] == error_class
    assert receipt["error_message_sanitized"] == text
    assert [r.method for r in telegram.requests].count("sendMessage") == 1
    assert sleeps == []


async def test_failed_message_stays_pending_for_the_next_window(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await ready_to_send(client)
    telegram.fail_next("chat_not_found")
    assert decisions(await send(client)) == [("FAILED", None)]
    # The window's one unit was spent on the attempt; a new window lets it through.
    assert decisions(await send(client)) == [("BLOCKED", "WINDOW_CONSUMED")]
    await client.post("/api/push/gates/window", json={"budget": 1}, headers=OP)
    assert decisions(await send(client)) == [("SENT", None)]
    messages = (await client.get("/api/push/messages", headers=OP)).json()["items"]
    assert messages[0]["status"] == "SENT"
    assert messages[0]["attempts"] == 2


async def test_429_waits_retry_after_then_sends(
    client: httpx.AsyncClient, telegram: FakeTelegram, sleeps: list[float]
) -> None:
    await ready_to_send(client)
    telegram.retry_after = 7
    telegram.fail_next("429")
    assert decisions(await send(client)) == [("SENT", None)]
    assert sleeps == [7.0]


async def test_429_beyond_the_retry_budget_fails(
    client: httpx.AsyncClient, telegram: FakeTelegram, sleeps: list[float]
) -> None:
    await ready_to_send(client)
    telegram.retry_after = 3600  # longer than HTTP_MAX_RETRY_SECONDS: not waited
    telegram.always = "429"
    [receipt] = await send(client)
    assert (receipt["decision"], receipt["http_status"]) == ("FAILED", 429)
    assert receipt["error_class"] == "TelegramRateLimited"
    assert sleeps == []


async def test_5xx_backs_off_and_recovers(
    client: httpx.AsyncClient, telegram: FakeTelegram, sleeps: list[float]
) -> None:
    await ready_to_send(client)
    telegram.fail_next("502", "500")
    assert decisions(await send(client)) == [("SENT", None)]
    assert len(sleeps) == 2


async def test_5xx_exhausted_fails(
    client: httpx.AsyncClient, telegram: FakeTelegram, sleeps: list[float]
) -> None:
    await ready_to_send(client)
    telegram.always = "500"
    [receipt] = await send(client)
    assert (receipt["decision"], receipt["http_status"]) == ("FAILED", 500)
    assert receipt["error_class"] == "TelegramServerError"
    assert [r.method for r in telegram.requests].count("sendMessage") == 3  # HTTP_MAX_ATTEMPTS


async def test_hang_times_out_and_fails(
    client: httpx.AsyncClient, telegram: FakeTelegram, sleeps: list[float]
) -> None:
    await ready_to_send(client)
    telegram.always = "hang"
    [receipt] = await send(client)
    assert receipt["decision"] == "FAILED"
    assert receipt["http_status"] is None
    assert receipt["error_class"] == "ReadTimeout"


async def test_cant_parse_entities_falls_back_to_plain_text(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await ready_to_send(client, title="a < b")
    telegram.always = "cant_parse"
    assert decisions(await send(client)) == [("SENT", None)]
    calls = [r for r in telegram.requests if r.method == "sendMessage"]
    assert [c.body.get("parse_mode") for c in calls] == ["HTML", None]
    assert calls[1].body["text"].startswith("[ALERT] a < b\n\n")


async def test_receipt_files_and_evidence(
    client: httpx.AsyncClient, telegram: FakeTelegram, data_dir: Path
) -> None:
    await ready_to_send(client, 2, budget=1)
    receipts = await send(client)
    log = (data_dir / P.RECEIPTS_LOG).read_text().splitlines()
    assert [json.loads(line)["send_id"] for line in log] == [r["send_id"] for r in receipts]
    latest = json.loads((data_dir / P.SEND_LATEST).read_text())
    assert latest == receipts[-1]
    assert len(list((data_dir / P.SEND_SNAPSHOTS).glob("send_20260125_090530*.json"))) == 2
    for receipt in receipts:
        for ref in receipt["evidence_refs"]:
            assert not ref.startswith(("json:", "file://"))
            assert (data_dir / ref).is_file(), ref
    assert set(receipts[0]["evidence_refs"]) == {
        P.EVIDENCE_INDEX_LATEST,
        P.SEND_LATEST,
        P.OUTBOX_LATEST,
        P.PREVIEW_LATEST,
        P.SELF_TEST_LATEST,
    }
    index = (await client.get("/api/push/evidence/latest", headers=OP)).json()
    by_name = {e["name"]: e for e in index["entries"]}
    assert set(by_name) == {"send_latest", "outbox_latest", "preview_latest", "self_test_latest"}
    import hashlib

    for entry in index["entries"]:
        assert (
            hashlib.sha256((data_dir / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
        )
    assert (await client.get("/api/push/send/latest", headers=OP)).json() == latest


async def test_receipts_api_filters_and_pages(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    await ready_to_send(client, 3, budget=1)
    await send(client)
    blocked = await client.get(
        "/api/push/receipts", params={"decision": "BLOCKED", "limit": 1}, headers=OP
    )
    body = blocked.json()
    assert (body["total"], len(body["items"])) == (2, 1)
    assert body["items"][0]["blocked_reason"] == "WINDOW_CONSUMED"
    page2 = await client.get(
        "/api/push/receipts", params={"decision": "BLOCKED", "limit": 1, "offset": 1}, headers=OP
    )
    assert page2.json()["items"][0]["send_id"] != body["items"][0]["send_id"]
    sent = await client.get("/api/push/receipts", params={"decision": "SENT"}, headers=OP)
    assert sent.json()["total"] == 1
    bad = await client.get("/api/push/receipts", params={"decision": "MAYBE"}, headers=OP)
    assert bad.status_code == 422
    naive = await client.get("/api/push/receipts", params={"since": "2026-01-01T00:00"}, headers=OP)
    assert naive.status_code == 422


async def test_send_that_outlives_its_claim_is_not_a_500(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another sender took the message over mid-send: a ClaimLost receipt, never a second SENT."""
    import asyncpg

    from app.push import send as send_module
    from tests.dbutil import plain

    real_deliver = send_module._deliver

    async def deliver_then_lose_claim(ctx: send_module.SendContext, candidate: object) -> object:
        result = await real_deliver(ctx, candidate)  # type: ignore[arg-type]
        conn = await asyncpg.connect(plain(database_url))
        try:
            await conn.execute("UPDATE push_messages SET claim_owner = 'someone-else'")
        finally:
            await conn.close()
        return result

    monkeypatch.setattr(send_module, "_deliver", deliver_then_lose_claim)
    [receipt] = await _walk(client)
    assert receipt["decision"] == "SKIPPED"
    assert receipt["error_class"] == "ClaimLost"
    assert receipt["http_status"] == 200
    assert len(telegram.sent()) == 1

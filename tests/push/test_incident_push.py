"""Incident pushes (contract D): validation, delivery, the day's key, failures, files, reading back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from app.push import paths as P
from tests.conftest import bearer
from tests.fakes.server import serve_in_thread
from tests.fakes.slack import PATH as SLACK_PATH
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.push.conftest import BOT_TOKEN, CHAT_ID
from tests.push.helpers import INCIDENT_KINDS, INCIDENT_PUSH_FIELDS, OP, patch_gates

SCRIPT = bearer("OPS_SCRIPT")


@pytest.fixture(scope="module")
def slack_server() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with serve_in_thread(fake.app()) as url:
        yield fake, url + SLACK_PATH


@pytest.fixture
def slack(slack_server: tuple[FakeSlack, str]) -> FakeSlack:
    slack_server[0].reset()
    return slack_server[0]


@pytest.fixture
def settings_overrides(
    settings_overrides: dict[str, Any], slack_server: tuple[FakeSlack, str]
) -> dict[str, Any]:
    return {**settings_overrides, "SLACK_WEBHOOK_URL": slack_server[1], "TIMEZONE": "Asia/Seoul"}


async def push(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    query = {"confirm": "true", "mode": "normal", "kind": "BACKEND_DOWN", "step": "Step2"}
    query.update(params)
    return await client.post("/api/push/incident/send", params=query, headers=SCRIPT)


async def test_confirm_kind_mode_and_scope_are_checked(client: httpx.AsyncClient) -> None:
    assert (await push(client, confirm="false")).status_code == 400
    response = await client.post("/api/push/incident/send?kind=BACKEND_DOWN", headers=SCRIPT)
    assert response.status_code == 400
    response = await push(client, kind="DISK_FULL")
    assert response.status_code == 422
    assert all(kind in response.json()["detail"] for kind in INCIDENT_KINDS)
    assert (await push(client, kind="")).status_code == 422
    assert (await push(client, mode="loud")).status_code == 422
    assert (await push(client, step="Step9")).status_code == 422
    viewer = bearer("VIEWER")
    query = "confirm=true&kind=BACKEND_DOWN"
    response = await client.post(f"/api/push/incident/send?{query}", headers=viewer)
    assert response.status_code == 403
    assert (await client.post(f"/api/push/incident/send?{query}")).status_code == 401
    response = await client.post(f"/api/push/incident/send?{query}", headers=OP)
    assert response.status_code == 200


async def test_delivered_push_answer_files_and_message(
    client: httpx.AsyncClient, telegram: FakeTelegram, data_dir: Path
) -> None:
    response = await push(client, reason="HTTP 000 - Connection refused")
    assert response.status_code == 200, response.text
    answer = response.json()
    # 09:05:30 UTC is 18:05:30 in Seoul: the day is the 25th there too.
    key = "incident_BACKEND_DOWN_20260125"
    assert {k: answer[k] for k in ("result", "skipped", "kind", "idempotency_key")} == {
        "result": "OK",
        "skipped": False,
        "kind": "BACKEND_DOWN",
        "idempotency_key": key,
    }
    assert answer["delivery_actual"] == "TELEGRAM"
    [sent] = telegram.sent()
    assert sent.body["chat_id"] == CHAT_ID
    assert sent.body["parse_mode"] == "HTML"
    assert sent.body["text"].startswith("<b>\U0001f6a8 INCIDENT: BACKEND_DOWN</b>\n\n")
    latest = json.loads((data_dir / P.INCIDENT_LATEST).read_text())
    assert set(latest) == INCIDENT_PUSH_FIELDS
    assert latest["schema"] == "INCIDENT_PUSH_V1"
    assert latest["severity"] == "CRITICAL"
    assert latest["step"] == "Step2"
    assert latest["reason"] == "HTTP 000 - Connection refused"
    assert latest["message"] == (
        "\U0001f6a8 INCIDENT: BACKEND_DOWN\n\nThe server is not responding.\n"
        "Step: Step2 (Health Check)\nReason: HTTP 000 - Connection refused\nSeverity: CRITICAL"
        "\n\nAction: log in to the host and restart the service "
        "(kubectl -n production rollout restart deployment/incident-api)."
    )
    receipt = latest["send_receipt"]
    assert receipt["provider"] == "TELEGRAM"
    assert receipt["message_id"] == answer["send_receipt"]["message_id"] >= 1001
    assert receipt["sent_at"].startswith("2026-01-25T09:05:30")
    # The snapshot is named in TIMEZONE local time, like the key's day; no colon anywhere.
    snapshot = "reports/ops/push/incident/snapshots/incident_BACKEND_DOWN_20260125_180530.json"
    assert latest["snapshot_ref"] == answer["snapshot_ref"] == snapshot
    assert json.loads((data_dir / snapshot).read_text()) == latest
    assert latest["evidence_refs"] == [P.INCIDENT_LATEST]
    assert all((data_dir / ref).is_file() for ref in latest["evidence_refs"])
    from_api = (await client.get("/api/push/incident/latest", headers=OP)).json()
    assert from_api == latest


async def test_one_delivered_push_per_kind_per_day_in_timezone(
    client: httpx.AsyncClient, telegram: FakeTelegram, clock: FixedClock
) -> None:
    first = (await push(client)).json()
    again = (await push(client)).json()
    assert again["skipped"] is True
    assert again["delivery_reason"] == "ALREADY_DELIVERED"
    assert again["idempotency_key"] == first["idempotency_key"]
    assert again["send_receipt"] == first["send_receipt"]
    metrics = (await client.get("/metrics")).text
    assert 'incident_pushes_total{kind="BACKEND_DOWN",outcome="ALREADY_DELIVERED"}' in metrics
    other = (await push(client, kind="OPS_BLOCKED", step="Step3")).json()
    assert other["skipped"] is False  # the key is per kind
    assert len(telegram.sent()) == 2
    # 15:30 UTC is already the 26th in Seoul: a new day, a new key.
    clock.set(datetime(2026, 1, 25, 15, 30, tzinfo=UTC))
    next_day = (await push(client)).json()
    assert next_day["idempotency_key"] == "incident_BACKEND_DOWN_20260126"
    assert next_day["skipped"] is False
    assert len(telegram.sent()) == 3


async def test_test_mode_sends_nothing_and_leaves_the_key(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    for _ in range(2):
        answer = (await push(client, mode="test")).json()
        assert answer["delivery_actual"] == "CONSOLE_SIMULATED"
        assert answer["delivery_reason"] == "TEST_MODE"
        assert answer["skipped"] is False
    assert telegram.requests == []
    page = (await client.get("/api/push/incident", headers=OP)).json()
    assert [i["mode"] for i in page["items"]] == ["test", "test"]
    assert (await push(client)).json()["delivery_actual"] == "TELEGRAM"


async def test_emergency_stop_holds_but_no_other_gate_does(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    # Default gates: MOCK_ONLY, sender off, no self-test, no window. None of them matter here.
    await patch_gates(client, emergency_stop=True, reason="drill")
    answer = (await push(client)).json()
    assert (answer["delivery_actual"], answer["delivery_reason"]) == (
        "CONSOLE_SIMULATED",
        "EMERGENCY_STOP",
    )
    assert telegram.requests == []
    await patch_gates(client, emergency_stop=False, reason="drill over")
    answer = (await push(client)).json()  # the stop did not use up the day's key
    assert (answer["delivery_actual"], answer["skipped"]) == ("TELEGRAM", False)


async def test_failed_delivery_releases_the_key_and_raises_one_push_failed(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    slack: FakeSlack,
    sleeps: list[float],
    data_dir: Path,
) -> None:
    telegram.always = "502"  # a proxy page echoing the URL path, token included
    answer = (await push(client)).json()
    assert (answer["result"], answer["skipped"], answer["delivery_reason"]) == (
        "FAILED",
        False,
        "TELEGRAM_FAILED",
    )
    assert answer["send_receipt"] is None
    page = (await client.get("/api/push/incident", headers=OP)).json()
    assert [i["document"]["kind"] for i in page["items"]] == ["PUSH_FAILED", "BACKEND_DOWN"]
    failed, original = page["items"]
    assert original["error_class"] == "TelegramServerError"
    assert "[REDACTED]" in original["error_message_sanitized"]
    assert failed["result"] == "FAILED"  # Telegram still fails: no third push, no loop
    assert failed["slack_status"] == "delivered"
    assert failed["document"]["reason"].startswith("BACKEND_DOWN push failed: TelegramServerError")
    [posted] = slack.requests
    assert posted["text"].startswith("\U0001f6a8 INCIDENT: PUSH_FAILED")
    # Telegram is back: the failed key was released, so the next call delivers.
    telegram.always = None
    answer = (await push(client)).json()
    assert (answer["result"], answer["skipped"]) == ("OK", False)
    assert (await push(client)).json()["skipped"] is True
    # PUSH_FAILED's Slack post is once a day too.
    telegram.always = "chat_not_found"
    (await push(client, kind="OPS_FAILED", step="Step3")).json()
    assert len(slack.requests) == 1
    texts = [p.read_text() for p in data_dir.rglob("*") if p.is_file()]
    assert texts
    assert not [t for t in texts if BOT_TOKEN.split(":")[1] in t]


async def test_unanswered_send_uses_the_key_and_is_never_repeated(
    client: httpx.AsyncClient, telegram: FakeTelegram, slack: FakeSlack, sleeps: list[float]
) -> None:
    telegram.always = "hang"  # the request left; no answer comes back in time
    answer = (await push(client)).json()
    assert (answer["result"], answer["delivery_reason"]) == ("OK", "TELEGRAM_UNCONFIRMED")
    assert answer["send_receipt"] is None
    assert len(telegram.requests) == 2  # the push and its PUSH_FAILED follow-up, once each
    page = (await client.get("/api/push/incident", headers=OP)).json()
    failed = page["items"][0]
    assert failed["document"]["reason"].startswith("BACKEND_DOWN push failed: unconfirmed")
    assert failed["slack_status"] == "delivered"
    again = (await push(client)).json()
    assert (again["skipped"], again["delivery_reason"]) == (True, "ALREADY_DELIVERED")
    assert len(telegram.requests) == 2


async def test_history_newest_first_filters_and_pages(
    client: httpx.AsyncClient, telegram: FakeTelegram, clock: FixedClock, data_dir: Path
) -> None:
    await push(client, kind="OPS_BLOCKED", step="Step3")
    await push(client, kind="LIVE_FAILED", step="Step4")
    clock.advance(timedelta(days=1))
    await push(client, kind="OPS_BLOCKED", step="Step3")
    page = (await client.get("/api/push/incident", headers=OP)).json()
    assert page["total"] == 3
    keys = [i["document"]["idempotency_key"] for i in page["items"]]
    assert keys == [
        "incident_OPS_BLOCKED_20260126",
        "incident_LIVE_FAILED_20260125",
        "incident_OPS_BLOCKED_20260125",
    ]
    query = {"kind": "OPS_BLOCKED", "limit": "1", "offset": "1"}
    page = (await client.get("/api/push/incident", params=query, headers=OP)).json()
    assert page["total"] == 2
    assert [i["document"]["idempotency_key"] for i in page["items"]] == [keys[2]]
    page = (await client.get("/api/push/incident?date=2026-01-25", headers=OP)).json()
    assert page["total"] == 2
    bad = await client.get("/api/push/incident?date=25.01.2026", headers=OP)
    assert bad.status_code == 422
    bad = await client.get("/api/push/incident?kind=NOPE", headers=OP)
    assert bad.status_code == 422
    # Read from the database: the files are artifacts.
    (data_dir / P.INCIDENT_LATEST).unlink()
    latest = (await client.get("/api/push/incident/latest", headers=OP)).json()
    assert latest["idempotency_key"] == keys[0]


async def test_latest_is_404_before_any_push(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/push/incident/latest", headers=OP)).status_code == 404


class TestHintsAndSecrets:
    @pytest.fixture
    def settings_overrides(self, settings_overrides: dict[str, Any]) -> dict[str, Any]:
        return {
            **settings_overrides,
            "TELEGRAM_BOT_TOKEN": None,
            "INCIDENT_PUSH_HINTS": {"OPS_FAILED": "page the DBA on call."},
        }

    async def test_no_secrets_is_console_with_the_configured_hint(
        self, client: httpx.AsyncClient, telegram: FakeTelegram
    ) -> None:
        answer = (await push(client, kind="OPS_FAILED", step="Step3")).json()
        assert (answer["delivery_actual"], answer["delivery_reason"]) == (
            "CONSOLE_SIMULATED",
            "NO_SECRETS",
        )
        latest = (await client.get("/api/push/incident/latest", headers=OP)).json()
        assert latest["message"].endswith("\n\nAction: page the DBA on call.")
        assert latest["severity"] == "HIGH"
        assert telegram.requests == []


async def test_control_characters_in_the_reason_are_stored_not_a_500(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    assert (await push(client, mode="test", reason="a\x00b")).status_code == 400  # NUL: refused
    response = await push(client, mode="test", reason="db\x07down \x1b[31mred\x7f")
    assert response.status_code == 200, response.text
    latest = (await client.get("/api/push/incident/latest", headers=OP)).json()
    assert latest["reason"] == "db down [31mred"

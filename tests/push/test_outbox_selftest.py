from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.push import paths as P
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP, outbox, queue


async def test_outbox_records_and_never_sends(
    client: httpx.AsyncClient, telegram: FakeTelegram, data_dir: Path
) -> None:
    assert (await client.get("/api/push/outbox/latest", headers=OP)).status_code == 404
    await queue(client, 2)
    box = await outbox(client)
    assert box["schema"] == "PUSH_OUTBOX_V1"
    assert box["delivery_policy"] == "CONSOLE_ONLY"
    assert box["gate_mode_observed"] == "MOCK_ONLY"
    assert box["self_test_decision_observed"] is None
    assert box["summary"] == {"total_messages": 2, "console_bound": 0, "external_candidate": 2}
    assert box["messages"][0]["target_channels"] == ["CONSOLE", "TELEGRAM"]
    assert telegram.requests == []
    latest = json.loads((data_dir / P.OUTBOX_LATEST).read_text())
    assert latest == box
    assert (await client.get("/api/push/outbox/latest", headers=OP)).json() == box
    snapshots = list((data_dir / P.OUTBOX_SNAPSHOTS).iterdir())
    assert [s.name for s in snapshots] == ["outbox_20260125_090530.json"]
    await outbox(client)
    assert len(list((data_dir / P.OUTBOX_SNAPSHOTS).iterdir())) == 2  # append-only, no clobber
    preview = (await client.get("/api/push/preview/latest", headers=OP)).json()
    assert preview["outbox_id"] != box["outbox_id"]  # the newest run
    assert [m["body"] for m in preview["messages"]][0].startswith("<b>[ALERT] Disk full #0</b>")


class TestWithoutSecrets:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {}

    async def test_no_secrets_for_any_channel(self, client: httpx.AsyncClient) -> None:
        await queue(client)
        box = await outbox(client)
        assert box["messages"][0]["blocked_reason"] == "NO_SECRETS_FOR_ANY_CHANNEL"
        assert box["messages"][0]["target_channels"] == ["CONSOLE"]
        assert box["summary"] == {"total_messages": 1, "console_bound": 1, "external_candidate": 0}

    async def test_self_test_fails_and_says_which_secret(self, client: httpx.AsyncClient) -> None:
        report = (await client.post("/api/push/self-test", headers=OP)).json()
        assert report["decision"] == "SELF_TEST_FAIL"
        checks = {c["name"]: c for c in report["checks"]}
        assert checks["secrets_present"]["passed"] is False
        assert "TELEGRAM_BOT_TOKEN present: false" in checks["secrets_present"]["detail"]
        assert checks["formatter_round_trip"]["passed"] is True
        assert checks["telegram_get_me"]["detail"].startswith("not tried")
        assert report["secrets_status_observed"] == {
            "TELEGRAM_BOT_TOKEN": False,
            "TELEGRAM_CHAT_ID": False,
        }


async def test_self_test_pass(
    client: httpx.AsyncClient, telegram: FakeTelegram, data_dir: Path
) -> None:
    report = (await client.post("/api/push/self-test", headers=OP)).json()
    assert report["decision"] == "SELF_TEST_PASS"
    assert [c["passed"] for c in report["checks"]] == [True, True, True]
    assert "@ops_test_bot" in report["checks"][2]["detail"]
    assert json.loads((data_dir / P.SELF_TEST_LATEST).read_text()) == report
    assert (await client.get("/api/push/self-test/latest", headers=OP)).json() == report


@pytest.mark.parametrize(
    ("failure", "error"), [("401", "TelegramUnauthorized"), ("hang", "ReadTimeout")]
)
async def test_self_test_get_me_failures(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    sleeps: list[float],
    failure: str,
    error: str,
) -> None:
    telegram.always = failure
    report = (await client.post("/api/push/self-test", headers=OP)).json()
    assert report["decision"] == "SELF_TEST_FAIL"
    assert report["checks"][2]["detail"].startswith(error)

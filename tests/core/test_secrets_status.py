"""An empty secret is reported absent in secrets_status_observed (issue 9.9)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import bearer


@pytest.mark.parametrize(
    "settings_overrides", [{"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHAT_ID": "-100200300"}]
)
async def test_empty_bot_token_is_not_present(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/push/self-test", headers=bearer("OPERATOR"))
    assert response.status_code == 200, response.text
    assert response.json()["secrets_status_observed"] == {
        "TELEGRAM_BOT_TOKEN": False,
        "TELEGRAM_CHAT_ID": True,
    }

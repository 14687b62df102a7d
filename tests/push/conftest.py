"""Push tests: the app talks to a loopback fake Telegram; retry sleeps are recorded, not waited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.fakes.telegram import FakeTelegram, fresh, served

# Token-shaped (as BotFather issues them) so the shape patterns are exercised too.
BOT_TOKEN = "7512345678:AAFakeTok3n_for-push-tests_0123456789xyz"
CHAT_ID = "-1001234567890"


@pytest.fixture(scope="session")
def telegram_server() -> Iterator[tuple[FakeTelegram, str]]:
    with served(BOT_TOKEN) as server:
        yield server


@pytest.fixture
def telegram(telegram_server: tuple[FakeTelegram, str]) -> Iterator[FakeTelegram]:
    with fresh(telegram_server[0]) as fake:
        yield fake


@pytest.fixture
def settings_overrides(telegram_server: tuple[FakeTelegram, str]) -> dict[str, Any]:
    return {
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_CHAT_ID": CHAT_ID,
        "TELEGRAM_API_BASE": telegram_server[1],
        "HTTP_TIMEOUT_SECONDS": 0.5,
        "HTTP_MAX_ATTEMPTS": 3,
        "HTTP_MAX_RETRY_SECONDS": 30,
    }


@pytest.fixture
def sleeps(app: FastAPI, telegram: FakeTelegram) -> list[float]:
    """Retry waits the Telegram client asked for (instead of waiting them)."""
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    app.state.push_telegram.sleep = record
    return waited

"""Anything unhandled: a JSON 500 with no details, the exception logged once, redacted."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from app.core.logging import JsonFormatter
from app.core.redact import configure_secrets

BOT_TOKEN = "123456789:AAHf0ke-T0ken_for_tests_only_abcdefghi"


async def test_unhandled_error_is_a_bare_json_500_logged_redacted(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError(f"peer said: bad token {BOT_TOKEN} in /bot{BOT_TOKEN}/getMe")

    app.add_api_route("/boom", boom)
    configure_secrets([BOT_TOKEN])
    caplog.set_level(logging.ERROR)
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert BOT_TOKEN not in response.text
    (record,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert line["route"] == "/boom"
    assert "RuntimeError" in line["exc"]
    assert BOT_TOKEN not in json.dumps(line)
    assert "[REDACTED]" in line["exc"]

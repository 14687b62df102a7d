"""Input PostgreSQL refuses (NUL, lone surrogates) is a 4xx, never a 500 (issue 9.4)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import bearer

READ = bearer("VIEWER")
OPERATOR = {**bearer("OPERATOR"), "Content-Type": "application/json"}


@pytest.mark.parametrize(
    "url",
    [
        "/incidents/%00",
        "/incidents/abc%00def",
        "/incidents?alert_name=%00",
        "/incidents?service=x%00&limit=5",
        "/incidents?cursor=%00",
        "/api/push/messages?status=%00",
    ],
)
async def test_nul_in_url_is_4xx(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url, headers=READ)
    assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"alert_name": "nul\u0000name"},
        {"alert_name": "x", "labels": {"k": "\u0000"}},
        {"alert_name": "x", "dedup_key": "\u0000"},
        {"alert_name": "lone \ud800 surrogate"},
        {"alert_name": "x", "labels": {"\udfff": "v"}},
    ],
)
async def test_unstorable_text_in_a_body_is_4xx(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    raw = json.dumps(body).encode()  # escapes, exactly as a client would send them
    response = await client.post("/incidents", content=raw, headers=OPERATOR)
    assert 400 <= response.status_code < 500, (body, response.status_code, response.text)


async def test_validation_errors_echoing_a_surrogate_still_render(
    client: httpx.AsyncClient,
) -> None:
    raw = json.dumps({"alert_name": "x", "priority": "\ud800"}).encode()
    response = await client.post("/incidents", content=raw, headers=OPERATOR)
    assert response.status_code == 422
    assert response.json()["detail"]

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.push.queue import enqueue_message
from tests.conftest import bearer
from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import OP


async def test_create_and_list(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    body = {"push_type": "REPORT", "title": "Daily", "content": "all green", "source_ref": "r1"}
    created = await client.post("/api/push/messages", json=body, headers=OP)
    assert created.status_code == 201
    assert created.json()["created"] is True
    listed = (await client.get("/api/push/messages", headers=bearer("VIEWER"))).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["push_type"], item["status"], item["source_ref"]) == ("REPORT", "PENDING", "r1")


async def test_dedup_key_queues_once(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    body = {"push_type": "ALERT", "title": "x", "content": "y", "dedup_key": "incident-1"}
    first = await client.post("/api/push/messages", json=body, headers=OP)
    second = await client.post("/api/push/messages", json=body, headers=OP)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["message_id"] == second.json()["message_id"]
    assert second.json()["created"] is False


async def test_enqueue_message_in_callers_transaction(
    app: FastAPI, client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    """What the incidents domain calls: inside its own transaction, idempotent on dedup_key."""
    async with app.state.sessionmaker() as session, session.begin():
        first = await enqueue_message(
            session, push_type="INCIDENT", title="P0 db down", content="c", dedup_key="inc-42"
        )
        again = await enqueue_message(
            session, push_type="INCIDENT", title="P0 db down", content="c", dedup_key="inc-42"
        )
    assert first == again
    async with app.state.sessionmaker() as session, session.begin():
        await enqueue_message(session, push_type="INFO", title="t", content="c", dedup_key="gone")
        await session.rollback()  # the caller's rollback takes the message with it
    listed = (await client.get("/api/push/messages", headers=OP)).json()
    assert [m["dedup_key"] for m in listed["items"]] == ["inc-42"]


@pytest.mark.parametrize(
    "body",
    [
        {"push_type": "PAGE", "title": "x", "content": "y"},
        {"push_type": "ALERT", "title": "", "content": "y"},
        {"push_type": "ALERT", "title": "   ", "content": "y"},
        {"push_type": "ALERT", "title": "x", "content": "y", "chat_id": "1"},
        {"push_type": "ALERT", "title": "x" * 201, "content": "y"},
        {"push_type": "ALERT", "title": "x"},
    ],
)
async def test_bad_input_is_422_with_a_reason(
    client: httpx.AsyncClient, telegram: FakeTelegram, body: dict[str, str]
) -> None:
    response = await client.post("/api/push/messages", json=body, headers=OP)
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_scopes(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    body = {"push_type": "ALERT", "title": "x", "content": "y"}
    assert (await client.post("/api/push/messages", json=body)).status_code == 401
    viewer = await client.post("/api/push/messages", json=body, headers=bearer("VIEWER"))
    assert viewer.status_code == 403


async def test_secret_content_is_stored_redacted(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    hook = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
    body = {"push_type": "ALERT", "title": "hook", "content": f"use {hook}"}
    await client.post("/api/push/messages", json=body, headers=OP)
    item = (await client.get("/api/push/messages", headers=OP)).json()["items"][0]
    assert item["secret_suspected"] is True
    assert item["content"] == "use [REDACTED]"

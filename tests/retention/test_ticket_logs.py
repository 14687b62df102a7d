"""Tickets read across rotated logs: a rotation (or an old segment's expiry) changes nothing an
operator sees except what retention removed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from app.core.clock import FixedClock
from app.core.files import jsonl_segments, rotate_jsonl
from app.tickets.store import EVENTS_LOG, REQUESTS_LOG
from tests.conftest import bearer

OP = bearer("OPERATOR")
ACK = {"request_type": "ACKNOWLEDGE", "payload": {"message_id": "push_20260103_143000_001"}}


async def _submit(client: httpx.AsyncClient) -> str:
    answer = await client.post("/api/tickets", json=ACK, headers=OP)
    assert answer.status_code == 201, answer.text
    request_id: str = answer.json()["request_id"]
    return request_id


async def _status(client: httpx.AsyncClient, ticket: str, status: str) -> int:
    url = f"/api/tickets/{ticket}/status"
    return (await client.post(url, json={"status": status}, headers=OP)).status_code


async def test_status_list_and_cursor_survive_rotation(
    client: httpx.AsyncClient, clock: FixedClock, data_dir: Path
) -> None:
    first = [await _submit(client) for _ in range(3)]
    assert await _status(client, first[0], "IN_PROGRESS") == 200
    page = (await client.get("/api/tickets", params={"limit": 2}, headers=OP)).json()
    assert [t["request_id"] for t in page["items"]] == first[:0:-1]

    for log in (REQUESTS_LOG, EVENTS_LOG):  # rotated between two page requests
        assert rotate_jsonl(data_dir / log, clock.now()) is not None
    clock.advance(timedelta(minutes=1))
    later = await _submit(client)

    rest = await client.get(
        "/api/tickets", params={"limit": 2, "cursor": page["next_cursor"]}, headers=OP
    )
    assert [t["request_id"] for t in rest.json()["items"]] == [first[0]]
    everything = (await client.get("/api/tickets", headers=OP)).json()["items"]
    assert [t["request_id"] for t in everything] == [later, *first[::-1]]
    by_id = {t["request_id"]: t["status"] for t in everything}
    assert by_id[first[0]] == "IN_PROGRESS"  # its event lives in a rotated segment now

    # A transition is checked against the whole history, rotated parts included.
    assert await _status(client, first[0], "IN_PROGRESS") == 409
    assert await _status(client, first[0], "DONE") == 200
    detail = (await client.get(f"/api/tickets/{first[0]}", headers=OP)).json()
    assert [e["status"] for e in detail["events"]] == ["IN_PROGRESS", "DONE"]
    assert len(jsonl_segments(data_dir / EVENTS_LOG)) == 2  # one segment + the new active file

"""POST/GET /api/tickets through the app: validation, server fields, append-only logs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.tickets.store import EVENTS_LOG, REQUESTS_LOG
from tests.conftest import bearer

OP = bearer("OPERATOR")
RECONCILE = {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL", "reason": "drift"}}
REPORTS = {
    "request_type": "REQUEST_REPORTS",
    "payload": {"mode": "RE-EVALUATE", "scope": "PHASE_C_LATEST", "reason": "rerun"},
    "trace_id": "trace-1",
}
ACK = {"request_type": "ACKNOWLEDGE", "payload": {"message_id": "push_20260103_143000_001"}}


def _lines(data_dir: Path, relative: str = REQUESTS_LOG) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (data_dir / relative).read_bytes().splitlines()]


async def _submit(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await client.post("/api/tickets", json=body, headers=OP)
    assert answer.status_code == 201, answer.text
    request_id: str = answer.json()["request_id"]
    return request_id


@pytest.mark.parametrize("body", [RECONCILE, REPORTS, ACK])
async def test_submit_appends_one_contract_line(
    client: httpx.AsyncClient, data_dir: Path, body: dict[str, Any]
) -> None:
    answer = await client.post("/api/tickets", json=body, headers=OP)
    assert answer.status_code == 201
    assert answer.json()["result"] == "OK"
    [line] = _lines(data_dir)
    assert line == {
        "schema": "TICKET_REQUEST_V1",
        "request_id": answer.json()["request_id"],
        "requested_at": "2026-01-25T09:05:30+00:00",
        "request_type": body["request_type"],
        "payload": body["payload"],
        "status": "OPEN",
        "trace_id": body.get("trace_id"),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RECONCILE, "status": "DONE"}, "status"),
        ({**RECONCILE, "request_id": "x"}, "request_id"),
        ({**RECONCILE, "payload": {"mode": "FULL", "reason": "r", "force": True}}, "force"),
        ({**ACK, "payload": {"message_id": "m", "mode": "FULL"}}, "mode"),
        # the payload of another type is refused, not coerced
        ({"request_type": "ACKNOWLEDGE", "payload": RECONCILE["payload"]}, "mode"),
    ],
)
async def test_unknown_fields_are_named_in_a_422(
    client: httpx.AsyncClient, data_dir: Path, body: dict[str, Any], field: str
) -> None:
    answer = await client.post("/api/tickets", json=body, headers=OP)
    assert answer.status_code == 422
    locations = [error["loc"] for error in answer.json()["detail"]]
    assert any(loc[-1] == field for loc in locations), locations
    assert not (data_dir / REQUESTS_LOG).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "PARTIAL", "reason": "r"}},
        {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL"}},
        {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL", "reason": "x" * 201}},
        {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL", "reason": "  "}},
        {"request_type": "REQUEST_REPORTS", "payload": {"mode": "REGEN", "reason": "r"}},
        {
            "request_type": "REQUEST_REPORTS",
            "payload": {"mode": "REGEN", "scope": "PHASE_B", "reason": "r"},
        },
        {
            "request_type": "REQUEST_REPORTS",
            "payload": {"mode": "RE_EVALUATE", "scope": "PHASE_C_LATEST", "reason": "r"},
        },
        {"request_type": "ACKNOWLEDGE", "payload": {}},
        {"request_type": "RESTART_EVERYTHING", "payload": {}},
        {"payload": {"message_id": "m"}},
        {"request_type": "ACKNOWLEDGE"},
    ],
)
async def test_payload_validated_per_type(
    client: httpx.AsyncClient, data_dir: Path, body: dict[str, Any]
) -> None:
    answer = await client.post("/api/tickets", json=body, headers=OP)
    assert answer.status_code == 422, answer.text
    assert not (data_dir / REQUESTS_LOG).exists()


async def test_reason_of_exactly_200_characters_is_accepted(client: httpx.AsyncClient) -> None:
    body = {
        "request_type": "REQUEST_RECONCILE",
        "payload": {"mode": "INCREMENTAL", "reason": "x" * 200},
    }
    assert (await client.post("/api/tickets", json=body, headers=OP)).status_code == 201


async def test_scopes(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/tickets", json=ACK)).status_code == 401
    viewer = bearer("VIEWER")
    assert (await client.post("/api/tickets", json=ACK, headers=viewer)).status_code == 403
    script = bearer("OPS_SCRIPT")
    assert (await client.post("/api/tickets", json=ACK, headers=script)).status_code == 403
    assert (await client.get("/api/tickets", headers=viewer)).status_code == 200


async def test_creating_a_ticket_spawns_nothing(
    client: httpx.AsyncClient, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[str] = []

    def refuse(name: str) -> Any:
        def call(*_: Any, **__: Any) -> Any:
            spawned.append(name)
            raise AssertionError(f"ticket creation tried {name}")

        return call

    for name in (
        "fork",
        "forkpty",
        "posix_spawn",
        "posix_spawnp",
        "system",
        "popen",
        "execv",
        "execve",
    ):
        monkeypatch.setattr(os, name, refuse(f"os.{name}"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse("create_subprocess_exec"))
    monkeypatch.setattr(asyncio, "create_subprocess_shell", refuse("create_subprocess_shell"))
    for body in (RECONCILE, REPORTS, ACK):
        await _submit(client, body)
    monkeypatch.undo()
    assert spawned == []
    assert len(_lines(data_dir)) == 3


async def test_list_newest_first_with_filters_and_cursor(
    client: httpx.AsyncClient, clock: Any
) -> None:
    from datetime import timedelta

    ids = []
    for n in range(7):
        clock.advance(timedelta(minutes=1))
        ids.append(await _submit(client, [RECONCILE, REPORTS, ACK][n % 3]))
    page = (await client.get("/api/tickets", params={"limit": 3}, headers=OP)).json()
    assert [t["request_id"] for t in page["items"]] == ids[::-1][:3]
    following = await client.get(
        "/api/tickets", params={"limit": 3, "cursor": page["next_cursor"]}, headers=OP
    )
    assert [t["request_id"] for t in following.json()["items"]] == ids[::-1][3:6]
    assert 'rel="next"' in following.headers["link"]
    last = (
        await client.get(
            "/api/tickets",
            params={"limit": 3, "cursor": following.json()["next_cursor"]},
            headers=OP,
        )
    ).json()
    assert [t["request_id"] for t in last["items"]] == ids[:1]
    assert last["next_cursor"] is None

    acks = (
        await client.get("/api/tickets", params={"request_type": "ACKNOWLEDGE"}, headers=OP)
    ).json()
    assert [t["request_id"] for t in acks["items"]] == [ids[5], ids[2]]
    since = (
        await client.get("/api/tickets", params={"since": "2026-01-25T09:11:30+00:00"}, headers=OP)
    ).json()
    assert [t["request_id"] for t in since["items"]] == [ids[6], ids[5]]
    traced = (await client.get("/api/tickets", params={"trace_id": "trace-1"}, headers=OP)).json()
    assert [t["request_id"] for t in traced["items"]] == [ids[4], ids[1]]


async def test_status_events_fold_and_transitions(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    ticket = await _submit(client, RECONCILE)
    other = await _submit(client, ACK)
    url = f"/api/tickets/{ticket}/status"
    assert (await client.post(url, json={"status": "DONE"}, headers=OP)).status_code == 409
    script = bearer("OPS_SCRIPT")
    answer = await client.post(
        url, json={"status": "IN_PROGRESS", "note": "picked up"}, headers=script
    )
    assert answer.status_code == 200, answer.text
    assert (await client.post(url, json={"status": "IN_PROGRESS"}, headers=OP)).status_code == 409
    assert (
        await client.post(url, json={"status": "FAILED", "note": "no"}, headers=OP)
    ).status_code == 200
    assert (await client.post(url, json={"status": "DONE"}, headers=OP)).status_code == 409
    assert (await client.post(url, json={"status": "OPEN"}, headers=OP)).status_code == 422
    viewer = bearer("VIEWER")
    assert (
        await client.post(
            f"/api/tickets/{other}/status", json={"status": "IN_PROGRESS"}, headers=viewer
        )
    ).status_code == 403
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        await client.post(
            f"/api/tickets/{missing}/status", json={"status": "IN_PROGRESS"}, headers=OP
        )
    ).status_code == 404

    detail = (await client.get(f"/api/tickets/{ticket}", headers=OP)).json()
    assert detail["status"] == "FAILED"
    assert [(e["from_status"], e["status"], e["actor"]) for e in detail["events"]] == [
        ("OPEN", "IN_PROGRESS", "ops_script"),
        ("IN_PROGRESS", "FAILED", "operator"),
    ]
    # The request line itself is never rewritten: it still says OPEN.
    assert [line["status"] for line in _lines(data_dir)] == ["OPEN", "OPEN"]
    assert len(_lines(data_dir, EVENTS_LOG)) == 2
    listed = (await client.get("/api/tickets", params={"status": "FAILED"}, headers=OP)).json()
    assert [t["request_id"] for t in listed["items"]] == [ticket]
    opened = (await client.get("/api/tickets", params={"status": "OPEN"}, headers=OP)).json()
    assert [t["request_id"] for t in opened["items"]] == [other]
    assert (await client.get(f"/api/tickets/{missing}", headers=OP)).status_code == 404
    assert (await client.get("/api/tickets/not-a-uuid", headers=OP)).status_code == 404


async def test_torn_last_line_is_skipped_and_reported(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    first = await _submit(client, RECONCILE)
    with (data_dir / REQUESTS_LOG).open("ab") as handle:  # a writer that died mid-line
        handle.write(b'{"schema":"TICKET_REQUEST_V1","request_id":"abc')
    page = (await client.get("/api/tickets", headers=OP)).json()
    assert [t["request_id"] for t in page["items"]] == [first]
    assert page["torn_tail_bytes"] > 0
    second = await _submit(client, ACK)  # the next writer starts on a fresh line
    page = (await client.get("/api/tickets", headers=OP)).json()
    assert [t["request_id"] for t in page["items"]] == [second, first]
    assert page["torn_tail_bytes"] == 0
    assert page["skipped_lines"] == 1
    assert (await client.get(f"/api/tickets/{first}", headers=OP)).status_code == 200

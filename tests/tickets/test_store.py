"""The tail reader and the status fold, on files built by hand."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core.files import append_jsonl
from app.core.jsonl_tail import jsonl_find_reverse, jsonl_lines_reverse, jsonl_size
from app.tickets.schemas import AcknowledgePayload, RequestType, SubmitAcknowledge, TicketStatus
from app.tickets.store import EVENTS_LOG, TicketFilter, TicketStore

NOW = datetime(2026, 1, 25, 9, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_reverse_reader_yields_every_complete_line_with_its_offset(
    tmp_path: Path, chunk: int
) -> None:
    rng = random.Random(chunk)
    path = tmp_path / "log.jsonl"
    for n in range(300):
        append_jsonl(path, {"n": n, "pad": "x" * rng.randrange(0, 300)})
    raw = path.read_bytes()
    path.write_bytes(raw + b'{"torn":')  # a crashed writer's partial line
    complete, torn = jsonl_size(path)
    assert (complete, torn) == (len(raw), 8)
    got = list(jsonl_lines_reverse(path, complete, chunk=chunk))
    assert [json.loads(line)["n"] for _, line in got] == list(range(299, -1, -1))
    for offset, line in got:
        assert raw[offset : offset + len(line) + 1] == line + b"\n"
    middle = got[150][0]
    assert [o for o, _ in jsonl_lines_reverse(path, middle, chunk=chunk)] == [
        o for o, _ in got[151:]
    ]


def test_find_reverse_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    assert list(jsonl_lines_reverse(path, 10)) == []
    assert jsonl_size(path) == (0, 0)
    path.write_bytes(b"")
    assert list(jsonl_find_reverse(path, b"x", 0)) == []
    for n in range(5):
        append_jsonl(path, {"id": f"id-{n % 2}", "n": n})
    hits = [json.loads(line)["n"] for _, line in jsonl_find_reverse(path, b'"id-1"', 10_000)]
    assert hits == [3, 1]


def test_fold_follows_appends_and_survives_a_torn_event(tmp_path: Path) -> None:
    store = TicketStore(tmp_path)
    ack = SubmitAcknowledge(
        request_type=RequestType.ACKNOWLEDGE, payload=AcknowledgePayload(message_id="m")
    )
    first = store.submit(ack, NOW).request_id
    second = store.submit(ack, NOW).request_id
    store.change_status(first, TicketStatus.IN_PROGRESS, "a", None, NOW)
    assert store.get(first)["status"] == "IN_PROGRESS"
    with (tmp_path / EVENTS_LOG).open("ab") as handle:
        handle.write(b'{"schema":"TICKET_EVENT_V1","request_id":"' + second.encode())
    # The torn event is not folded, and the next event is written on a fresh line.
    assert store.get(second)["status"] == "OPEN"
    store.change_status(second, TicketStatus.IN_PROGRESS, "a", None, NOW)
    store.change_status(first, TicketStatus.DONE, "a", "ok", NOW)
    page = store.list(TicketFilter(), 10)
    assert [(t["request_id"], t["status"]) for t in page.items] == [
        (second, "IN_PROGRESS"),
        (first, "DONE"),
    ]
    fresh = TicketStore(tmp_path)  # another process folding from scratch agrees
    assert fresh.get(first)["status"] == "DONE"
    assert fresh.get(second)["status"] == "IN_PROGRESS"

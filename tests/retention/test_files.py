"""Retention of files with a fixed clock: report snapshots by age, JSONL logs by rotation.

A JSONL log is never edited: rotation renames the whole active file to a segment (the same
bytes, the same inode) and the next line starts a new file; a segment goes only once its
retention has passed since it was rotated.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.core.clock import FixedClock
from app.core.files import (
    append_jsonl,
    jsonl_segments,
    read_jsonl,
    rotate_jsonl,
    write_snapshot,
)
from app.core.maintenance import run_jobs

DAY = timedelta(days=1)
RECEIPTS = "state/push/send_receipts.jsonl"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"PIPELINE_ENABLED": False}


def _receipt(clock: FixedClock, n: int, age: timedelta = timedelta(0)) -> dict[str, Any]:
    return {
        "schema": "PUSH_SEND_RECEIPT_V1",
        "send_id": f"s{n}",
        "asof": (clock.now() - age).isoformat(),
    }


async def test_old_snapshots_go_recent_ones_stay(
    app: FastAPI, clock: FixedClock, data_dir: Path
) -> None:
    outbox = data_dir / "reports/ops/push/outbox/snapshots"
    incident = data_dir / "reports/ops/push/incident/snapshots"
    old = [
        write_snapshot(outbox, "outbox", clock.now() - 31 * DAY, {"n": 1}),
        write_snapshot(outbox, "outbox", clock.now() - 31 * DAY, {"n": 2}),  # _01 collision name
        write_snapshot(incident, "incident_BACKEND_DOWN", clock.now() - 40 * DAY, {"n": 3}),
    ]
    recent = [
        write_snapshot(outbox, "outbox", clock.now() - 29 * DAY, {"n": 4}),
        write_snapshot(incident, "incident_BACKEND_DOWN", clock.now(), {"n": 5}),
    ]
    latest = data_dir / "reports/ops/push/outbox/outbox_latest.json"
    latest.write_text("{}")

    await run_jobs(app)

    assert [p.exists() for p in old] == [False, False, False]
    assert [p.exists() for p in recent] == [True, True]
    assert latest.exists()  # latest reports are never retention's business


async def test_rotation_keeps_every_byte_and_starts_a_new_file(
    app: FastAPI, clock: FixedClock, data_dir: Path
) -> None:
    log = data_dir / RECEIPTS
    for n in range(3):
        append_jsonl(log, _receipt(clock, n, age=8 * DAY))  # older than JSONL_ROTATE_DAYS (7)
    before, inode = log.read_bytes(), log.stat().st_ino

    await run_jobs(app)

    [segment, *rest] = jsonl_segments(log)
    assert rest == []  # rotated: no active file until the next line
    assert not log.exists()
    assert segment.path.read_bytes() == before  # never rewritten
    assert segment.path.stat().st_ino == inode  # renamed whole, not copied
    assert segment.rotated_at == clock.now()
    append_jsonl(log, _receipt(clock, 3))
    assert [r["send_id"] for r in read_jsonl(log)] == ["s0", "s1", "s2", "s3"]
    assert [p.base for p in jsonl_segments(log)] == [0, len(before)]

    await run_jobs(app)  # the new file's first line is recent: not rotated
    assert log.exists()


async def test_segments_expire_after_their_retention(
    app: FastAPI, clock: FixedClock, data_dir: Path
) -> None:
    log = data_dir / RECEIPTS
    append_jsonl(log, _receipt(clock, 0))
    first = rotate_jsonl(log, clock.now())
    clock.advance(200 * DAY)
    append_jsonl(log, _receipt(clock, 1))
    second = rotate_jsonl(log, clock.now())
    append_jsonl(log, _receipt(clock, 2))
    assert first is not None
    assert second is not None

    clock.advance(166 * DAY)  # first rotated 366 days ago, second 166
    await run_jobs(app)

    assert not first.exists()
    assert second.exists()  # (the active file, 166 days old, was rotated by the same pass)
    assert [r["send_id"] for r in read_jsonl(log)] == ["s1", "s2"]


def test_rotation_under_concurrent_appends_loses_and_repeats_nothing(
    tmp_path: Path, clock: FixedClock
) -> None:
    log = tmp_path / "state/x/events.jsonl"
    lines, writers = 150, 3

    def write(w: int) -> None:
        for n in range(lines):
            append_jsonl(log, {"w": w, "n": n, "at": clock.now().isoformat()})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    rotated = 0
    while any(t.is_alive() for t in threads):
        if rotate_jsonl(log, clock.now() + timedelta(seconds=rotated)) is not None:
            rotated += 1
    for thread in threads:
        thread.join()
    seen = [(r["w"], r["n"]) for r in read_jsonl(log)]
    assert sorted(seen) == [(w, n) for w in range(writers) for n in range(lines)]
    for w in range(writers):  # each writer's lines in its order, across segments
        assert [n for ww, n in seen if ww == w] == list(range(lines))
    assert rotated > 1
    for part in jsonl_segments(log):
        raw = part.path.read_bytes()
        assert raw.endswith(b"\n")
        assert all(json.loads(x) for x in raw.splitlines())

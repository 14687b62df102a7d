from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from app.core.files import (
    append_jsonl,
    read_jsonl,
    snapshot_name,
    write_json_atomic,
    write_snapshot,
)

WRITER = """
import sys
from pathlib import Path
from app.core.files import write_json_atomic
path = Path(sys.argv[1])
i = 0
while True:
    i += 1
    write_json_atomic(path, {"i": i, "blob": "x" * (200_000 + i % 7919)})
"""


def test_killed_writer_never_leaves_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "latest.json"
    write_json_atomic(target, {"i": 0, "blob": ""})
    for round_ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        time.sleep(0.15 + round_ * 0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        document = json.loads(target.read_text())  # must always parse: old or new, never half
        assert len(document["blob"]) >= 200_000 or document["i"] == 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "latest.json"]
    # A kill between write and replace may leave a hidden temp file, never a visible partial one.
    assert all(name.startswith(".") and name.endswith(".tmp") for name in leftovers)


def _append_many(path: str, worker: int, count: int) -> None:
    for n in range(count):
        append_jsonl(Path(path), {"worker": worker, "n": n, "pad": "p" * (n % 5000)})


def test_concurrent_jsonl_appends_keep_every_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 2000)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    lines = path.read_bytes().splitlines()
    assert len(lines) == 8000
    records = [json.loads(line) for line in lines]
    for worker in range(4):
        assert sorted(r["n"] for r in records if r["worker"] == worker) == list(range(2000))


def test_reader_skips_torn_last_line_and_writer_heals(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    append_jsonl(path, {"a": 1})
    with path.open("ab") as handle:  # a writer that died mid-line
        handle.write(b'{"a": 2, "trunc')
    assert list(read_jsonl(path)) == [{"a": 1}]
    append_jsonl(path, {"a": 3})
    assert list(read_jsonl(path)) == [{"a": 1}, {"a": 3}]


def test_snapshot_names_have_no_colons_and_never_collide(tmp_path: Path) -> None:
    when = datetime(2026, 1, 25, 9, 5, 30, tzinfo=UTC)
    assert snapshot_name("outbox", when) == "outbox_20260125_090530.json"
    first = write_snapshot(tmp_path, "outbox", when, {"n": 1})
    second = write_snapshot(tmp_path, "outbox", when, {"n": 2})
    assert first.name == "outbox_20260125_090530.json"
    assert second.name == "outbox_20260125_090530_01.json"
    assert json.loads(first.read_text()) == {"n": 1}
    assert ":" not in second.name
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]

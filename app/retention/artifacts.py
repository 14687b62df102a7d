"""Retention of files: report snapshots by the time in their name, JSONL logs by rotation.

A JSONL log is never edited: its active file is rotated (renamed whole to a segment) once its
first line is `JSONL_ROTATE_DAYS` old or it reaches `JSONL_ROTATE_MAX_BYTES`, and a segment is
deleted once it was rotated more than `RETENTION_JSONL_DAYS` ago (so every line it holds is
older than that). Every file goes through app/core/files.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.core.files import delete_file, jsonl_first_time, jsonl_segments, rotate_jsonl

SNAPSHOT_NAME = re.compile(r"_(\d{8}_\d{6})(?:_\d+)?\.json$")
SEGMENT_NAME = re.compile(r"^(?P<stem>.+)\.\d{8}_\d{6}\.\d+\.jsonl$")
SKIPPED_DIRS = frozenset({"pgdata"})  # the embedded PostgreSQL's data lives under state/ too


def snapshot_time(path: Path) -> datetime | None:
    """The time in a snapshot's name (`<stem>_YYYYMMDD_HHMMSS[_NN].json`), taken as UTC."""
    match = SNAPSHOT_NAME.search(path.name)
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)


def _snapshots(root: Path) -> Iterator[Path]:
    for directory in sorted((root / "reports").glob("**/snapshots")):
        if directory.is_dir():
            yield from sorted(p for p in directory.iterdir() if p.suffix == ".json")


def expire_snapshots(root: Path, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` report snapshots named before `cutoff`."""
    deleted = 0
    for path in _snapshots(root):
        if deleted >= limit:
            break
        when = snapshot_time(path)
        if when is not None and when < cutoff and delete_file(path):
            deleted += 1
    return deleted


def jsonl_logs(root: Path) -> list[Path]:
    """Every JSONL log under state/ by its active path (also one whose active file is absent)."""
    logs = set()
    for directory, subdirectories, names in os.walk(root / "state"):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRS]
        for name in names:
            if name.endswith(".jsonl"):
                match = SEGMENT_NAME.match(name)
                logs.add(Path(directory) / (f"{match['stem']}.jsonl" if match else name))
    return sorted(logs)


def rotate_if_due(log: Path, now: datetime, rotate_days: int, max_bytes: int) -> Path | None:
    """Rotate the active file when its first line is old enough or it has grown too big."""
    parts = jsonl_segments(log)
    active = parts[-1] if parts and parts[-1].rotated_at is None else None
    if active is None or active.size == 0:
        return None
    first = jsonl_first_time(log)
    too_old = first is not None and first <= now - timedelta(days=rotate_days)
    if too_old or active.size >= max_bytes:
        return rotate_jsonl(log, now)
    return None


def expire_segments(log: Path, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` segments rotated before `cutoff`, oldest first."""
    deleted = 0
    for part in jsonl_segments(log):
        if deleted >= limit or part.rotated_at is None or part.rotated_at >= cutoff:
            break
        if delete_file(part.path):
            deleted += 1
    return deleted

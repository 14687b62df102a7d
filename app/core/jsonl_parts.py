"""The parts of a rotated JSONL log (read side; app/core/files.py rotates and appends).

A log at `state/x/log.jsonl` is its rotated segments `log.<YYYYMMDD_HHMMSS>.<base>.jsonl`
(oldest first by `base`, the global offset of a segment's first byte) and then the active file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class JsonlPart:
    """One file of a JSONL log: a rotated segment, or the active file (`rotated_at` None)."""

    path: Path
    base: int  # global offset of its first byte: stable across rotation and deletion
    size: int
    rotated_at: datetime | None


def _segment_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(path.stem)}\.(\d{{8}}_\d{{6}})\.(\d+)\.jsonl$")


def segments_only(path: Path) -> list[JsonlPart]:
    """The rotated segments of the log at `path`, oldest first (the active file left out)."""
    pattern = _segment_pattern(path)
    parts = []
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    for name in names:
        if (match := pattern.match(name)) is None:
            continue
        try:
            size = os.stat(path.parent / name).st_size
        except FileNotFoundError:  # deleted by retention meanwhile
            continue
        when = datetime.strptime(match[1], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
        parts.append(JsonlPart(path.parent / name, int(match[2]), size, when))
    return sorted(parts, key=lambda p: p.base)


def jsonl_segments(path: Path) -> list[JsonlPart]:
    """Every part of the log at `path`, oldest first: rotated segments, then the active file.

    Read them all to fold the log; a rotation during the listing is retried, so no line is
    missed. Global offsets (`part.base + offset in the file`) never change.
    """
    for _ in range(5):
        segments = segments_only(path)
        base = segments[-1].base + segments[-1].size if segments else 0
        try:
            active = [JsonlPart(path, base, os.stat(path).st_size, None)]
        except FileNotFoundError:
            active = []
        if [p.path for p in segments_only(path)] == [p.path for p in segments]:
            return segments + active
    return segments + active


def jsonl_first_time(path: Path) -> datetime | None:
    """The timestamp of the log's first line (`asof`, `requested_at`, `at`, …), if it has one."""
    try:
        with path.open("rb") as handle:
            line = handle.readline(1 << 20)
        value = json.loads(line)
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    for key in ("asof", "requested_at", "at", "received_at", "timestamp"):
        try:
            when = datetime.fromisoformat(str(value[key]))
        except (KeyError, ValueError):
            continue
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return None

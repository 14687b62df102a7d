"""The only module that writes files: atomic JSON, append-only JSONL (rotated), snapshots.

JSONL logs are append-only and rotated, never edited: `rotate_jsonl` renames the active file to
a segment `<stem>.<YYYYMMDD_HHMMSS>.<base>.jsonl` under the appenders' lock, and the next append
starts a new active file. `base` is the global offset of the segment's first byte in the whole
log, so a position (a reader's cursor or fold offset) survives rotation and the deletion of old
segments. Readers take every part from `jsonl_segments(path)`, oldest first.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from app.core.errors import storage_errors

# Re-exported for readers of rotated logs: every part of a log, oldest first.
from app.core.jsonl_parts import JsonlPart as JsonlPart
from app.core.jsonl_parts import jsonl_first_time as jsonl_first_time
from app.core.jsonl_parts import jsonl_segments as jsonl_segments
from app.core.jsonl_parts import segments_only

JsonLike = BaseModel | dict[str, Any] | list[Any]
J = TypeVar("J", bound=JsonLike)


def _to_bytes(data: JsonLike, *, indent: int | None) -> bytes:
    if isinstance(data, BaseModel):
        return data.model_dump_json(indent=indent).encode()
    return json.dumps(data, indent=indent, ensure_ascii=False, default=str).encode()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(directory: Path, name: str, payload: bytes, mode: int = 0o644) -> Path:
    tmp = directory / f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


@storage_errors
def write_json_atomic(path: Path, data: JsonLike) -> Path:
    """Replace `path` with the complete JSON document or leave the old one: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path.parent, path.name, _to_bytes(data, indent=2) + b"\n")
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


@storage_errors
def write_private_text(path: Path, text: str) -> Path:
    """Atomically replace `path` with `text`, readable by the owner only (mode 0600 from birth)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path.parent, path.name, text.encode(), mode=0o600)
    try:
        os.chmod(tmp, 0o600)  # whatever the umask left
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def snapshot_name(stem: str, when: datetime, seq: int = 0) -> str:
    """`<stem>_YYYYMMDD_HHMMSS.json`; no colons; `_NN` appended only on a collision."""
    base = f"{stem}_{when.strftime('%Y%m%d_%H%M%S')}"
    return f"{base}.json" if seq == 0 else f"{base}_{seq:02d}.json"


@storage_errors
def write_snapshot(directory: Path, stem: str, when: datetime, data: JsonLike) -> Path:
    """Write a new snapshot that never overwrites an existing one (append-only directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(directory, stem, _to_bytes(data, indent=2) + b"\n")
    try:
        for seq in range(1000):
            target = directory / snapshot_name(stem, when, seq)
            try:
                os.link(tmp, target)  # fails if the name exists: collision-safe across processes
            except FileExistsError:
                continue
            _fsync_dir(directory)
            return target
        raise FileExistsError(f"no free snapshot name for {stem} at {when.isoformat()}")
    finally:
        tmp.unlink(missing_ok=True)


@storage_errors
def write_snapshot_named(
    directory: Path, stem: str, when: datetime, build: Callable[[str], JsonLike]
) -> Path:
    """Like write_snapshot, for documents that name their own snapshot (a `snapshot_ref`).

    `build(file_name)` renders the document for a candidate name; a name already taken (by
    another replica at the same second) is skipped and the document rebuilt for the next one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for seq in range(1000):
        name = snapshot_name(stem, when, seq)
        target = directory / name
        if target.exists():
            continue
        tmp = _write_tmp(directory, stem, _to_bytes(build(name), indent=2) + b"\n")
        try:
            os.link(tmp, target)
        except FileExistsError:
            continue
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(directory)
        return target
    raise FileExistsError(f"no free snapshot name for {stem} at {when.isoformat()}")


def append_jsonl(path: Path, data: JsonLike) -> None:
    """Append one whole line under an exclusive lock (append-only: never rewrite a line)."""
    append_jsonl_checked(path, lambda: data)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


@storage_errors
def append_jsonl_checked(path: Path, build: Callable[[], J]) -> J:
    """Like append_jsonl, but `build` runs under the lock: a check-then-append no writer races.

    `build` may read the log (readers take no lock) and raise to append nothing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if not _same_file(fd, path):
                    continue  # rotated while we waited: this inode is a segment now
                data = build()
                line = _to_bytes(data, indent=None).replace(b"\n", b" ") + b"\n"
                # A torn line left by a crashed writer would glue onto ours: start a fresh line.
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(f"short write to {path.name}: {written} of {len(line)} bytes")
                os.fsync(fd)
                return data
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def rotate_jsonl(path: Path, now: datetime) -> Path | None:
    """Start a new file: the active log becomes a segment, renamed whole, never edited.

    Holds the appenders' lock; an appender that waited on the old file notices and reopens.
    None when there is nothing to rotate (missing or empty).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if not _same_file(fd, path) or os.fstat(fd).st_size == 0:
            return None
        segments = segments_only(path)
        base = segments[-1].base + segments[-1].size if segments else 0
        stamp = now.astimezone(UTC).strftime("%Y%m%d_%H%M%S")
        target = path.with_name(f"{path.stem}.{stamp}.{base}.jsonl")
        os.link(path, target)  # never replaces: a clash raises
        os.unlink(path)
        _fsync_dir(path.parent)
        return target
    finally:
        os.close(fd)  # releases the lock


def delete_file(path: Path) -> bool:
    """Remove a file retention has expired (a snapshot or a rotated segment); False if gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield each complete JSON line of the log, oldest first, rotated segments included.

    A torn or corrupt line (a crashed writer) is skipped.
    """
    for part in jsonl_segments(path):
        try:
            handle = part.path.open("rb")
        except FileNotFoundError:  # expired by retention meanwhile
            continue
        with handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(value, dict):
                    yield value


def read_json(path: Path) -> dict[str, Any] | None:
    """Read a JSON document written by write_json_atomic, or None when absent."""
    try:
        value = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    return value if isinstance(value, dict) else None


def create_once(path: Path, data: bytes) -> bytes:
    """Write `data` unless `path` exists (mode 0600, first writer wins); return what it holds."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_tmp(path.parent, path.name, data, mode=0o600)
        try:
            os.link(tmp, path)  # atomic and never replaces: racing workers agree on one value
            _fsync_dir(path.parent)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()

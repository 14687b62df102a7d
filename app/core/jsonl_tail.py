"""Reading append-only JSONL logs from the tail: sizes, reverse line walks, byte ranges.

Readers only (app/core/files.py writes). A torn last line (a crashed writer) is never returned.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from pathlib import Path


def jsonl_size(path: Path) -> tuple[int, int]:
    """(bytes of complete lines, bytes of a torn last line) of an append-only JSONL file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0, 0
    try:
        size = os.fstat(fd).st_size
        tail = os.pread(fd, min(size, 1 << 16), max(0, size - (1 << 16)))
        while b"\n" not in tail and len(tail) < size:  # a very long torn line
            tail = os.pread(fd, min(size, len(tail) * 4), max(0, size - len(tail) * 4))
    finally:
        os.close(fd)
    complete = size - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
    return complete, size - complete


def _map(path: Path) -> mmap.mmap | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if os.fstat(fd).st_size == 0:
            return None
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


def jsonl_lines_reverse(path: Path, end: int, chunk: int = 1 << 16) -> Iterator[tuple[int, bytes]]:
    """(offset, raw line) of each complete line starting before `end`, newest first.

    Reads from the tail in chunks: the cost is the lines taken, not the file size.
    """
    mapped = _map(path)
    if mapped is None:
        return
    try:
        stop = min(end, len(mapped))
        if stop and mapped[stop - 1 : stop] != b"\n":  # `end` must sit on a line boundary
            stop = mapped.rfind(b"\n", 0, stop) + 1
        while stop > 0:
            start = max(0, stop - chunk)
            if start:
                start = mapped.rfind(b"\n", 0, start) + 1  # back to a line start
            lines = mapped[start : stop - 1].split(b"\n")
            offset = stop
            for line in reversed(lines):
                offset -= len(line) + 1
                yield offset, line
            stop = start
    finally:
        mapped.close()


def jsonl_find_reverse(path: Path, needle: bytes, end: int) -> Iterator[tuple[int, bytes]]:
    """Complete lines before `end` containing `needle`, newest first (a substring search)."""
    mapped = _map(path)
    if mapped is None:
        return
    try:
        stop = mapped.rfind(b"\n", 0, min(end, len(mapped))) + 1
        while True:
            hit = mapped.rfind(needle, 0, stop)
            if hit < 0:
                return
            start = mapped.rfind(b"\n", 0, hit) + 1
            line_end = mapped.find(b"\n", hit)
            yield start, mapped[start:line_end]
            stop = start
    finally:
        mapped.close()


def read_bytes_range(path: Path, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file (incremental readers of append-only logs)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while start < end and (chunk := os.pread(fd, min(end - start, 1 << 24), start)):
            chunks.append(chunk)
            start += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)

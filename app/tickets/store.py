"""Tickets on disk: append-only request and event logs; the current state is their fold.

`state/tickets/ticket_requests.jsonl` holds one TICKET_REQUEST_V1 line per ticket and is never
rewritten; status changes are TICKET_EVENT_V1 lines in `state/tickets/ticket_events.jsonl`.
Lists read the request log from its tail, so a page costs the lines it shows, not the file.
Both logs are rotated by retention (app/core/files.py): every reader walks all their parts,
and offsets (cursors, the status fold's position) are global, so they survive a rotation.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.core.errors import Conflict, NotFound
from app.core.files import append_jsonl, append_jsonl_checked, jsonl_segments
from app.core.jsonl_tail import (
    jsonl_find_reverse,
    jsonl_lines_reverse,
    jsonl_size,
    read_bytes_range,
)
from app.tickets.schemas import (
    TRANSITIONS,
    Submission,
    TicketEventV1,
    TicketRequestV1,
    TicketStatus,
)

log = logging.getLogger(__name__)

REQUESTS_LOG = "state/tickets/ticket_requests.jsonl"
EVENTS_LOG = "state/tickets/ticket_events.jsonl"

# Appends from several replicas are ordered by the lock, not by their clocks: keep reading this
# far past `since` so a line appended a little late is still found.
SINCE_GRACE = timedelta(minutes=5)


class TicketNotFound(NotFound):
    pass


class TransitionRefused(Conflict):
    pass


@dataclass
class StatusFold:
    """The events log folded to each ticket's latest (status, at); read incrementally.

    `offset` is global across the log's rotated parts (see app/core/files.py).
    """

    offset: int = 0
    latest: dict[str, tuple[str, str]] = field(default_factory=dict)
    corrupt_lines: int = 0


@dataclass
class TicketPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    skipped_lines: int
    torn_tail_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "next_cursor": self.next_cursor,
            "skipped_lines": self.skipped_lines,
            "torn_tail_bytes": self.torn_tail_bytes,
        }


@dataclass(frozen=True)
class TicketFilter:
    statuses: frozenset[str] = frozenset()
    request_types: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    trace_id: str | None = None

    def keeps(self, line: dict[str, Any], status: str, requested_at: datetime) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        if self.request_types and line.get("request_type") not in self.request_types:
            return False
        if self.since is not None and requested_at < self.since:
            return False
        if self.until is not None and requested_at >= self.until:
            return False
        return self.trace_id is None or line.get("trace_id") == self.trace_id


_LINE_PREFIX = b'{"schema":"TICKET_REQUEST_V1","request_id":"'


def _peek(raw: bytes, key: bytes) -> str | None:
    """The string value of `"key":"…"` read from the raw line, without parsing the JSON."""
    start = raw.find(b'"' + key + b'":"')
    if start < 0:
        return None
    start += len(key) + 4
    end = raw.find(b'"', start)
    return raw[start:end].decode("ascii", "replace") if end > 0 else None


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("request_id"), str):
        return None
    return value


def _requested_at(line: dict[str, Any]) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(line.get("requested_at")))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


class TicketStore:
    """Reads and appends the two logs under one data directory; safe across processes."""

    def __init__(self, root: Path, timezone: str = "UTC") -> None:
        self.requests_path = root / REQUESTS_LOG
        self.events_path = root / EVENTS_LOG
        self._zone = ZoneInfo(timezone)
        self._fold = StatusFold()
        self._fold_lock = threading.Lock()

    # --- writing ---------------------------------------------------------------------------

    def submit(self, submission: Submission, now: datetime) -> TicketRequestV1:
        """Inject the server fields and append one line. Runs nothing else: no execution."""
        ticket = TicketRequestV1(
            request_id=str(uuid.uuid4()),
            requested_at=now.astimezone(self._zone),
            request_type=submission.request_type,
            payload=submission.payload,
            status=TicketStatus.OPEN,
            trace_id=submission.trace_id,
        )
        append_jsonl(self.requests_path, ticket)
        log.info(
            "ticket filed",
            extra={"request_id": ticket.request_id, "request_type": ticket.request_type.value},
        )
        return ticket

    def change_status(
        self, request_id: str, status: TicketStatus, actor: str, note: str | None, now: datetime
    ) -> TicketEventV1:
        """Append a validated status event; the check and the append hold one lock."""

        def build() -> TicketEventV1:
            if self._find_line(request_id) is None:
                raise TicketNotFound(f"ticket {request_id} not found")
            current = TicketStatus(self._status_of(request_id)[0])
            if status not in TRANSITIONS[current]:
                raise TransitionRefused(f"ticket is {current.value}; it cannot become {status}")
            return TicketEventV1(
                event_id=str(uuid.uuid4()),
                request_id=request_id,
                at=now.astimezone(self._zone),
                from_status=current,
                status=status,
                actor=actor,
                note=note,
            )

        event = append_jsonl_checked(self.events_path, build)
        assert isinstance(event, TicketEventV1)  # type narrowing  # nosec B101
        log.info("ticket status", extra={"request_id": request_id, "status": status.value})
        return event

    # --- the status fold -------------------------------------------------------------------

    def _refresh_fold(self) -> StatusFold:
        with self._fold_lock:
            fold = self._fold
            parts = jsonl_segments(self.events_path)
            if (parts[-1].base + parts[-1].size if parts else 0) < fold.offset:
                fold = self._fold = StatusFold()  # truncated or replaced by hand: fold again
            for part in parts:
                complete, _ = jsonl_size(part.path)
                if part.base + complete <= fold.offset:
                    continue  # folded already (a segment keeps its global offsets)
                try:
                    chunk = read_bytes_range(
                        part.path, max(fold.offset, part.base) - part.base, complete
                    )
                except FileNotFoundError:  # expired by retention meanwhile
                    continue
                for raw in chunk.split(b"\n")[:-1]:
                    event = _parse(raw)
                    if event is None or event.get("status") not in TicketStatus.__members__:
                        fold.corrupt_lines += 1
                        continue
                    fold.latest[event["request_id"]] = (event["status"], str(event.get("at")))
                fold.offset = part.base + complete
            return fold

    def _status_of(self, request_id: str) -> tuple[str, str | None]:
        found = self._refresh_fold().latest.get(request_id)
        return found if found is not None else (TicketStatus.OPEN.value, None)

    # --- reading ---------------------------------------------------------------------------

    @staticmethod
    def _find_reverse(path: Path, needle: bytes) -> Iterator[bytes]:
        """Lines containing `needle` in every part of the log, newest first."""
        for part in reversed(jsonl_segments(path)):
            end, _ = jsonl_size(part.path)
            for _, raw in jsonl_find_reverse(part.path, needle, end):
                yield raw

    def _find_line(self, request_id: str) -> dict[str, Any] | None:
        needle = f'"request_id":"{request_id}"'.encode()
        for raw in self._find_reverse(self.requests_path, needle):
            line = _parse(raw)
            if line is not None and line["request_id"] == request_id:
                return line
        return None

    def _view(self, line: dict[str, Any], latest: dict[str, tuple[str, str]]) -> dict[str, Any]:
        status, at = latest.get(line["request_id"], (TicketStatus.OPEN.value, None))
        return {**line, "status": status, "status_updated_at": at or line.get("requested_at")}

    def torn_tail(self) -> int:
        """Bytes of a torn last line in the request log (a writer that crashed mid-line)."""
        _, torn = jsonl_size(self.requests_path)
        if torn:
            log.warning("torn last line skipped", extra={"path": REQUESTS_LOG, "bytes": torn})
        return torn

    def _raw_lines(self, before: int | None) -> Iterator[tuple[int, bytes]]:
        """(global offset, raw line) newest first across the log's parts, before `before`."""
        for part in reversed(jsonl_segments(self.requests_path)):
            complete, _ = jsonl_size(part.path)
            end = part.base + complete if before is None else min(before, part.base + complete)
            if end <= part.base:
                continue
            for offset, raw in jsonl_lines_reverse(part.path, end - part.base):
                yield part.base + offset, raw

    @staticmethod
    def _may_match(raw: bytes, filters: TicketFilter, latest: dict[str, tuple[str, str]]) -> bool:
        """False only when the line surely fails the filter (anything unclear is parsed)."""
        if filters.request_types:
            request_type = _peek(raw, b"request_type")
            if request_type is not None and request_type not in filters.request_types:
                return False
        if filters.statuses:
            # Lines this service writes start with the schema and then the id: slice, not search.
            if raw.startswith(_LINE_PREFIX):
                request_id: str | None = raw[len(_LINE_PREFIX) : len(_LINE_PREFIX) + 36].decode()
            else:
                request_id = _peek(raw, b"request_id")
            if request_id is not None:
                status = latest.get(request_id, (TicketStatus.OPEN.value, ""))[0]
                return status in filters.statuses
        return True

    def list(self, filters: TicketFilter, limit: int, cursor: int | None = None) -> TicketPage:
        """Newest first; `cursor` is the byte offset the previous page stopped at."""
        latest = self._refresh_fold().latest
        items: list[dict[str, Any]] = []
        skipped = 0
        next_cursor: str | None = None
        floor = filters.since - SINCE_GRACE if filters.since is not None else None
        last_offset = 0
        for offset, raw in self._raw_lines(cursor):
            if not self._may_match(raw, filters, latest):
                continue  # cheap byte-level rejection: a no-match scan need not parse JSON
            line = _parse(raw)
            requested_at = _requested_at(line) if line is not None else None
            if line is None or requested_at is None:
                skipped += 1  # a corrupt line (e.g. a healed torn line): skipped, counted
                continue
            if floor is not None and requested_at < floor:
                break
            view = self._view(line, latest)
            if not filters.keeps(line, view["status"], requested_at):
                continue
            if len(items) == limit:  # one more match exists: offer the next page
                next_cursor = str(last_offset)
                break
            items.append(view)
            last_offset = offset
        return TicketPage(items, next_cursor, skipped, self.torn_tail())

    def get(self, request_id: str) -> dict[str, Any]:
        """One ticket with its current status and every status event, oldest first."""
        line = self._find_line(request_id)
        if line is None:
            raise TicketNotFound(f"ticket {request_id} not found")
        view = self._view(line, self._refresh_fold().latest)
        needle = f'"request_id":"{request_id}"'.encode()
        events = [
            event
            for raw in self._find_reverse(self.events_path, needle)
            if (event := _parse(raw)) is not None and event["request_id"] == request_id
        ]
        view["events"] = events[::-1]
        return view


def store_for(app: Any) -> TicketStore:
    """The process's store (its status fold is a per-process cache of the events log)."""
    store: TicketStore | None = getattr(app.state, "ticket_store", None)
    settings = app.state.settings
    if store is None or store.requests_path != settings.DATA_DIR / REQUESTS_LOG:
        store = TicketStore(settings.DATA_DIR, settings.TIMEZONE)
        app.state.ticket_store = store
    return store

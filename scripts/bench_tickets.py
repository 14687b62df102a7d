"""How fast GET /api/tickets answers over a ticket_requests.jsonl of a million lines.

Usage: .venv/bin/python scripts/bench_tickets.py [--lines 1000000] [--events 100000] [--repeat 200]

Builds the logs in a scratch DATA_DIR (lines shaped exactly as the service writes them), then
times the routes through the real app (ASGI, in process; the ticket routes need no database):
the newest page, a page deep in the file by cursor, a ticket by id (newest and oldest), and a
filter that matches nothing (the worst case: a full scan from the tail).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from app.core.settings import load_settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.tickets.schemas import (  # noqa: E402
    ReconcileMode,
    ReconcilePayload,
    RequestType,
    TicketEventV1,
    TicketRequestV1,
    TicketStatus,
)
from app.tickets.store import EVENTS_LOG, REQUESTS_LOG  # noqa: E402

TOKEN = "bench-operator-token-0123456789"


def build_logs(root: Path, lines: int, events: int) -> tuple[str, str]:
    """Write the scratch logs in bulk; returns (oldest id, newest id)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    requests = root / REQUESTS_LOG
    requests.parent.mkdir(parents=True, exist_ok=True)
    ids = []
    with requests.open("wb") as out:
        batch = []
        for n in range(lines):
            request_id = str(uuid.UUID(int=n + 1, version=4))
            ticket = TicketRequestV1(
                request_id=request_id,
                requested_at=start + timedelta(seconds=n),
                request_type=RequestType.REQUEST_RECONCILE,
                payload=ReconcilePayload(mode=ReconcileMode.FULL, reason=f"bench ticket {n}"),
                trace_id=None,
            )
            batch.append(ticket.model_dump_json().encode() + b"\n")
            if n in (0, lines - 1):
                ids.append(request_id)
            if len(batch) == 10_000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    with (root / EVENTS_LOG).open("wb") as out:
        for n in range(events):
            event = TicketEventV1(
                event_id=str(uuid.uuid4()),
                request_id=str(uuid.UUID(int=n * (lines // max(events, 1)) + 1, version=4)),
                at=start + timedelta(days=30),
                from_status=TicketStatus.OPEN,
                status=TicketStatus.IN_PROGRESS,
                actor="bench",
                note=None,
            )
            out.write(event.model_dump_json().encode() + b"\n")
    return ids[0], ids[-1]


async def timed(client: httpx.AsyncClient, url: str, repeat: int) -> tuple[float, list[float]]:
    """(first call ms, later calls ms)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    samples = []
    for _ in range(repeat + 1):
        began = time.perf_counter()
        answer = await client.get(url, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.text
    return samples[0], samples[1:]


async def run(lines: int, events: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-tickets-") as scratch:
        root = Path(scratch)
        began = time.perf_counter()
        oldest, newest = build_logs(root, lines, events)
        size = (root / REQUESTS_LOG).stat().st_size
        print(
            f"built {lines:,} lines ({size / 1e6:.0f} MB) and {events:,} events "
            f"in {time.perf_counter() - began:.1f} s"
        )
        app = create_app(load_settings(DATA_DIR=root, OPERATOR_TOKEN=TOKEN))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            began = time.perf_counter()
            first = (await client.get("/api/tickets?limit=50", headers=headers)).json()
            cold = (time.perf_counter() - began) * 1000
            print(f"first request of the process (folds the events log): {cold:.1f} ms")
            deep_cursor = str(size // 2)
            cases = [
                ("GET /api/tickets?limit=50", "/api/tickets?limit=50", repeat),
                (
                    "next page (cursor)",
                    f"/api/tickets?limit=50&cursor={first['next_cursor']}",
                    repeat,
                ),
                ("page at mid-file cursor", f"/api/tickets?limit=50&cursor={deep_cursor}", repeat),
                ("GET /api/tickets/{newest}", f"/api/tickets/{newest}", repeat),
                ("GET /api/tickets/{oldest}", f"/api/tickets/{oldest}", 5),
                ("status=DONE (no match: full scan)", "/api/tickets?limit=50&status=DONE", 3),
            ]
            print(f"{'request':40} {'first ms':>9} {'median ms':>10} {'p99 ms':>8}")
            for label, url, count in cases:
                cold, samples = await timed(client, url, count)
                ordered = sorted(samples)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                print(f"{label:40} {cold:9.1f} {statistics.median(samples):10.2f} {p99:8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.lines, args.events, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())

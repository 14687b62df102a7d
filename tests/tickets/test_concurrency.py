"""Several processes append at once: no line lost or interleaved; one transition wins."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from app.tickets.schemas import (
    AcknowledgePayload,
    ReconcileMode,
    ReconcilePayload,
    RequestType,
    SubmitAcknowledge,
    SubmitReconcile,
    TicketStatus,
)
from app.tickets.store import (
    EVENTS_LOG,
    REQUESTS_LOG,
    TicketNotFound,
    TicketStore,
    TransitionRefused,
)

NOW = datetime(2026, 1, 25, 9, 5, 30, tzinfo=UTC)


def _submit_many(root: str, worker: int, count: int) -> None:
    store = TicketStore(Path(root))
    for n in range(count):
        # Long reasons make lines bigger than a pipe buffer's atomic size would cover.
        submission = SubmitReconcile(
            request_type=RequestType.REQUEST_RECONCILE,
            payload=ReconcilePayload(mode=ReconcileMode.FULL, reason=f"{worker}:{n}:" + "r" * 190),
            trace_id=f"w{worker}-n{n}-" + "t" * 180,
        )
        store.submit(submission, NOW)


def _advance(root: str, request_id: str, results: multiprocessing.Queue[str]) -> None:
    store = TicketStore(Path(root))
    try:
        store.change_status(request_id, TicketStatus.IN_PROGRESS, "worker", None, NOW)
        results.put("ok")
    except TransitionRefused:
        results.put("refused")
    except TicketNotFound:
        results.put("missing")


def test_processes_submitting_at_once_lose_no_line(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers, each = 4, 250
    procs = [
        ctx.Process(target=_submit_many, args=(str(tmp_path), w, each)) for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    raw = (tmp_path / REQUESTS_LOG).read_bytes()
    assert raw.endswith(b"\n")
    lines = [json.loads(line) for line in raw.splitlines()]  # every line parses: no interleaving
    assert len(lines) == workers * each
    assert len({line["request_id"] for line in lines}) == workers * each
    for worker in range(workers):
        seen = sorted(
            int(line["payload"]["reason"].split(":")[1])
            for line in lines
            if line["payload"]["reason"].startswith(f"{worker}:")
        )
        assert seen == list(range(each))


def test_one_of_many_concurrent_transitions_wins(tmp_path: Path) -> None:
    store = TicketStore(tmp_path)
    ticket = store.submit(
        SubmitAcknowledge(
            request_type=RequestType.ACKNOWLEDGE, payload=AcknowledgePayload(message_id="m-1")
        ),
        NOW,
    )
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[str] = ctx.Queue()
    procs = [
        ctx.Process(target=_advance, args=(str(tmp_path), ticket.request_id, results))
        for _ in range(6)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["ok"] + ["refused"] * 5
    assert len((tmp_path / EVENTS_LOG).read_bytes().splitlines()) == 1
    assert store.get(ticket.request_id)["status"] == "IN_PROGRESS"

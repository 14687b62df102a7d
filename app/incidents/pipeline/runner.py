"""Per-worker runner: a bounded pool draining a local queue, fed by kicks and the sweeper.

The queue holds ids only; the database decides who runs what (claims with leases), so a
kicked id that another replica already claimed is simply skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter

from app.core.redact import redact
from app.incidents.models import PipelineState
from app.incidents.pipeline import claims
from app.incidents.pipeline.deps import PipelineDeps
from app.incidents.pipeline.flow import RetryLater, run_pipeline
from app.incidents.pipeline.followups import send_followups

log = logging.getLogger(__name__)


def make_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PipelineRunner:
    def __init__(self, deps: PipelineDeps, owner: str | None = None) -> None:
        self.deps = deps
        self.owner = owner or make_owner()
        self.concurrency = deps.settings.PIPELINE_CONCURRENCY
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        # Queue entries per id: a kick and a sweep may both queue one id; see _worker.
        self._queued: Counter[str] = Counter()
        self._active: set[str] = set()
        # Entries queued before a run of their id ended are redundant: the run finished the
        # pipeline or deferred it (the sweeper picks it up when due). Skip them.
        self._stale: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        self._sweeping = asyncio.Lock()

    # --- entry points -----------------------------------------------------------------------
    async def kick(self, incident_ids: list[str]) -> None:
        """BackgroundTasks entry: queue ids and return at once (work runs in the pool)."""
        for incident_id in incident_ids:
            if not self._queued[incident_id] and incident_id not in self._active:
                self._queued[incident_id] += 1
                self._queue.put_nowait((incident_id, False))

    async def sweep_once(self) -> int:
        """Claim due pipelines for free slots only (a storm stays in the database, shared)."""
        async with self._sweeping:
            s = self.deps.settings
            await claims.fail_exhausted(self.deps.sessionmaker, s.PIPELINE_MAX_ATTEMPTS)
            free = self.concurrency - len(self._active) - self._queue.qsize()
            claimed: list[str] = []
            if free > 0:
                claimed = await claims.claim_due(
                    self.deps.sessionmaker,
                    self.owner,
                    s.PIPELINE_LEASE_SECONDS,
                    free,
                    s.PIPELINE_MAX_ATTEMPTS,
                )
            for incident_id in claimed:
                # Queued even if a kick queued it too: that kick's claim_one may have skipped
                # the row while this sweep held its lock. Duplicates are dropped in _worker.
                self._queued[incident_id] += 1
                self._queue.put_nowait((incident_id, True))
            await send_followups(self.deps, self.owner)
            return len(claimed)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._sweep_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait_idle(self) -> None:
        """Until nothing is queued, running or sweeping (tests and graceful shutdown)."""
        while self._queued.total() or self._active or self._sweeping.locked():
            await asyncio.sleep(0.02)

    # --- internals --------------------------------------------------------------------------
    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # a database hiccup must not stop future sweeps
                log.exception("pipeline sweep failed")
            await asyncio.sleep(self.deps.settings.PIPELINE_SWEEP_INTERVAL_SECONDS)

    async def _worker(self) -> None:
        while True:
            incident_id, claimed = await self._queue.get()
            self._queued[incident_id] -= 1
            if self._stale[incident_id] > 0:
                self._stale[incident_id] -= 1
                self._queue.task_done()
                continue
            if incident_id in self._active:
                # Another local worker runs it under this worker's claim already.
                self._queue.task_done()
                continue
            self._active.add(incident_id)
            try:
                await self._run(incident_id, claimed)
            except Exception:  # the runner survives anything one pipeline does
                log.exception("pipeline crashed", extra={"incident": incident_id})
            finally:
                self._active.discard(incident_id)
                self._stale[incident_id] = self._queued[incident_id]
                self._queue.task_done()

    async def _heartbeat(self, incident_id: str) -> None:
        lease = self.deps.settings.PIPELINE_LEASE_SECONDS
        while True:
            await asyncio.sleep(lease / 3)
            if not await claims.renew(self.deps.sessionmaker, incident_id, self.owner, lease):
                log.warning("pipeline lease lost", extra={"incident": incident_id})
                return

    async def _run(self, incident_id: str, claimed: bool) -> None:
        s = self.deps.settings
        sm = self.deps.sessionmaker
        if not claimed and not await claims.claim_one(
            sm, incident_id, self.owner, s.PIPELINE_LEASE_SECONDS, s.PIPELINE_MAX_ATTEMPTS
        ):
            return
        heartbeat = asyncio.create_task(self._heartbeat(incident_id))
        try:
            await run_pipeline(self.deps, incident_id, self.owner)
        except claims.LeaseLost:
            log.warning("pipeline abandoned: lease lost", extra={"incident": incident_id})
            return
        except Exception as exc:  # the one broad catch: record the failure, retry later
            note = redact(f"{type(exc).__name__}: {exc}")[:500]
            if not isinstance(exc, RetryLater):
                log.exception("pipeline failed", extra={"incident": incident_id})
            await self._release_for_retry(incident_id, note)
            return
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        with contextlib.suppress(claims.LeaseLost):
            await claims.finish(sm, incident_id, self.owner, PipelineState.DONE)

    async def _release_for_retry(self, incident_id: str, note: str) -> None:
        s = self.deps.settings
        with contextlib.suppress(claims.LeaseLost):
            attempts = await claims.attempts(self.deps.sessionmaker, incident_id)
            if attempts >= s.PIPELINE_MAX_ATTEMPTS:
                await claims.finish(
                    self.deps.sessionmaker, incident_id, self.owner, PipelineState.FAILED, note=note
                )
            else:
                await claims.finish(
                    self.deps.sessionmaker,
                    incident_id,
                    self.owner,
                    PipelineState.PENDING,
                    retry_in=s.PIPELINE_RETRY_DELAY_SECONDS * attempts,
                    note=note,
                )

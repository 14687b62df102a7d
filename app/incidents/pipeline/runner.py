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
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        # One local entry per id. `_queued` maps a queued id to "already claimed by our sweep";
        # `_again` holds claims the sweep took while the id was running here. A claim is a fact
        # in the database (state running, owner us): dropping it would strand the incident
        # until its lease expires, so every claim is run (lock_owned fences stale ones).
        self._queued: dict[str, bool] = {}
        self._active: set[str] = set()
        self._again: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._sweeping = asyncio.Lock()

    # --- entry points -----------------------------------------------------------------------
    async def kick(self, incident_ids: list[str]) -> None:
        """BackgroundTasks entry: queue ids and return at once (work runs in the pool)."""
        for incident_id in incident_ids:
            self._offer(incident_id, claimed=False)

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
                self._offer(incident_id, claimed=True)
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
        while self._queued or self._active or self._sweeping.locked():
            await asyncio.sleep(0.02)

    # --- internals --------------------------------------------------------------------------
    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # a database hiccup must not stop future sweeps
                log.exception("pipeline sweep failed")
            await asyncio.sleep(self.deps.settings.PIPELINE_SWEEP_INTERVAL_SECONDS)

    def _offer(self, incident_id: str, *, claimed: bool) -> None:
        """Queue an id once; a kick for an id queued or running here adds nothing."""
        if incident_id in self._active:
            if claimed:  # our sweep claimed it again after (or while) the run released it
                self._again.add(incident_id)
        elif incident_id in self._queued:
            self._queued[incident_id] |= claimed
        else:
            self._queued[incident_id] = claimed
            self._queue.put_nowait(incident_id)

    async def _worker(self) -> None:
        while True:
            incident_id = await self._queue.get()
            claimed = self._queued.pop(incident_id)
            self._active.add(incident_id)
            try:
                await self._run(incident_id, claimed)
            except Exception:  # the runner survives anything one pipeline does
                log.exception("pipeline crashed", extra={"incident": incident_id})
            finally:
                self._active.discard(incident_id)
                if incident_id in self._again:
                    self._again.discard(incident_id)
                    self._offer(incident_id, claimed=True)
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

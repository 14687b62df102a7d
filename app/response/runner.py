"""Per-worker runner: a bounded pool draining a local queue, fed by kicks and the sweeper.

The queue holds ids only; the database decides who runs what (claims with leases), so a
kicked id that another replica already claimed is simply skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.core.owner import make_owner
from app.core.redact import error_text
from app.incidents.models import PipelineState
from app.response import claims
from app.response.context import PipelineContext
from app.response.escalation.paging import sweep as sweep_pages
from app.response.flow import RetryLater, run_pipeline

log = logging.getLogger(__name__)


class PipelineRunner:
    """`PIPELINE_CONCURRENCY` workers; a pipeline is claimed by the worker about to run it.

    Nothing claimed ever waits in the local queue: a kicked id is claimed (`claim_one`) when
    a worker takes it, and the sweeper queues claim slots (`None`) rather than ids, each
    taken by a free worker that claims one due pipeline (`claim_due`, SKIP LOCKED) and runs
    it at once. So the rows this worker holds as `running` are the pipelines it runs, never
    more than the concurrency, and a claim's lease is renewed from the moment it is taken.
    """

    def __init__(self, deps: PipelineContext, owner: str | None = None) -> None:
        self.deps = deps
        self.owner = owner or make_owner()
        self.concurrency = deps.settings.PIPELINE_CONCURRENCY
        # Kicked ids (each queued once) and claim slots (None).
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queued: set[str] = set()
        self._slots = 0  # claim slots queued or being claimed
        self._active: set[str] = set()
        # Ids claimed again while a run of theirs was ending here (the run released the claim,
        # a slot took it before the run returned): the running worker runs them once more,
        # since a claim nobody runs would strand the incident until its lease expires.
        self._again: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._sweeping = asyncio.Lock()

    # --- entry points -----------------------------------------------------------------------
    async def kick(self, incident_ids: list[str]) -> None:
        """BackgroundTasks entry: queue ids and return at once (work runs in the pool)."""
        for incident_id in incident_ids:
            if incident_id not in self._queued and incident_id not in self._active:
                self._queued.add(incident_id)
                self._queue.put_nowait(incident_id)

    async def sweep_once(self) -> int:
        """Offer claim slots for this worker's free capacity (a storm stays in the database,
        shared by the replicas); returns how many slots were offered."""
        async with self._sweeping:
            s = self.deps.settings
            await claims.fail_exhausted(self.deps.sessionmaker, s.PIPELINE_MAX_ATTEMPTS)
            free = self.concurrency - len(self._active) - len(self._queued) - self._slots
            for _ in range(max(free, 0)):
                self._slots += 1
                self._queue.put_nowait(None)
            await sweep_pages(self.deps, self.owner)
            return max(free, 0)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._sweep_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait_idle(self) -> None:
        """Until nothing is queued, claiming, running or sweeping (tests, graceful shutdown)."""
        while self._queued or self._slots or self._active or self._sweeping.locked():
            await asyncio.sleep(0.02)

    # --- internals --------------------------------------------------------------------------
    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # a database hiccup must not stop future sweeps
                log.exception("pipeline sweep failed")
            await asyncio.sleep(self.deps.settings.PIPELINE_SWEEP_INTERVAL_SECONDS)

    async def _take_slot(self) -> str | None:
        """Claim one due pipeline for this free worker; the id to run now, or None."""
        s = self.deps.settings
        try:
            claimed = await claims.claim_due(
                self.deps.sessionmaker,
                self.owner,
                s.PIPELINE_LEASE_SECONDS,
                1,
                s.PIPELINE_MAX_ATTEMPTS,
            )
        except Exception:  # a database hiccup: the next sweep offers the slot again
            log.exception("pipeline claim failed")
            claimed = []
        finally:
            self._slots -= 1
        for incident_id in claimed:
            if incident_id in self._active:
                self._again.add(incident_id)
                return None
            self._active.add(incident_id)
            return incident_id
        return None

    async def _worker(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if item is None:
                    incident_id = await self._take_slot()
                    claimed = True
                else:
                    self._queued.discard(item)
                    incident_id, claimed = item, False
                    if incident_id in self._active:
                        continue  # running here already (a slot claimed it meanwhile)
                    self._active.add(incident_id)
                if incident_id is not None:
                    await self._run_all(incident_id, claimed)
                    self._chain_claim()
            finally:
                self._queue.task_done()

    def _chain_claim(self) -> None:
        """After a run, a worker with nothing queued claims the next due pipeline at once.

        A storm lands in the local queue of the worker that answered its webhooks; without
        this, the other workers (and replicas) joined in only PIPELINE_CONCURRENCY pipelines
        per sweep interval. The chain stops at the first claim that finds nothing due.
        """
        free = self.concurrency - len(self._active) - len(self._queued) - self._slots
        if self._queue.empty() and free > 0:
            self._slots += 1
            self._queue.put_nowait(None)

    async def _run_all(self, incident_id: str, claimed: bool) -> None:
        """Run one pipeline (already in `_active`), and again for a claim taken meanwhile."""
        try:
            while True:
                try:
                    await self._run(incident_id, claimed)
                except Exception:  # the runner survives anything one pipeline does
                    log.exception("pipeline crashed", extra={"incident": incident_id})
                if incident_id not in self._again:
                    return
                self._again.discard(incident_id)
                claimed = True
        finally:
            self._active.discard(incident_id)

    async def _heartbeat(self, incident_id: str) -> None:
        lease = self.deps.settings.PIPELINE_LEASE_SECONDS
        while True:
            await asyncio.sleep(lease / 3)
            try:
                renewed = await claims.renew(self.deps.sessionmaker, incident_id, self.owner, lease)
            except Exception:  # a database hiccup: try again; the write fence decides
                log.warning("pipeline lease renewal failed", extra={"incident": incident_id})
                continue
            if not renewed:
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
            note = error_text(exc)
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

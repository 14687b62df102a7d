"""Coalesce concurrent webhooks of one worker into shared upsert statements.

Each webhook still answers only after the statement holding its alerts has committed; under
load several webhooks ride in one statement (fewer round trips, commits and WAL flushes per
alert), while an idle service gives every webhook a statement of its own. `lanes` statements
run at once per worker, so batching never serialises the worker behind one slow commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import Clock
from app.core.db import driver_connection
from app.incidents.alertmanager import ParsedAlert
from app.incidents.ingest import IngestResult, ingest_alerts, rejected

log = logging.getLogger(__name__)

# Errors that say "the database is not there", as opposed to "this payload cannot be stored".
CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)
# Errors that say "these values can never be stored" (SQLSTATE classes 22 and 54, and the
# driver refusing to encode an argument): retrying would fail the same way for ever.
UNSTORABLE_ERRORS = (asyncpg.DataError, asyncpg.ProgramLimitExceededError)


@dataclass
class _Pending:
    alerts: list[ParsedAlert]
    done: asyncio.Future[list[IngestResult]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IngestBatcher:
    """Per-worker lanes that each drain the queue of waiting webhooks into one statement."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        pipeline_priorities: list[str],
        *,
        lanes: int,
        max_alerts: int,
        heartbeat_alertname: str | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._priorities = pipeline_priorities
        self._max_alerts = max_alerts
        self._heartbeat = heartbeat_alertname
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._lanes = [
            asyncio.create_task(self._lane(), name=f"ingest-lane-{n}") for n in range(lanes)
        ]

    async def submit(self, alerts: list[ParsedAlert]) -> list[IngestResult]:
        """Store these alerts; returns once they are committed (or raises why not)."""
        pending = _Pending(alerts)
        self._queue.put_nowait(pending)
        return await asyncio.shield(pending.done)  # a cancelled request must not orphan a batch

    async def close(self) -> None:
        for lane in self._lanes:
            lane.cancel()
        for lane in self._lanes:
            with contextlib.suppress(asyncio.CancelledError):
                await lane
        while not self._queue.empty():
            self._queue.get_nowait().done.set_exception(ConnectionError("service shutting down"))

    def _take(self, first: _Pending) -> list[_Pending]:
        batch, size = [first], len(first.alerts)
        while size < self._max_alerts and not self._queue.empty():
            item = self._queue.get_nowait()
            batch.append(item)
            size += len(item.alerts)
        return batch

    async def _store(self, alerts: list[ParsedAlert], now: datetime) -> list[IngestResult]:
        async with driver_connection(self._engine) as conn:
            # One statement is one transaction in PostgreSQL: no BEGIN/COMMIT round trips.
            results: list[IngestResult] = await ingest_alerts(
                conn,
                alerts,
                now=now,
                pipeline_priorities=self._priorities,
                heartbeat_alertname=self._heartbeat,
            )
        return results

    async def _store_each(self, alerts: list[ParsedAlert], now: datetime) -> list[IngestResult]:
        """Store a payload the database refused, alert by alert: only the unstorable are rejected."""
        try:
            return await self._store(alerts, now)
        except UNSTORABLE_ERRORS as exc:
            if len(alerts) > 1:
                results: list[IngestResult] = []
                for alert in alerts:
                    results.extend(await self._store_each([alert], now))
                return results
            # Never the message: asyncpg quotes the refused value in it.
            reason = f"the database refused this alert ({type(exc).__name__})"
            log.warning(
                "alert rejected by the database",
                extra={"fingerprint": alerts[0].fingerprint, "error_class": type(exc).__name__},
            )
            return [rejected(alerts[0].fingerprint, reason)]

    async def _warm(self) -> None:
        """Open this lane's connection and prepare the statement before the first webhook.

        A cold lane pays the connect, the prepare and the plan inside the first storm after a
        start, where they were the slowest webhooks at 32 concurrent. Best effort: a database
        that is not there yet is the first webhook's 503, not a failed start.
        """
        try:
            await self._store([], self._clock.now())
        except Exception as exc:
            log.info("ingest lane not warmed", extra={"error_class": type(exc).__name__})

    async def _lane(self) -> None:
        await self._warm()
        while True:
            batch = self._take(await self._queue.get())
            try:
                await self._run(batch)
            except Exception as exc:  # a lane must survive anything; each waiter gets the error
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)

    async def _run(self, batch: list[_Pending]) -> None:
        now = self._clock.now()
        try:
            results = await self._store([a for item in batch for a in item.alerts], now)
        except CONNECTION_ERRORS:
            raise
        except Exception:
            if len(batch) == 1 and len(batch[0].alerts) == 1:
                batch[0].done.set_result(await self._store_each(batch[0].alerts, now))
                return
            # One payload the database refuses must not fail the webhooks it shared a statement
            # with, and one alert the database refuses must not fail the alerts of its webhook.
            log.warning("batched ingest failed; storing its webhooks one by one")
            for item in batch:
                try:
                    item.done.set_result(await self._store_each(item.alerts, now))
                except Exception as exc:
                    item.done.set_exception(exc)
            return
        offset = 0
        for item in batch:
            item.done.set_result(results[offset : offset + len(item.alerts)])
            offset += len(item.alerts)

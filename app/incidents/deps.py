"""Typed dependencies of the incident routes: the ingest batcher and the pipeline trigger.

The response pipeline registers its runner here (`set_pipeline_trigger`) rather than the
routes importing it: incidents never import `app.response`.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request

from app.incidents.batcher import IngestBatcher


class PipelineTrigger(Protocol):
    """What the incident routes ask of the response pipeline (its runner, per worker)."""

    async def kick(self, incident_ids: list[str]) -> None:
        """Run these new incidents' pipelines now (queued; returns at once)."""

    async def sweep_once(self) -> int:
        """Claim due work and send due follow-ups (PagerDuty acknowledge/resolve) now."""


def set_ingest_batcher(app: FastAPI, batcher: IngestBatcher) -> None:
    app.state.ingest_batcher = batcher


def set_pipeline_trigger(app: FastAPI, trigger: PipelineTrigger | None) -> None:
    """Set while the pipeline runs in this process; None when it is disabled or stopped."""
    app.state.pipeline_runner = trigger


async def ingest_batcher(request: Request) -> IngestBatcher:
    batcher: IngestBatcher = request.app.state.ingest_batcher
    return batcher


async def pipeline_trigger(request: Request) -> PipelineTrigger | None:
    trigger: PipelineTrigger | None = getattr(request.app.state, "pipeline_runner", None)
    return trigger


IngestBatcherDep = Annotated[IngestBatcher, Depends(ingest_batcher)]
PipelineDep = Annotated[PipelineTrigger | None, Depends(pipeline_trigger)]

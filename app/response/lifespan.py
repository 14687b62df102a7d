"""Builds the pipeline's peers and runner for one worker; stops them cleanly on shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.http import RetryPolicy, make_client
from app.core.redact import configure_secrets
from app.core.settings import Settings
from app.incidents.deps import set_pipeline_trigger
from app.response.context import PipelineContext
from app.response.kube import KubernetesUnavailable, build_api_client
from app.response.metrics import page_gauges_hook, refresh_success_rate
from app.response.remediation.rules import load_rules
from app.response.runner import PipelineRunner

log = logging.getLogger(__name__)


def _kube(settings: Settings) -> tuple[Any | None, str | None]:
    """The Kubernetes client, or why there is none (recorded in diagnostics, not fatal)."""
    try:
        return build_api_client(settings), None
    except KubernetesUnavailable as exc:
        log.warning("kubernetes not configured; pod diagnostics and k8s remediation disabled")
        return None, f"kubernetes not configured: {exc}"


@asynccontextmanager
async def pipeline_runtime(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    start: bool = True,
) -> AsyncIterator[PipelineRunner]:
    """A running PipelineRunner (workers + sweeper) and its clients, for the block's duration."""
    configure_secrets(settings.secret_values())
    rules = load_rules(settings.REMEDIATION_RULES_FILE)  # invalid rules stop the start-up
    kube, kube_error = _kube(settings)
    timeout = settings.HTTP_TIMEOUT_SECONDS
    http = make_client(timeout=timeout)
    pagerduty = make_client(timeout=timeout)
    slack = make_client(timeout=timeout)
    deps = PipelineContext(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=clock,
        http=http,
        pagerduty=pagerduty,
        slack=slack,
        rules=rules,
        retry=RetryPolicy.from_settings(settings),
        kube=kube,
        kube_error=kube_error,
    )
    runner = PipelineRunner(deps)
    if start:
        runner.start()
    try:
        yield runner
    finally:
        await runner.stop()
        for client in (http, pagerduty, slack):
            await client.aclose()
        if kube is not None:
            kube.close()


@asynccontextmanager
async def response_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan part: the runner is the incident routes' pipeline trigger while it runs."""
    app.state.scrape_hooks.append(refresh_success_rate)
    app.state.scrape_hooks.append(
        page_gauges_hook(app.state.clock, app.state.settings.PAGE_OVERDUE_SECONDS)
    )
    settings: Settings = app.state.settings
    if not settings.PIPELINE_ENABLED:
        yield
        return
    async with pipeline_runtime(settings, app.state.sessionmaker, app.state.clock) as runner:
        set_pipeline_trigger(app, runner)
        try:
            yield
        finally:
            set_pipeline_trigger(app, None)

"""Prometheus registry (multi-process aware), HTTP request metrics, the /metrics payload."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def render_metrics() -> tuple[bytes, str]:
    """The exposition text; aggregates all uvicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class GaugeRefresher:
    """Runs the scrape hooks (gauges read from PostgreSQL) at most once per `ttl` seconds.

    Concurrent scrapes share one refresh; a failed or slow refresh (bounded by `timeout`) is
    cached too, so a scrape storm or a sick database costs one query per TTL, never one per
    scrape. Between refreshes a scrape serves the last values.
    """

    def __init__(self, ttl: float, timeout: float) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._last = -math.inf
        self._lock = asyncio.Lock()

    async def refresh(
        self, hooks: Sequence[Callable[[Any], Awaitable[None]]], sessionmaker: Any
    ) -> None:
        if time.monotonic() - self._last < self.ttl:
            return
        async with self._lock:
            if time.monotonic() - self._last < self.ttl:
                return  # another scrape refreshed while this one waited
            for hook in hooks:
                try:
                    await asyncio.wait_for(hook(sessionmaker), self.timeout)
                except Exception:  # a gauge refresh must never break the scrape
                    log.exception("metrics scrape hook failed")
            self._last = time.monotonic()


class HttpMetricsMiddleware:
    """Counts and times requests by route template (never the raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)

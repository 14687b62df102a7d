"""Everything a pipeline run needs (settings, sessions, peers' clients, rules), built once per
worker by `response.lifespan`; passed to every step as `deps`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.http import RetryPolicy
from app.core.settings import Settings

if TYPE_CHECKING:
    from app.response.remediation.rules import RuleSet


@dataclass
class PipelineContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    http: httpx.AsyncClient  # Prometheus and HTTP dependency checks
    pagerduty: httpx.AsyncClient
    slack: httpx.AsyncClient
    rules: RuleSet
    retry: RetryPolicy
    kube: Any | None = None  # kubernetes.client.ApiClient, or None when not configured
    kube_error: str | None = None
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

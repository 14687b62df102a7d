"""Probes and scrapes never starve the webhook (issue 9.11): their own pool, auth, a TTL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

METRICS_TOKEN = "metrics-token-0123456789abcdef"


async def test_metrics_are_open_while_no_metrics_token_is_set(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "http_requests_total" in response.text


@pytest.mark.parametrize("settings_overrides", [{"METRICS_TOKEN": METRICS_TOKEN}])
async def test_metrics_token_closes_the_scrape(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=bearer("VIEWER"))).status_code == 403
    scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert "incidents_open" in scraped.text
    # The metrics token opens nothing else.
    other = await client.get("/incidents", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert other.status_code == 403


def _count(
    calls: Counter[str], hook: Callable[[Any], Awaitable[None]]
) -> Callable[[Any], Awaitable[None]]:
    async def counted(sessionmaker: Any) -> None:
        calls[hook.__name__] += 1
        await hook(sessionmaker)

    return counted


async def test_database_gauges_are_read_at_most_once_per_ttl(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    calls: Counter[str] = Counter()
    app.state.scrape_hooks[:] = [_count(calls, h) for h in app.state.scrape_hooks]
    assert len(app.state.scrape_hooks) >= 2  # incidents' gauges and the remediation rate
    await client.post(
        "/webhook/alert",
        json=webhook(alert("Gauge", fingerprint="gauge-1", severity="critical")),
        headers=bearer("ALERTMANAGER"),
    )
    texts = [(await client.get("/metrics")).text for _ in range(5)]
    assert set(calls.values()) == {1}, calls  # five scrapes, one read of each gauge
    for text in texts:
        assert 'incidents_open{priority="P0"} 1.0' in text
        assert 'incidents_total{priority="P0"}' in text
        assert "remediation_success_rate" in text


@pytest.mark.parametrize(
    "settings_overrides",
    [{"DATABASE_POOL_SIZE": 1, "DATABASE_MAX_OVERFLOW": 0, "DATABASE_TIMEOUT_SECONDS": 1}],
)
async def test_probes_answer_while_the_webhook_pool_is_exhausted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    engine: Any = app.state.engine
    async with engine.connect():  # the service's only pooled connection, held
        health = await client.get("/health")
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "healthy", "database": "connected"}
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True
        scraped = await client.get("/metrics")
        assert 'incidents_open{priority="P0"} 0.0' in scraped.text

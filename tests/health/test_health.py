from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.settings import load_settings
from app.main import create_app
from tests.conftest import TOKENS, bearer
from tests.fakes.tcp_proxy import TcpProxy


async def test_health_connected(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "database": "connected"}
    assert response.headers["x-request-id"]


async def test_ready_reports_schema_head(client: httpx.AsyncClient) -> None:
    body = (await client.get("/ready")).json()
    assert body["ready"] is True
    assert body["schema_revisions"] == body["expected_revisions"]
    assert body["expected_revisions"]


async def test_metrics_use_route_templates(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    await client.get("/no/such/path")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text


@pytest.fixture
def proxy(database_url: str) -> TcpProxy:
    parts = urlsplit(database_url)
    if not parts.hostname or parts.hostname.startswith("/") or not parts.port:
        pytest.skip("database reached through a unix socket; the outage proxy needs TCP")
    return TcpProxy(parts.hostname, parts.port)


async def test_health_follows_database_outage(
    proxy: TcpProxy, database_url: str, tmp_path: Path
) -> None:
    parts = urlsplit(database_url)
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    settings = load_settings(
        DATABASE_URL=via_proxy, DATA_DIR=tmp_path, DATABASE_TIMEOUT_SECONDS=1, **TOKENS
    )
    app = create_app(settings)
    proxy.up()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/health")).json()["database"] == "connected"
                proxy.down()
                down = await client.get("/health")
                assert down.status_code == 503
                assert down.json() == {"status": "unhealthy", "database": "disconnected"}
                assert (await client.get("/ready")).status_code == 503
                listing = await client.get("/incidents", headers=bearer("VIEWER"))
                assert listing.status_code == 503
                assert listing.json() == {"detail": "database unavailable, retry later"}
                proxy.up()
                back = await client.get("/health")
                assert back.status_code == 200
                assert back.json()["database"] == "connected"
    finally:
        proxy.close()

"""Outbound requests go only to configured base URLs: every httpx request (async and sync) and
every urllib3 request (the Kubernetes client) made during a full P0 pipeline run is recorded
and its scheme, host and port checked against the settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import urllib3
from fastapi import FastAPI

from app.core.settings import Settings
from tests.fakes.k8s import Deployment, pod
from tests.incidents.payloads import alert
from tests.response.conftest import Peers, Sleeps
from tests.response.test_webhook_flow import ENFORCE, post_alerts, settle


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname or "", parts.port or default


def _configured(settings: Settings) -> set[tuple[str, str, int]]:
    urls = [
        settings.KUBERNETES_API_URL,
        settings.PAGERDUTY_EVENTS_URL,
        settings.PROMETHEUS_URL,
        settings.TELEGRAM_API_BASE,
        settings.SLACK_WEBHOOK_URL.get_secret_value() if settings.SLACK_WEBHOOK_URL else None,
    ]
    return {_origin(u) for u in urls if u}


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    async_send = httpx.AsyncHTTPTransport.handle_async_request
    sync_send = httpx.HTTPTransport.handle_request
    urlopen = urllib3.connectionpool.HTTPConnectionPool.urlopen

    async def record_async(self: Any, request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return await async_send(self, request)

    def record_sync(self: Any, request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return sync_send(self, request)

    def record_urllib3(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(f"{self.scheme}://{self.host}:{self.port}{url}")
        return urlopen(self, method, url, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", record_async)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", record_sync)
    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", record_urllib3)
    return seen


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_a_full_p0_pipeline_calls_only_configured_hosts(
    app: FastAPI,
    client: httpx.AsyncClient,
    peers: Peers,
    sleeps: Sleeps,
    settings: Settings,
    outbound: list[str],
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=2))
    peers.k8s.pods.extend([pod("email-service-a", "email-service")])
    answer = await post_alerts(
        client, alert("KafkaConsumerLagHigh", severity="critical", service="email-service")
    )
    assert answer.status_code == 200, answer.text
    await settle(app)
    incident = await client.get(
        f"/incidents/{answer.json()['incident_id']}",
        headers={"Authorization": f"Bearer {settings.VIEWER_TOKEN.get_secret_value()}"}
        if settings.VIEWER_TOKEN
        else {},
    )
    assert incident.json()["pipeline_state"] == "done"

    allowed = _configured(settings)
    origins = {_origin(url) for url in outbound}
    # diagnostics (Kubernetes, Prometheus), remediation (Kubernetes), the page (PagerDuty)
    assert _origin(settings.PAGERDUTY_EVENTS_URL) in origins
    assert _origin(str(settings.KUBERNETES_API_URL)) in origins
    assert origins <= allowed, sorted(origins - allowed)

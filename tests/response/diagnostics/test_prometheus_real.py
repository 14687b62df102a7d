"""Diagnostics against a real Prometheus (Debian's 2.42) scraping an exporter this test serves."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.fakes.k8s import Deployment
from tests.fakes.server import free_port, serve_in_thread
from tests.peers import require_binary
from tests.response.conftest import Peers, Sleeps, insert_incident, load, run_pipelines


class Exporter:
    """Each scrape adds 100 requests (1 of them a 500) and a fixed latency spread."""

    def __init__(self) -> None:
        self.scrapes = 0

    async def metrics(self, _: Request) -> PlainTextResponse:
        self.scrapes += 1
        n = self.scrapes
        svc = 'service="email-service"'
        lines = [
            "# TYPE http_requests_total counter",
            f'http_requests_total{{{svc},status="200"}} {99 * n}',
            f'http_requests_total{{{svc},status="500"}} {1 * n}',
            "# TYPE http_request_duration_seconds histogram",
            f'http_request_duration_seconds_bucket{{{svc},le="0.1"}} {50 * n}',
            f'http_request_duration_seconds_bucket{{{svc},le="0.5"}} {95 * n}',
            f'http_request_duration_seconds_bucket{{{svc},le="1"}} {100 * n}',
            f'http_request_duration_seconds_bucket{{{svc},le="+Inf"}} {100 * n}',
            f"http_request_duration_seconds_sum{{{svc}}} {20 * n}",
            f"http_request_duration_seconds_count{{{svc}}} {100 * n}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n")


def _wait_for(url: str, query: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2)
            # While its TSDB starts, Prometheus answers 503 "Service Unavailable" in plain text.
            if answer.status_code == 200 and answer.json().get("data", {}).get("result"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"prometheus never answered {query!r}")


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus", "prometheus")
    exporter = Exporter()
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    with serve_in_thread(Starlette(routes=[Route("/metrics", exporter.metrics)])) as target:
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: email-service\n"
            f"    static_configs:\n      - targets: ['{target.removeprefix('http://')}']\n"
        )
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(url, 'up{job="email-service"} == 1')
            _wait_for(url, "rate(http_requests_total[5m]) > 0")  # two scrapes at least
            yield url
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
def extra_settings(prometheus_url: str) -> dict[str, Any]:
    # Real peers on a shared 2-core machine: the suite's 1-2 s budgets are for fakes, not these.
    return {
        "PROMETHEUS_URL": prometheus_url,
        "DIAGNOSTICS_PROMETHEUS_TIMEOUT_SECONDS": 10,
        "DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS": 10,
    }


async def test_default_promql_diagnostics_against_real_prometheus(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("email-service", replicas=3))
    incident_id = await insert_incident(app, "KafkaConsumerLagHigh", service="email-service")

    await run_pipelines(app, incident_id)

    diagnostics = (await load(app, incident_id)).diagnostics or {}
    metrics = diagnostics["metrics"]
    assert metrics["availability"] == 1.0
    assert metrics["latency_p95"] == pytest.approx(500.0)
    assert metrics["error_rate"] == pytest.approx(0.01)
    assert "prometheus" not in diagnostics["errors"]
    assert diagnostics["pods"]["email-service"]["ready"] == "3/3"


@pytest.mark.parametrize(
    "queries",
    [{"broken": "sum(rate(", "needs_label": 'up{{instance="{instance}"}}', "ok": "vector(2)"}],
)
async def test_query_failures_are_recorded_per_query(
    app: FastAPI, prometheus_url: str, queries: dict[str, str]
) -> None:
    from app.response.diagnostics import prometheus

    async with httpx.AsyncClient() as client:
        metrics, errors = await prometheus.diagnose(
            client, prometheus_url, queries, {"service": "email-service"}, 5
        )
    assert metrics == {"broken": None, "needs_label": None, "ok": 2.0}
    assert "bad_data" in errors["broken"] or "parse error" in errors["broken"]
    assert "no label instance" in errors["needs_label"]


def test_label_values_cannot_inject_promql() -> None:
    from app.response.diagnostics.prometheus import render_query

    rendered = render_query('up{{job="{service}"}}', {"service": 'x"} or vector(1) #'})
    assert rendered == 'up{job="x\\"} or vector(1) #"}'

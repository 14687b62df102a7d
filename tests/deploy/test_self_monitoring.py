"""Self-monitoring end to end: a real Prometheus scrapes the running service with the shipped
rules, a rule fires, and the shipped Alertmanager routing sends it back into the webhook (and,
being critical, to PagerDuty directly). The trouble is real: the database goes away, so the
webhook answers 503 and IncidentApiWebhookErrors fires.

Only timings differ from the shipped files: each rule's `for:` becomes 1s and Alertmanager's
group waits 1s (promtool tests the shipped durations in prometheus/tests/)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.conftest import TOKENS, bearer
from tests.deploy.tools import ROOT
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.server import free_port, serve_in_thread
from tests.fakes.tcp_proxy import TcpProxy
from tests.peers import require_binary
from tests.service_proc import running_service

PROM = ROOT / "prometheus"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


def _wait(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.25)


def _fast_rules(workdir: Path) -> Path:
    """The shipped self-monitoring rules, every `for:` shortened to 1s."""
    rules = yaml.safe_load((PROM / "rules" / "incident-api.rules.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    path = workdir / "incident-api.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


def _alertmanager_config(workdir: Path, service: str, pagerduty: str) -> Path:
    """The shipped routing tree and receivers, pointed at loopback, with 1s group waits."""
    config = yaml.safe_load((PROM / "alertmanager.yml").read_text())
    token = workdir / "token"
    token.write_text(TOKENS["ALERTMANAGER_TOKEN"])
    routing_key = workdir / "routing-key"
    routing_key.write_text("fallback-routing-key-0123456789")
    for route in [config["route"], *config["route"]["routes"]]:
        route.update({"group_wait": "1s", "group_interval": "1s"})
    receivers = {r["name"]: r for r in config["receivers"]}
    webhook = receivers["incident-webhook"]["webhook_configs"][0]
    assert webhook["url"].endswith("/webhook/alert")
    webhook["url"] = f"{service}/webhook/alert"
    webhook["http_config"]["authorization"]["credentials_file"] = str(token)
    fallback = receivers["incident-api-fallback"]["pagerduty_configs"][0]
    fallback.update({"routing_key_file": str(routing_key), "url": f"{pagerduty}/v2/enqueue"})
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _scrape_job(workdir: Path, service: str) -> dict[str, Any]:
    """The shipped `incident-api` scrape job (with its bearer token file), on loopback."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    job: dict[str, Any] = next(
        j for j in config["scrape_configs"] if j["job_name"] == "incident-api"
    )
    token = workdir / "metrics-token"
    token.write_text(METRICS_TOKEN)
    job["authorization"]["credentials_file"] = str(token)
    del job["dns_sd_configs"]
    job.update(
        {
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "static_configs": [{"targets": [service.removeprefix("http://")]}],
        }
    )
    return job


@contextmanager
def _process(args: list[str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _query(prometheus: str, query: str) -> list[Any]:
    """The instant query's result; [] while Prometheus starts (a plain-text 503) or on errors."""
    try:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=2)
        result: list[Any] = answer.json()["data"]["result"] if answer.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError):
        return []
    return result


def _firing(prometheus: str, alertname: str) -> bool:
    return bool(_query(prometheus, f'ALERTS{{alertname="{alertname}",alertstate="firing"}}'))


def _incidents(base: str, alert_name: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{base}/incidents", params={"alert_name": alert_name}, headers=bearer("VIEWER"), timeout=5
    )
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


def _webhook(base: str, n: int) -> int:
    alert = {
        "labels": {"alertname": "SomeServiceAlert", "severity": "warning", "instance": f"i{n}"},
        "annotations": {"summary": "an ordinary alert"},
    }
    body = {"version": "4", "status": "firing", "receiver": "incident-webhook", "alerts": [alert]}
    answer = httpx.post(
        f"{base}/webhook/alert", json=body, headers=bearer("ALERTMANAGER"), timeout=5
    )
    return answer.status_code


def test_a_broken_database_pages_through_prometheus_and_alertmanager(
    database_url: str, tmp_path: Path, clean_db: None
) -> None:
    prometheus_bin = require_binary("prometheus", "prometheus")
    alertmanager_bin = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    parts = urlsplit(database_url)
    if not parts.hostname or not parts.port:
        pytest.skip("database reached through a unix socket; the outage proxy needs TCP")
    proxy = TcpProxy(parts.hostname, parts.port)
    proxy.up()
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    pagerduty = FakePagerDuty()
    try:
        with (
            running_service(
                via_proxy,
                tmp_path / "svc",
                env={"DATABASE_TIMEOUT_SECONDS": "1", "METRICS_TOKEN": METRICS_TOKEN},
            ) as base,
            serve_in_thread(pagerduty.app()) as pagerduty_url,
        ):
            am_port, prom_port = free_port(), free_port()
            am_config = _alertmanager_config(tmp_path, base, pagerduty_url)
            prom_config = tmp_path / "prometheus.yml"
            prom_config.write_text(
                yaml.safe_dump(
                    {
                        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                        "rule_files": [str(_fast_rules(tmp_path))],
                        "alerting": {
                            "alertmanagers": [
                                {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}
                            ]
                        },
                        "scrape_configs": [_scrape_job(tmp_path, base)],
                    }
                )
            )
            am_args = [
                alertmanager_bin,
                f"--config.file={am_config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ]
            prom_args = [
                prometheus_bin,
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ]
            prometheus = f"http://127.0.0.1:{prom_port}"
            with (
                _process(am_args, tmp_path / "alertmanager.log"),
                _process(prom_args, tmp_path / "prometheus.log"),
            ):
                assert _webhook(base, 0) == 200
                _wait(
                    lambda: _query(
                        prometheus, 'http_requests_total{job="incident-api",route="/webhook/alert"}'
                    ),
                    60,
                    "Prometheus scraping the service",
                )
                assert not _firing(prometheus, "IncidentApiWebhookErrors")

                proxy.down()  # the database goes away: webhooks answer 503
                n = 1
                deadline = time.monotonic() + 90
                while not _firing(prometheus, "IncidentApiWebhookErrors"):
                    assert time.monotonic() < deadline, "IncidentApiWebhookErrors never fired"
                    assert _webhook(base, n) == 503
                    n += 1
                    time.sleep(0.25)
                # Critical and about the service itself: PagerDuty directly, while the service
                # cannot store anything.
                page = _wait(
                    lambda: [
                        e
                        for e in pagerduty.events("trigger")
                        if "IncidentApiWebhookErrors" in str(e.get("payload"))
                    ],
                    60,
                    "the fallback page",
                )
                assert page[0]["routing_key"] == "fallback-routing-key-0123456789"

                proxy.up()  # Alertmanager's retries now land: the service records its own trouble
                incidents = _wait(
                    lambda: _incidents(base, "IncidentApiWebhookErrors"),
                    90,
                    "the self-monitoring incident",
                )
                assert len(incidents) == 1
                incident = incidents[0]
                assert incident["service"] == "incident-api"
                assert incident["priority"] == "P0"
                assert incident["labels"]["severity"] == "critical"
                assert incident["status"] in {"open", "investigating"}
    finally:
        proxy.close()

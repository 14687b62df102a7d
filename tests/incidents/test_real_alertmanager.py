"""Drive Debian's real Alertmanager (0.25) against the running service, end to end."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import TOKENS, bearer
from tests.fakes.server import free_port
from tests.fakes.tcp_proxy import TcpProxy
from tests.peers import require_binary
from tests.service_proc import running_service

CONFIG = """
route:
  receiver: incident-webhook
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: incident-webhook
    webhook_configs:
      - url: {url}/webhook/alert
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {token_file}
"""


def _count_or_none(base: str) -> int | None:
    """How many incidents the service lists, or None while it answers 503 (database away)."""
    try:
        return len(_incidents(base))
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 503:
            raise
        return None


def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.25)


class Alertmanager:
    def __init__(self, binary: str, service_url: str, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        token_file = workdir / "token"
        token_file.write_text(TOKENS["ALERTMANAGER_TOKEN"])
        config = workdir / "alertmanager.yml"
        config.write_text(CONFIG.format(url=service_url, token_file=token_file))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (workdir / "alertmanager.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address={self.url.removeprefix('http://')}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(self._ready, 20, "alertmanager ready")

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text

    def failed_notifications(self) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("alertmanager_notifications_failed_total")
            and 'integration="webhook"' in line
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def alertmanager_binary() -> str:
    return require_binary("prometheus-alertmanager", "prometheus-alertmanager")


def _alert(
    name: str, instance: str, severity: str, ends: str | None = None, **extra: str
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "labels": {
            "alertname": name,
            "instance": instance,
            "severity": severity,
            "service": "email-service",
            **extra,
        },
        "annotations": {"summary": f"{name} on {instance}", "description": "details"},
        "generatorURL": "http://prometheus.local/graph",
    }
    if ends:
        item["endsAt"] = ends
    return item


def _incidents(base: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base}/incidents", params={"limit": 1000}, headers=bearer("VIEWER"), timeout=5
    )
    response.raise_for_status()
    body: list[dict[str, Any]] = response.json()
    return body


@pytest.fixture
def served(database_url: str, tmp_path: Path, clean_db: None) -> Iterator[str]:
    with running_service(database_url, tmp_path / "svc") as base:
        yield base


def test_alerts_become_incidents_dedup_and_resolve(
    alertmanager_binary: str, served: str, tmp_path: Path
) -> None:
    am = Alertmanager(alertmanager_binary, served, tmp_path / "am")
    try:
        alerts = [
            _alert("KafkaConsumerLagHigh", "kafka-0", "critical"),
            _alert("KafkaConsumerLagHigh", "kafka-1", "critical"),
            _alert("DiskSpaceLow", "node-3", "warning"),
            _alert("CertExpiringSoon", "ingress", "info"),
            _alert("PostgreSQLConnectionsHigh", "pg-0", "info", priority="P0"),
        ]
        am.post(alerts)
        _wait_for(lambda: len(_incidents(served)) == 5, 30, "5 incidents")
        by_instance = {i["labels"]["instance"]: i for i in _incidents(served)}
        assert {k: v["priority"] for k, v in by_instance.items()} == {
            "kafka-0": "P0",
            "kafka-1": "P0",
            "node-3": "P1",
            "ingress": "P2",
            "pg-0": "P0",
        }
        kafka = by_instance["kafka-0"]
        assert kafka["alert_name"] == "KafkaConsumerLagHigh"
        assert kafka["summary"] == "KafkaConsumerLagHigh on kafka-0"
        assert kafka["service"] == "email-service"
        assert len(kafka["fingerprint"]) == 16  # Alertmanager's own fingerprint was used

        # repeat_interval 2s: Alertmanager re-sends the same groups; nothing new is created.
        am.post(alerts)
        _wait_for(
            lambda: min(i["occurrence_count"] for i in _incidents(served)) >= 3, 30, "repeats"
        )
        assert len(_incidents(served)) == 5

        ended = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        am.post([{**a, "endsAt": ended} for a in alerts])
        _wait_for(
            lambda: all(i["status"] == "resolved" for i in _incidents(served)), 30, "resolution"
        )
        resolved = _incidents(served)
        assert len(resolved) == 5
        assert {i["resolved_at"].replace("+00:00", "Z") for i in resolved} == {ended}
        time.sleep(3)  # Alertmanager keeps re-sending resolved notifications: still 5
        assert len(_incidents(served)) == 5
    finally:
        am.stop()


def test_database_outage_loses_nothing(
    alertmanager_binary: str, database_url: str, tmp_path: Path, clean_db: None
) -> None:
    parts = urlsplit(database_url)
    if not parts.hostname or not parts.port:
        pytest.skip("database reached through a unix socket; the outage proxy needs TCP")
    proxy = TcpProxy(parts.hostname, parts.port)
    proxy.up()
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    try:
        with running_service(via_proxy, tmp_path / "svc") as base:
            am = Alertmanager(alertmanager_binary, base, tmp_path / "am")
            try:
                am.post([_alert("Before", f"i{n}", "critical") for n in range(4)])
                _wait_for(lambda: len(_incidents(base)) == 4, 30, "first 4 incidents")
                proxy.down()
                am.post([_alert(f"During{n}", "x", "warning") for n in range(6)])
                _wait_for(lambda: am.failed_notifications() >= 2, 30, "503s seen by Alertmanager")
                time.sleep(2)
                proxy.up()
                # A pooled connection the outage killed fails its next request once (503, by
                # design: no pre-ping), so the wait reads until one answer has all 10.
                _wait_for(lambda: _count_or_none(base) == 10, 60, "all 10 incidents after outage")
                time.sleep(3)
                incidents = _incidents(base)
                assert len(incidents) == 10
                assert sorted(i["alert_name"] for i in incidents) == sorted(
                    ["Before"] * 4 + [f"During{n}" for n in range(6)]
                )
            finally:
                am.stop()
    finally:
        proxy.close()


def test_shipped_alertmanager_config_is_valid(alertmanager_binary: str) -> None:
    amtool = require_binary("amtool", "prometheus-alertmanager")
    config = Path(__file__).resolve().parents[2] / "prometheus" / "alertmanager.yml"
    result = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = config.read_text()
    assert "send_resolved: true" in text
    assert "http://incident-api.production.svc.cluster.local:8080/webhook/alert" in text

"""prometheus/: promtool (check rules, test rules, check config) and amtool (config, routing)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.tools import ROOT, run
from tests.peers import require_binary

PROM = ROOT / "prometheus"
RULE_FILES = sorted(PROM.glob("rules/*.rules.yml"))


def _promtool() -> str:
    return require_binary("promtool", "prometheus")


def _amtool() -> str:
    return require_binary("amtool", "prometheus-alertmanager")


def test_rules_are_valid() -> None:
    output = run([_promtool(), "check", "rules", *map(str, RULE_FILES)])
    assert output.count("SUCCESS") == len(RULE_FILES)


def test_rule_unit_tests_pass() -> None:
    tests = sorted(PROM.glob("tests/*.test.yml"))
    assert len(tests) == 2
    output = run([_promtool(), "test", "rules", *map(str, tests)])
    assert output.count("SUCCESS") == len(tests), output


def test_every_rule_has_a_unit_test() -> None:
    alerts = {
        r["alert"]
        for f in RULE_FILES
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    tested = {
        case["alertname"]
        for f in PROM.glob("tests/*.test.yml")
        for t in yaml.safe_load(f.read_text())["tests"]
        for case in t.get("alert_rule_test", [])
        if case.get("exp_alerts")  # seen firing, not only seen silent
    }
    assert alerts - tested == set()
    assert {
        "IncidentApiDown",
        "IncidentApiWebhookErrors",
        "IncidentApiPagesOverdue",
        "IncidentApiRemediationFailing",
        "IncidentApiPushesFailing",
        "IncidentApiStaleIncidents",
        "IncidentApiHeartbeatMissing",
        "KafkaConsumerLagHigh",
        "PostgreSQLConnectionsHigh",
        "DiskSpaceLow",
        "EmailServiceDown",
    } <= alerts


def test_self_monitoring_alerts_are_labelled_for_routing() -> None:
    rules = yaml.safe_load((PROM / "rules" / "incident-api.rules.yml").read_text())
    for rule in rules["groups"][0]["rules"]:
        assert rule["labels"]["service"] == "incident-api", rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["runbook_url"].startswith("docs/incident-management.md#")


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    # The token file exists only where Prometheus runs (a mounted Secret): check the syntax of
    # the file as shipped, then everything (rule files included) with the path pointed at a fake.
    output = run([_promtool(), "check", "config", "--syntax-only", str(PROM / "prometheus.yml")])
    assert "is valid prometheus config" in output
    copy = tmp_path / "prometheus"
    shutil.copytree(PROM, copy)
    token = tmp_path / "token"
    token.write_text("metrics-token-0123456789abcdef")
    text = (PROM / "prometheus.yml").read_text()
    assert "/etc/prometheus/secrets/incident-api-metrics/token" in text
    (copy / "prometheus.yml").write_text(
        text.replace("/etc/prometheus/secrets/incident-api-metrics/token", str(token))
    )
    output = run([_promtool(), "check", "config", str(copy / "prometheus.yml")])
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in output, output
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["incident-api"]["metrics_path"] == "/metrics"
    assert jobs["incident-api"]["dns_sd_configs"][0]["port"] == 8080


def test_alertmanager_config_is_valid() -> None:
    output = run([_amtool(), "check-config", str(PROM / "alertmanager.yml")])
    assert "SUCCESS" in output
    config = yaml.safe_load((PROM / "alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    webhook = receivers["incident-webhook"]["webhook_configs"][0]
    assert webhook["url"] == "http://incident-api.production.svc.cluster.local:8080/webhook/alert"
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["credentials_file"].startswith(
        "/etc/alertmanager/"
    )
    assert "bearer_token_file" not in webhook["http_config"]  # documented as the legacy equivalent


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=Watchdog", "severity=none"], "incident-webhook"),
        (
            ["alertname=KafkaConsumerLagHigh", "severity=critical", "service=email-service"],
            "incident-webhook",
        ),
        (
            ["alertname=IncidentApiDown", "severity=critical", "service=incident-api"],
            "incident-webhook,incident-api-fallback",
        ),
        (
            ["alertname=IncidentApiStaleIncidents", "severity=info", "service=incident-api"],
            "incident-webhook",
        ),
    ],
)
def test_alertmanager_routes(labels: list[str], receivers: str) -> None:
    result = subprocess.run(
        [
            _amtool(),
            "config",
            "routes",
            "test",
            f"--config.file={PROM / 'alertmanager.yml'}",
            *labels,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == receivers, result.stdout + result.stderr


def test_watchdog_route_repeats_often_enough_for_the_heartbeat() -> None:
    config = yaml.safe_load((PROM / "alertmanager.yml").read_text())
    route = next(r for r in config["route"]["routes"] if r["matchers"] == ['alertname="Watchdog"'])
    assert route["receiver"] == "incident-webhook"
    assert route["repeat_interval"] == "1m"  # well inside HEARTBEAT_TIMEOUT_SECONDS (600)


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.strip().lower()
    return re.sub(r"[^a-z0-9 -]", "", text).replace(" ", "-")


def test_every_runbook_link_has_its_section() -> None:
    doc = (ROOT / "docs" / "incident-management.md").read_text()
    anchors = {_slug(line.lstrip("#")) for line in doc.splitlines() if line.startswith("#")}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                url = rule.get("annotations", {}).get("runbook_url")
                if url:
                    assert url.split("#", 1)[1] in anchors, f"{rule['alert']}: {url}"

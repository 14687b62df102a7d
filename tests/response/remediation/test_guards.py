"""Every remediation guard, enforced: mode, allowlists, replica cap, cooldown, per-incident cap."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from tests import dbutil
from tests.fakes.k8s import Deployment
from tests.response.conftest import Peers, Sleeps, insert_incident, load, run_pipelines

ENFORCE: dict[str, Any] = {"REMEDIATION_MODE": "enforce"}


async def _only_action(app: FastAPI, incident_id: str) -> dict[str, Any]:
    [action] = (await load(app, incident_id)).remediation_actions or []
    return action


async def _remediated(app: FastAPI, peers: Peers) -> str:
    """email-service (one replica) alerts: its incident, after the pipeline ran."""
    peers.k8s.add(Deployment("email-service", replicas=1))
    incident_id = await insert_incident(app)
    await run_pipelines(app, incident_id)
    return incident_id


@pytest.mark.parametrize("extra_settings", [{"REMEDIATION_MODE": "off"}])
async def test_mode_off_records_and_changes_nothing(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    incident_id = await _remediated(app, peers)
    assert peers.k8s.patches == []
    assert (await load(app, incident_id)).remediation_actions is None
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]


@pytest.mark.parametrize(
    ("extra_settings", "allowlist"),
    [
        ({**ENFORCE, "REMEDIATION_NAMESPACES": ["staging"]}, "REMEDIATION_NAMESPACES"),
        ({**ENFORCE, "REMEDIATION_TARGETS": ["api-*"]}, "REMEDIATION_TARGETS"),
    ],
)
async def test_outside_an_allowlist_is_blocked(
    app: FastAPI, peers: Peers, sleeps: Sleeps, allowlist: str
) -> None:
    incident_id = await _remediated(app, peers)
    assert peers.k8s.patches == []
    action = await _only_action(app, incident_id)
    assert action["result"] == "blocked"
    assert allowlist in action["error"]
    assert action["success"] is False


@pytest.mark.parametrize("extra_settings", [{**ENFORCE, "REMEDIATION_MAX_REPLICAS": 4}])
async def test_replica_cap_limits_the_scale(app: FastAPI, peers: Peers, sleeps: Sleeps) -> None:
    incident_id = await _remediated(app, peers)
    assert [p.body for p in peers.k8s.patches] == [{"spec": {"replicas": 4}}]
    action = await _only_action(app, incident_id)
    assert (action["from"], action["to"]) == (1, 4)
    assert action["detail"]["capped"] is True


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_cooldown_per_action_and_target_is_shared(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    deployment = peers.k8s.add(Deployment("email-service", replicas=1, auto_ready=False))
    first = await insert_incident(app)
    await run_pipelines(app, first)
    deployment.replicas = 1  # someone scaled it back: the alert fires again
    second = await insert_incident(app)
    await run_pipelines(app, second)
    assert len(peers.k8s.patches) == 1  # the second incident is inside the cooldown
    action = await _only_action(app, second)
    assert action["result"] == "cooldown", action
    assert action["error"].startswith("guard: cooldown until")


@pytest.mark.parametrize("extra_settings", [{**ENFORCE, "REMEDIATION_MAX_ACTIONS_PER_INCIDENT": 0}])
async def test_actions_per_incident_cap(app: FastAPI, peers: Peers, sleeps: Sleeps) -> None:
    incident_id = await _remediated(app, peers)
    assert peers.k8s.patches == []
    action = await _only_action(app, incident_id)
    assert (action["result"], action["error"]) == ("skipped", "guard: cap")


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_missing_deployment_is_a_failed_action_and_escalates(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    incident_id = await insert_incident(app)
    await run_pipelines(app, incident_id)
    action = await _only_action(app, incident_id)
    assert action["result"] == "failure"
    assert "inspect failed" in action["error"]
    assert (await load(app, incident_id)).diagnostics["pods"]["email-service"]["status"] == (
        "NotFound"
    )
    assert [r["event_action"] for r in peers.pagerduty.requests] == ["trigger"]


# --- PostgreSQL: terminate idle-in-transaction sessions, never our own --------------------


@pytest.fixture
def extra_settings(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    params = getattr(request, "param", None)
    if params is not None:
        return params
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nscenarios:\n"
        "  - name: pg\n    alertname: PostgreSQLConnectionsHigh\n    description: test\n"
        "    action: terminate_idle_transactions\n    target: primary\n"
        "    params: {idle_seconds: 0}\n"
        "  - name: logs\n    alertname: DiskSpaceLow\n    description: test\n"
        f"    action: delete_old_logs\n    target: {tmp_path / 'logs'}\n"
        "    params: {older_than_days: 7}\n"
        "  - name: logs-elsewhere\n    alertname: DiskSpaceLow\n    description: test\n"
        f"    action: delete_old_logs\n    target: {tmp_path / 'elsewhere'}\n"
    )
    return {
        **ENFORCE,
        "REMEDIATION_RULES_FILE": str(rules),
        "REMEDIATION_POSTGRES_TARGETS": {"primary": database_url},
        "REMEDIATION_LOG_DIRS": [str(tmp_path / "logs")],
    }


async def _idle_in_transaction(database_url: str, application_name: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(
        dbutil.plain(database_url), server_settings={"application_name": application_name}
    )
    tx = conn.transaction()
    await tx.start()
    await conn.execute("SELECT 1")
    return conn


async def test_terminates_idle_transactions_but_not_the_services_own(
    app: FastAPI, peers: Peers, sleeps: Sleeps, database_url: str
) -> None:
    victim = await _idle_in_transaction(database_url, "batch-job")
    own = await _idle_in_transaction(database_url, "ops-backend")
    try:
        incident_id = await insert_incident(app, "PostgreSQLConnectionsHigh", service="db")
        await run_pipelines(app, incident_id)
        assert await own.fetchval("SELECT 1") == 1  # still alive
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await victim.fetchval("SELECT 1")
        action = await _only_action(app, incident_id)
        assert (action["result"], action["from"], action["to"]) == ("success", 1, 0)
        assert database_url not in str(action)
    finally:
        await own.close()
        victim.terminate()


async def test_deletes_only_old_logs_in_allowlisted_directories(
    app: FastAPI, peers: Peers, sleeps: Sleeps, tmp_path: Path
) -> None:
    logs, elsewhere = tmp_path / "logs", tmp_path / "elsewhere"
    (logs / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    old = time.time() - 30 * 86400
    for path in (logs / "app.log.1", logs / "sub" / "x.log", elsewhere / "old.log"):
        path.write_text("x" * 100)
        os.utime(path, (old, old))
    (logs / "app.log").write_text("fresh")
    outside = tmp_path / "precious.log"
    outside.write_text("keep")
    os.utime(outside, (old, old))
    (logs / "link.log").symlink_to(outside)

    incident_id = await insert_incident(app, "DiskSpaceLow", service="node")
    await run_pipelines(app, incident_id)

    assert sorted(p.name for p in logs.rglob("*")) == ["app.log", "link.log", "sub"]
    assert outside.read_text() == "keep"
    assert (elsewhere / "old.log").exists()
    records = {r["scenario"]: r for r in (await load(app, incident_id)).remediation_actions or []}
    assert records["logs"]["result"] == "success"
    assert (records["logs"]["from"], records["logs"]["to"]) == (2, 0)
    assert records["logs-elsewhere"]["result"] == "blocked"

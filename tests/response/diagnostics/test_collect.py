"""Diagnostics failures are data, bounded in time."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.response.conftest import Peers, Sleeps, insert_incident, load, run_pipelines, timeline


@pytest.mark.parametrize(
    "extra_settings",
    [
        {
            "DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS": 0.3,
            "DIAGNOSTICS_DEPENDENCIES": [
                {"name": "kafka", "kind": "tcp", "target": "127.0.0.1:9"},
                {
                    "name": "postgres",
                    "kind": "postgres",
                    "target": "postgresql://u:hunter2hunter2@127.0.0.1:9/x",
                },
            ],
        }
    ],
)
async def test_provider_failures_are_recorded_as_data(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.hang.add("/apis/apps/v1/")
    try:
        incident_id = await insert_incident(app, "CertificateExpiringSoon", service="api")
        await run_pipelines(app, incident_id)
    finally:
        peers.k8s.hang.clear()
    incident = await load(app, incident_id)
    diagnostics = incident.diagnostics or {}
    assert diagnostics, [(e.kind, e.note) for e in await timeline(app, incident_id)]
    assert diagnostics["errors"]["kubernetes"] == "timeout"
    assert set(diagnostics["errors"]["prometheus"]) == {"availability", "latency_p95", "error_rate"}
    assert diagnostics["dependencies"] == {"kafka": "down", "postgres": "down"}
    assert "hunter2" not in str(diagnostics)
    assert diagnostics["metrics"] == {"availability": None, "latency_p95": None, "error_rate": None}

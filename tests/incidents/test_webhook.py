from __future__ import annotations

import json

import httpx

from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

AM = bearer("ALERTMANAGER")
READ = bearer("VIEWER")


async def _incidents(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    response = await client.get("/incidents", params=params, headers=READ)
    assert response.status_code == 200
    body: list[dict[str, object]] = response.json()
    return body


async def test_v4_payload_creates_one_incident_per_alert(client: httpx.AsyncClient) -> None:
    body = webhook(
        alert("KafkaConsumerLagHigh", fingerprint="aaaa000000000001", severity="critical"),
        alert("DiskSpaceLow", fingerprint="aaaa000000000002", severity="warning", service="db"),
        alert("Chatty", fingerprint="aaaa000000000003", severity="info"),
    )
    response = await client.post("/webhook/alert", json=body, headers=AM)
    assert response.status_code == 200
    answer = response.json()
    assert [r["outcome"] for r in answer["results"]] == ["created"] * 3
    assert len(set(answer["incident_ids"])) == 3
    assert answer["incident_id"] is None
    detail = (await client.get(f"/incidents/{answer['incident_ids'][0]}", headers=READ)).json()
    assert detail["alert_name"] == "KafkaConsumerLagHigh"
    assert detail["priority"] == "P0"
    assert detail["status"] == "open"
    assert detail["service"] == "email-service"
    assert detail["summary"] == "something is wrong"
    assert detail["description"] == "KafkaConsumerLagHigh details"
    assert detail["starts_at"].startswith("2026-01-25T09:00:00.123456")
    assert detail["pipeline_state"] == "pending"
    assert [e["kind"] for e in detail["timeline"]] == ["created"]
    priorities = {i["alert_name"]: i["priority"] for i in await _incidents(client)}
    assert priorities == {"KafkaConsumerLagHigh": "P0", "DiskSpaceLow": "P1", "Chatty": "P2"}


async def test_repeats_update_and_never_duplicate(client: httpx.AsyncClient) -> None:
    first = alert("HighLatency", fingerprint="bbbb000000000001", summary="p95 450ms")
    created = (await client.post("/webhook/alert", json=webhook(first), headers=AM)).json()
    again = alert("HighLatency", fingerprint="bbbb000000000001", summary="p95 900ms")
    for _ in range(3):
        answer = (await client.post("/webhook/alert", json=webhook(again), headers=AM)).json()
        assert answer["results"][0]["outcome"] == "updated"
        assert answer["incident_id"] == created["incident_id"]
    incidents = await _incidents(client)
    assert len(incidents) == 1
    assert incidents[0]["occurrence_count"] == 4
    assert incidents[0]["summary"] == "p95 900ms"


async def test_resolution_and_refire_opens_linked_incident(client: httpx.AsyncClient) -> None:
    fp = "cccc000000000001"
    opened = (
        await client.post("/webhook/alert", json=webhook(alert("Down", fingerprint=fp)), headers=AM)
    ).json()
    resolved_alert = alert(
        "Down", fingerprint=fp, status="resolved", ends_at="2026-01-25T09:30:00Z"
    )
    answer = (await client.post("/webhook/alert", json=webhook(resolved_alert), headers=AM)).json()
    assert answer["results"][0] == {
        "incident_id": opened["incident_id"],
        "fingerprint": fp,
        "outcome": "resolved",
        "reason": None,
    }
    detail = (await client.get(f"/incidents/{opened['incident_id']}", headers=READ)).json()
    assert detail["status"] == "resolved"
    assert detail["resolved_at"].startswith("2026-01-25T09:30:00")
    assert detail["timeline"][-1]["to_status"] == "resolved"
    # Alertmanager re-sends resolved notifications: harmless.
    dup = (await client.post("/webhook/alert", json=webhook(resolved_alert), headers=AM)).json()
    assert dup["results"][0]["outcome"] == "ignored"
    # Still firing with the same startsAt (e.g. a stale resend): the same occurrence.
    same = (
        await client.post("/webhook/alert", json=webhook(alert("Down", fingerprint=fp)), headers=AM)
    ).json()
    assert same["results"][0] == {
        "incident_id": opened["incident_id"],
        "fingerprint": fp,
        "outcome": "updated",
        "reason": None,
    }
    # Fires again later: a new incident pointing at the previous one.
    refire = alert("Down", fingerprint=fp, starts_at="2026-01-25T10:00:00Z")
    new = (await client.post("/webhook/alert", json=webhook(refire), headers=AM)).json()
    assert new["results"][0]["outcome"] == "created"
    assert new["incident_id"] != opened["incident_id"]
    detail = (await client.get(f"/incidents/{new['incident_id']}", headers=READ)).json()
    assert detail["previous_incident_id"] == opened["incident_id"]


async def test_resolved_without_incident_is_recorded_and_ignored(client: httpx.AsyncClient) -> None:
    lone = alert(
        "Ghost", fingerprint="dddd000000000001", status="resolved", ends_at="2026-01-25T09:00:00Z"
    )
    response = await client.post("/webhook/alert", json=webhook(lone), headers=AM)
    assert response.status_code == 200
    assert response.json()["results"][0] == {
        "incident_id": None,
        "fingerprint": "dddd000000000001",
        "outcome": "ignored",
        "reason": None,
    }
    assert await _incidents(client) == []


async def test_mixed_payload_processes_each_alert(client: httpx.AsyncClient) -> None:
    await client.post("/webhook/alert", json=webhook(alert("A", fingerprint="e1")), headers=AM)
    mixed = webhook(
        alert("A", fingerprint="e1", status="resolved", ends_at="2026-01-25T09:10:00Z"),
        alert("B", fingerprint="e2"),
        alert("C", fingerprint="e3", status="resolved", ends_at="2026-01-25T09:10:00Z"),
    )
    answer = (await client.post("/webhook/alert", json=mixed, headers=AM)).json()
    assert [r["outcome"] for r in answer["results"]] == ["resolved", "created", "ignored"]


async def test_single_alert_and_missing_fingerprint(client: httpx.AsyncClient) -> None:
    bare = {
        "labels": {"alertname": "Manual", "severity": "page", "priority": "P1"},
        "annotations": {"summary": "from curl"},
    }
    first = (await client.post("/webhook/alert", json=bare, headers=AM)).json()
    second = (await client.post("/webhook/alert", json=bare, headers=AM)).json()
    assert first["incident_id"] == second["incident_id"]  # label-set fingerprint is stable
    assert second["results"][0]["outcome"] == "updated"
    incident = (await _incidents(client))[0]
    assert incident["priority"] == "P1"  # the priority label beats severity=page
    assert incident["fingerprint"].startswith("sha256:")


async def test_bad_payloads_get_clear_4xx(client: httpx.AsyncClient) -> None:
    cases = [
        (b"not json", 422, "not valid JSON"),
        (b"[]", 422, "JSON object"),
        (b'{"version": "4", "alerts": []}', 422, "alerts"),
        (b'{"alerts": [{"status": "weird", "labels": {}}]}', 422, "status"),
        (b'{"hello": 1}', 422, "expected an Alertmanager webhook"),
    ]
    for raw, status, reason in cases:
        response = await client.post(
            "/webhook/alert", content=raw, headers={**AM, "Content-Type": "application/json"}
        )
        assert response.status_code == status, raw
        assert reason in response.json()["detail"]
    assert await _incidents(client) == []


async def test_body_limit_and_auth(client: httpx.AsyncClient) -> None:
    huge = json.dumps(webhook(alert("Big", summary="x" * (6 * 1024 * 1024)))).encode()
    response = await client.post("/webhook/alert", content=huge, headers=AM)
    assert response.status_code == 413
    assert (await client.post("/webhook/alert", json=webhook(alert("X")))).status_code == 401
    assert (
        await client.post("/webhook/alert", json=webhook(alert("X")), headers=READ)
    ).status_code == 403


async def test_metrics_count_outcomes(client: httpx.AsyncClient) -> None:
    await client.post(
        "/webhook/alert",
        json=webhook(alert("M", fingerprint="f1", severity="critical")),
        headers=AM,
    )
    text = (await client.get("/metrics")).text
    assert 'incidents_total{priority="P0"}' in text
    assert 'incidents_open{priority="P0"} 1.0' in text
    assert 'webhook_alerts_total{outcome="created"}' in text
    assert "webhook_request_duration_seconds_bucket" in text


async def test_hostile_but_valid_values_are_stored_not_refused(client: httpx.AsyncClient) -> None:
    """A value PostgreSQL would refuse must not turn into endless 503s for the whole group."""
    odd = alert(
        "N" * 300,
        fingerprint="nul\u0000print",
        severity="s" * 80,
        service="v" * 150,
        summary="nul \u0000 inside",
        weird="\u0000",
    )
    response = await client.post("/webhook/alert", json=webhook(odd), headers=AM)
    assert response.status_code == 200, response.text
    incident = (await _incidents(client))[0]
    assert len(incident["alert_name"]) == 100
    assert len(incident["service"]) == 100
    assert "\u0000" not in json.dumps(incident)

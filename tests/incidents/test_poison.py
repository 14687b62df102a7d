"""One alert that can never be stored is answered `rejected`; its neighbours are stored (issue 9.3)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

AM = {**bearer("ALERTMANAGER"), "Content-Type": "application/json"}
READ = bearer("VIEWER")


def _raw(document: Any) -> bytes:
    # ensure_ascii keeps a lone surrogate as the escape "\ud800", exactly as a sender would.
    return json.dumps(document).encode()


POISON: list[tuple[str, dict[str, Any], str]] = [
    ("surrogate label value", alert("Bad", fingerprint="p1", weird="x\ud800y"), "UTF-8"),
    ("surrogate label name", alert("Bad", fingerprint="p2", **{"k\udfff": "v"}), "UTF-8"),
    ("surrogate annotation", alert("Bad", fingerprint="p3", summary="\ud83d"), "UTF-8"),
    (
        "overflowing startsAt",
        alert("Bad", fingerprint="p4", starts_at="9999-12-31T23:59:59-23:59"),
        "startsAt",
    ),
    (
        "overflowing endsAt",
        alert("Bad", fingerprint="p5", status="resolved", ends_at="9999-12-31T23:59:59-23:59"),
        "endsAt",
    ),
    ("labels not an object", {"status": "firing", "labels": ["a"]}, "labels"),
    ("deep label value", {"labels": {"alertname": "Deep", "v": [[[[[[[[[[1]]]]]]]]]] * 1}}, ""),
]


@pytest.mark.parametrize(("case", "bad", "reason"), POISON, ids=[p[0] for p in POISON])
async def test_poison_alert_is_rejected_beside_a_good_one(
    client: httpx.AsyncClient, case: str, bad: dict[str, Any], reason: str
) -> None:
    good = alert("Good", fingerprint="good-0001", severity="critical")
    response = await client.post("/webhook/alert", content=_raw(webhook(good, bad)), headers=AM)
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["outcome"] == "created"
    if case == "deep label value":  # nested values are stored as their JSON text: fine
        assert second["outcome"] == "created"
        return
    assert second["outcome"] == "rejected"
    assert second["incident_id"] is None
    assert reason in second["reason"]
    listed = (await client.get("/incidents", headers=READ)).json()
    assert [i["alert_name"] for i in listed] == ["Good"]
    again = await client.post("/webhook/alert", content=_raw(webhook(good, bad)), headers=AM)
    assert [r["outcome"] for r in again.json()["results"]] == ["updated", "rejected"]
    metrics = (await client.get("/metrics")).text
    assert 'webhook_alerts_total{outcome="rejected"}' in metrics


async def test_webhook_of_only_poison_is_a_4xx_with_the_reason(client: httpx.AsyncClient) -> None:
    bad = alert("Bad", fingerprint="p9", weird="\ud800")
    response = await client.post("/webhook/alert", content=_raw(webhook(bad)), headers=AM)
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"]


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("1000-deep JSON", b"[" * 1000 + b"]" * 1000),
        (
            "deep JSON inside an alert",
            b'{"alerts": [{"labels": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}]}",
        ),
        ("deep dict", b'{"a":' * 1000 + b"1" + b"}" * 1000),
        ("4,301-digit integer", b'{"alerts": [{"labels": {"a": ' + b"7" * 4301 + b"}}]}"),
        ("huge truncatedAlerts", b'{"truncatedAlerts": ' + b"9" * 5000 + b', "alerts": []}'),
        ("bare surrogate alert", b'{"labels": {"alertname": "\\ud800"}}'),
        ("invalid UTF-8", b'{"labels": {"alertname": "\xff\xfe"}}'),
    ],
)
async def test_hostile_bodies_are_4xx_with_a_reason(
    client: httpx.AsyncClient, case: str, body: bytes
) -> None:
    response = await client.post("/webhook/alert", content=body, headers=AM)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [b"[" * 1000 + b"]" * 1000, b'{"alert_name": ' + b"7" * 4301 + b"}"],
    ids=["deep", "long-int"],
)
async def test_hostile_bodies_elsewhere_are_4xx(client: httpx.AsyncClient, body: bytes) -> None:
    headers = {**bearer("OPERATOR"), "Content-Type": "application/json"}
    response = await client.post("/incidents", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text

"""Console pages through HTTP: each renders, forms act through the domain services."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.core.http import Attempt
from app.incidents.models import Incident
from app.response.escalation import ledger
from app.response.models import PageCall, PageGroup
from tests.conftest import bearer
from tests.console.helpers import login, page_csrf

OP = bearer("OPERATOR")


async def _incident(client: httpx.AsyncClient, name: str, priority: str) -> str:
    answer = await client.post(
        "/incidents",
        json={
            "alert_name": name,
            "priority": priority,
            "service": "api",
            "summary": f"{name} firing",
        },
        headers=OP,
    )
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


async def test_every_page_renders_with_data(client: httpx.AsyncClient) -> None:
    ids = [
        await _incident(client, n, p)
        for n, p in (("HighLatency", "P1"), ("DiskSpaceLow", "P2"), ("<script>x</script>", "P0"))
    ]
    await client.post(
        "/api/push/messages", json={"push_type": "INFO", "title": "t", "content": "c"}, headers=OP
    )
    await login(client)
    overview = await client.get("/console")
    assert overview.status_code == 200
    assert "<svg" in overview.text
    assert "HighLatency" in overview.text
    assert "<script>x</script>" not in overview.text  # autoescaped
    assert "&lt;script&gt;x&lt;/script&gt;" in overview.text
    listing = await client.get("/console/incidents", params={"priority": "P1"})
    assert "HighLatency" in listing.text
    assert "DiskSpaceLow" not in listing.text
    fragment = await client.get("/console/incidents", params={"priority": "P2", "fragment": "1"})
    assert fragment.text.strip().startswith("<tr")
    assert "DiskSpaceLow" in fragment.text
    assert "<html" not in fragment.text
    for incident_id in ids:
        detail = await client.get(f"/console/incidents/{incident_id}")
        assert detail.status_code == 200
        assert "Why was I paged" in detail.text
    assert (await client.get("/console/incidents/nope")).status_code == 404
    assert (await client.get("/console/tickets")).status_code == 200
    push = await client.get("/console/push")
    assert push.status_code == 200
    assert "Engage emergency stop" in push.text
    css = await client.get("/console/static/console.css")
    assert css.headers["content-type"].startswith("text/css")
    assert (await client.get("/console/static/other.js")).status_code == 404


async def test_acknowledge_then_resolve_with_notes(client: httpx.AsyncClient) -> None:
    incident_id = await _incident(client, "HighErrorRate", "P2")
    await login(client)
    url = f"/console/incidents/{incident_id}"
    csrf = await page_csrf(client, url)
    ack = await client.post(f"{url}/acknowledge", data={"csrf": csrf, "note": "looking at it"})
    assert ack.status_code == 303
    again = await client.post(f"{url}/acknowledge", data={"csrf": csrf, "note": "twice"})
    assert "error=" in again.headers["location"]  # a 409 from the service, shown on the page
    await client.post(f"{url}/resolve", data={"csrf": csrf, "note": "rolled back"})
    detail = (await client.get(f"/incidents/{incident_id}", headers=OP)).json()
    assert detail["status"] == "resolved"
    assert detail["acknowledged_by"] == "operator"
    notes = [(e["kind"], e["note"]) for e in detail["timeline"]]
    assert ("acknowledge", "looking at it") in notes
    assert ("resolve", "rolled back") in notes
    page = await client.get(url)
    assert "looking at it" in page.text
    assert "rolled back" in page.text
    assert ">Reopen<" in page.text.replace("\n", "").replace(" ", "") or "Reopen" in page.text


async def test_ticket_forms_append_contract_lines(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    await login(client)
    csrf = await page_csrf(client, "/console/tickets")
    forms = [
        {"request_type": "REQUEST_RECONCILE", "mode": "INCREMENTAL", "reason": "nightly drift"},
        {
            "request_type": "REQUEST_REPORTS",
            "mode": "REGEN",
            "scope": "PHASE_C_LATEST",
            "reason": "regen",
            "trace_id": "t-9",
        },
        {"request_type": "ACKNOWLEDGE", "message_id": "push_20260103_143000_001"},
    ]
    for form in forms:
        answer = await client.post("/console/tickets", data={"csrf": csrf, **form})
        assert answer.status_code == 303
        assert "done=" in answer.headers["location"]
    bad = await client.post(
        "/console/tickets",
        data={
            "csrf": csrf,
            "request_type": "REQUEST_RECONCILE",
            "mode": "FULL",
            "reason": "x" * 201,
        },
    )
    assert "error=" in bad.headers["location"]
    lines = [
        json.loads(x)
        for x in (data_dir / "state/tickets/ticket_requests.jsonl").read_bytes().splitlines()
    ]
    assert [line["request_type"] for line in lines] == [
        "REQUEST_RECONCILE",
        "REQUEST_REPORTS",
        "ACKNOWLEDGE",
    ]
    assert lines[1]["payload"] == {"mode": "REGEN", "scope": "PHASE_C_LATEST", "reason": "regen"}
    assert lines[1]["trace_id"] == "t-9"
    assert all(line["status"] == "OPEN" for line in lines)
    listing = await client.get("/console/tickets")
    assert all(line["request_id"] in listing.text for line in lines)


async def test_push_acknowledge_files_a_ticket(client: httpx.AsyncClient, data_dir: Path) -> None:
    queued = await client.post(
        "/api/push/messages",
        json={"push_type": "ALERT", "title": "disk", "content": "full"},
        headers=OP,
    )
    message_id = queued.json()["message_id"]
    await login(client)
    csrf = await page_csrf(client, "/console/push")
    answer = await client.post(
        "/console/tickets",
        data={
            "csrf": csrf,
            "request_type": "ACKNOWLEDGE",
            "message_id": message_id,
            "back": "/console/push",
        },
    )
    assert answer.headers["location"].startswith("/console/push?done=")
    [line] = [
        json.loads(x)
        for x in (data_dir / "state/tickets/ticket_requests.jsonl").read_bytes().splitlines()
    ]
    assert line["payload"] == {"message_id": message_id}


async def test_emergency_stop_needs_confirmation_and_blocks_sends(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    csrf = await page_csrf(client, "/console/push")
    unconfirmed = await client.post(
        "/console/push/emergency-stop", data={"csrf": csrf, "engage": "true"}
    )
    assert "error=" in unconfirmed.headers["location"]
    assert (await client.get("/api/push/gates", headers=OP)).json()["emergency_stop"] is False
    await client.post(
        "/console/push/emergency-stop",
        data={"csrf": csrf, "engage": "true", "confirm": "yes", "reason": "drill"},
    )
    gate = (await client.get("/api/push/gates", headers=OP)).json()
    assert gate["emergency_stop"] is True
    assert gate["updated_by"] == "operator"
    sent = await client.post("/console/push/send", data={"csrf": csrf, "confirm": "yes"})
    assert (
        "BLOCKED+EMERGENCY_STOP" in sent.headers["location"]
        or "BLOCKED%20EMERGENCY_STOP" in sent.headers["location"]
    )
    receipts = (await client.get("/api/push/receipts", headers=OP)).json()["items"]
    assert receipts[0]["blocked_reason"] == "EMERGENCY_STOP"
    page = await client.get("/console/push")
    assert "EMERGENCY_STOP" in page.text
    assert "Release emergency stop" in page.text


async def test_only_signed_messages_are_shown(client: httpx.AsyncClient) -> None:
    await login(client)
    spoofed = await client.get(
        "/console", params={"error": "Session expired: log in at evil.example"}
    )
    assert "evil.example" not in spoofed.text
    csrf = await page_csrf(client, "/console/push")
    answer = await client.post(
        "/console/push/emergency-stop", data={"csrf": csrf, "engage": "true"}
    )
    shown = await client.get(answer.headers["location"])
    assert "needs the confirmation box ticked" in shown.text


async def test_held_group_page_shows_on_overview_and_incident(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    incident_id = await _incident(client, "NodeDown", "P0")
    detail = (await client.get(f"/incidents/{incident_id}", headers=OP)).json()
    held_at = datetime(2026, 1, 25, 9, 0, tzinfo=UTC)
    async with app.state.sessionmaker() as session, session.begin():
        key = (await session.get(Incident, incident_id)).page_key  # type: ignore[union-attr]
        assert key is not None, detail
        session.add(
            PageGroup(
                key=key, receiver="direct", group_key=incident_id, pd_priority="P0", held_at=held_at
            )
        )
        session.add(
            PageCall(
                page_key=key,
                episode=0,
                channel="pagerduty",
                event="trigger",
                result="failed",
                http_status=500,
                error_class="HTTPStatusError",
                at=held_at,
            )
        )
    await login(client)
    overview = await client.get("/console")
    assert "P0 NodeDown: 1 active incident(s), held since 2026-01-25 09:00:00" in overview.text
    page = await client.get(f"/console/incidents/{incident_id}")
    assert f"Group page {key[:12]}" in page.text
    assert "Held by the storm budget since 2026-01-25 09:00:00" in page.text
    assert "Last pagerduty call: trigger failed (HTTP 500, HTTPStatusError)." in page.text


def _flat(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html))


async def test_failed_page_calls_show_on_overview_and_incident(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The paging ledger (page_calls, per group) is what the console shows: a group whose
    last PagerDuty call failed is on the overview; one whose retry got through is not."""
    failing = await _incident(client, "PaymentsDown", "P0")
    recovered = await _incident(client, "QueueStuck", "P1")
    at = datetime(2026, 1, 25, 9, 1, tzinfo=UTC)
    async with app.state.sessionmaker() as session, session.begin():
        keys: dict[str, str] = {}
        for incident_id in (failing, recovered):
            incident = await session.get(Incident, incident_id)
            assert incident is not None
            assert incident.page_key is not None
            keys[incident_id] = incident.page_key
        http_500 = Attempt(1, 500, "HTTPStatusError", "HTTP 500 from PagerDuty")
        timeout = Attempt(1, None, "ReadTimeout", "no answer within 10 s")
        ledger.record_call(
            session, keys[failing], 0, "pagerduty", "trigger", "failed", at, http_500
        )
        ledger.record_call(
            session, keys[recovered], 0, "pagerduty", "trigger", "failed", at, timeout
        )
        ledger.record_call(
            session,
            keys[recovered],
            0,
            "pagerduty",
            "trigger",
            "delivered",
            at + timedelta(minutes=1),
            Attempt(2, 202),
        )
    await login(client)
    overview = _flat((await client.get("/console")).text)
    failed = overview.split("<h2>Failed page calls</h2>", 1)[1].split("</section>", 1)[0]
    assert f'<a href="/console/incidents/{failing}">PaymentsDown</a>' in failed
    assert (
        'pagerduty trigger: failed, will be retried <span class="muted">(HTTP 500, HTTPStatusError,'
        in failed
    )
    assert "QueueStuck" not in failed  # its retry was delivered: nothing failing now
    page = _flat((await client.get(f"/console/incidents/{failing}")).text)
    assert (
        "<td>pagerduty</td><td>trigger</td><td>0</td>"
        '<td><span class="state st-failed">failed</span></td><td>500</td>'
        "<td>HTTPStatusError: HTTP 500 from PagerDuty</td>"
    ) in page
    other = _flat((await client.get(f"/console/incidents/{recovered}")).text)
    assert "<td>ReadTimeout: no answer within 10 s</td>" in other
    assert '<span class="state st-delivered">delivered</span></td><td>202</td>' in other

"""Regenerate docs/screenshots/*.png: each console page, seeded with a plausible day of incidents.

Usage: .venv/bin/python scripts/screenshots.py [--server-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database on that server (or a throwaway pgserver when TEST_DATABASE_URL and
--server-url are unset), starts the real service, seeds it through its API (plus a few
backdated timestamps and two groups' pages in the paging ledger, written in SQL), and drives
Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from app.core import migrations  # noqa: E402
from tests import dbutil  # noqa: E402
from tests.conftest import TOKENS, bearer  # noqa: E402
from tests.console.browser import chromium, log_in  # noqa: E402
from tests.service_proc import running_service  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
# Configured, so the pages read as a service that pages; nothing is called (the pipeline is off
# in running_service) and nothing listens on port 9.
PEERS = {
    "PAGERDUTY_ROUTING_KEY": "screenshots-not-a-routing-key",
    "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9/v2/enqueue",
    "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/slack",
}
OP = bearer("OPERATOR")

ALERTS = [
    ("KafkaConsumerLagHigh", "P1", "email-service", "consumer lag 48k messages", 3),
    ("PostgreSQLConnectionsHigh", "P0", "orders-db", "connections at 96% of max", 1),
    ("DiskSpaceLow", "P2", "logging", "/var/log 91% full", 4),
    ("HighLatency", "P1", "checkout", "p95 latency 1.8 s", 2),
    ("PodCrashLooping", "P0", "payments", "payments-7f9c restarted 12 times", 1),
    ("CertificateExpiringSoon", "P2", "edge", "api.example.com expires in 9 days", 1),
    ("HighErrorRate", "P1", "search", "5xx at 4.2%", 2),
]


def seed(base: str, db_url: str) -> dict[str, str]:
    """Incidents, actions, tickets and push traffic through the API; returns ids to show."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=base, headers=OP, timeout=10) as http:
        for name, priority, service, summary, count in ALERTS:
            for n in range(count):
                answer = http.post(
                    "/incidents",
                    json={
                        "alert_name": name,
                        "priority": priority,
                        "service": service,
                        "summary": summary,
                        "description": f"{name} on {service}",
                    },
                )
                answer.raise_for_status()
                ids.setdefault(name, answer.json()["incident_id"])
                ids[f"{name}:{n}"] = answer.json()["incident_id"]
        lag = ids["KafkaConsumerLagHigh"]
        http.post(f"/incidents/{lag}/acknowledge", json={"note": "scaling consumers"})
        for key in ("DiskSpaceLow:1", "HighLatency:1", "HighErrorRate:1", "KafkaConsumerLagHigh:2"):
            http.post(f"/incidents/{ids[key]}/acknowledge", json={"note": "looking"})
            http.post(f"/incidents/{ids[key]}/resolve", json={"note": "fixed"})
        http.post(f"/incidents/{ids['DiskSpaceLow:2']}/close", json={"note": "duplicate"})
        for body in (
            {
                "request_type": "REQUEST_RECONCILE",
                "payload": {"mode": "FULL", "reason": "drift after failover"},
            },
            {
                "request_type": "REQUEST_REPORTS",
                "payload": {
                    "mode": "REGEN",
                    "scope": "PHASE_C_LATEST",
                    "reason": "regen after fix",
                },
            },
            {"request_type": "ACKNOWLEDGE", "payload": {"message_id": "push_20260103_143000_001"}},
        ):
            ticket = http.post("/api/tickets", json=body).json()["request_id"]
            ids.setdefault("ticket", ticket)
        http.post(f"/api/tickets/{ids['ticket']}/status", json={"status": "IN_PROGRESS"})
        http.post(f"/api/tickets/{ids['ticket']}/status", json={"status": "DONE", "note": "ok"})
        for title in ("P0 PodCrashLooping on payments", "Daily report ready"):
            http.post(
                "/api/push/messages",
                json={"push_type": "ALERT", "title": title, "content": f"{title}: see the console"},
            )
        http.post("/api/push/outbox/run")
        http.post("/api/push/self-test")
        http.patch("/api/push/gates", json={"emergency_stop": True, "reason": "maintenance window"})
        http.post("/api/push/send", params={"confirm": "true"})
        http.post(
            "/api/push/incident/send",
            params={
                "confirm": "true",
                "mode": "normal",
                "kind": "OPS_BLOCKED",
                "step": "Step3",
                "reason": "ops summary BLOCKED: emergency stop engaged",
            },
        )
    asyncio.run(_backdate(db_url, ids))
    return ids


BACKDATE = """
UPDATE incidents SET created_at = $2::timestamptz, last_seen_at = $2::timestamptz + interval '10 min',
  acknowledged_at = CASE WHEN acknowledged_at IS NULL THEN NULL
                         ELSE $2::timestamptz + interval '6 min' END,
  resolved_at = CASE WHEN resolved_at IS NULL THEN NULL ELSE $2::timestamptz + interval '48 min' END
WHERE id = $1
"""
DIAGNOSE = """
UPDATE incidents SET status = 'investigating', pipeline_state = 'done',
  diagnostics = $2::jsonb, remediation_actions = $3::jsonb
WHERE id = $1
"""
GROUP = """
INSERT INTO page_groups (key, receiver, group_key, pd_state, pd_priority, pd_count, slack_state,
  last_call_at, due_since, next_attempt_at, attempts, last_error)
SELECT page_key, receiver, group_key, $2, 'P0', $3, $4, $5::timestamptz,
  $6::timestamptz, $7::timestamptz, $8, $9
FROM incidents WHERE id = $1
RETURNING key
"""
DECIDE = "UPDATE incidents SET page_decision = $2 WHERE id = $1"
CALL = """
INSERT INTO page_calls (page_key, episode, channel, event, result, http_status, error_class, error,
  at)
VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8::timestamptz)
"""
DIAGNOSTICS = {
    "pods": {"payments-7f9c": {"ready": "0/1", "status": "CrashLoopBackOff", "restarts": 12}},
    "metrics": {"availability": 0.962, "latency_p95": 1240},
    "dependencies": {"kafka": "up", "postgres": "up", "redis": "down"},
}
REMEDIATION = [
    {
        "action": "delete_pods",
        "target": "payments-7f9c",
        "scenario": "PodCrashLooping",
        "timestamp": "2026-11-26T02:41:10+00:00",
        "success": False,
        "dry_run": True,
        "result": "dry_run",
    },
    {
        "action": "rollout_restart",
        "target": "payments",
        "scenario": "PodCrashLooping",
        "timestamp": "2026-11-26T02:41:11+00:00",
        "success": False,
        "dry_run": False,
        "result": "blocked",
        "error": "guard: target payments not in REMEDIATION_TARGETS",
    },
]


async def _backdate(db_url: str, ids: dict[str, str]) -> None:
    """Spread the incidents over the last day; give one a diagnosis, two a group page."""
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dbutil.plain(db_url))
    try:
        rows = await conn.fetch("SELECT id FROM incidents ORDER BY created_at")
        for n, row in enumerate(rows):
            created = now - timedelta(hours=(n * 37) % 23 + 0.5, minutes=n * 7)
            await conn.execute(BACKDATE, row["id"], created)
        crash = ids["PodCrashLooping"]
        await conn.execute(DIAGNOSE, crash, json.dumps(DIAGNOSTICS), json.dumps(REMEDIATION))
        await _paging(conn, ids, now)
    finally:
        await conn.close()


async def _paging(conn: asyncpg.Connection, ids: dict[str, str], now: datetime) -> None:
    """Two groups' pages as the paging ledger records them (page_groups, page_calls): one
    delivered after a timeout (its Slack post failing), one PagerDuty keeps refusing."""
    ago = [now - timedelta(minutes=m) for m in range(40)]
    crash = await conn.fetchval(
        GROUP, ids["PodCrashLooping"], "triggered", 1, "idle", ago[30], None, None, 0, None
    )
    await conn.execute(DECIDE, ids["PodCrashLooping"], "paged")
    db = await conn.fetchval(
        GROUP,
        ids["PostgreSQLConnectionsHigh"],
        "triggering",
        0,
        "idle",
        None,
        ago[26],
        now + timedelta(minutes=2),
        3,
        "HTTP 503",
    )
    await conn.execute(DECIDE, ids["PostgreSQLConnectionsHigh"], "pending")
    for key, channel, event, result, status, error_class, error, at in (
        (crash, "pagerduty", "trigger", "failed", None, "ReadTimeout", "no answer in 10 s", 31),
        (crash, "pagerduty", "trigger", "delivered", 202, None, None, 30),
        (crash, "slack", "opened", "failed", 500, "HTTPStatusError", "HTTP 500", 30),
        (db, "pagerduty", "trigger", "failed", 503, "HTTPStatusError", "HTTP 503", 26),
        (db, "pagerduty", "trigger", "failed", 503, "HTTPStatusError", "HTTP 503", 18),
        (db, "pagerduty", "trigger", "failed", 503, "HTTPStatusError", "HTTP 503", 2),
    ):
        await conn.execute(CALL, key, channel, event, result, status, error_class, error, ago[at])


def shoot(base: str, ids: dict[str, str]) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    pages = [
        ("overview", "/console"),
        ("incidents", "/console/incidents?status=open&status=investigating"),
        ("incident", f"/console/incidents/{ids['PodCrashLooping']}"),
        ("tickets", "/console/tickets"),
        ("push", "/console/push"),
    ]
    written = []
    with chromium() as browser:
        login = browser.new_context(viewport={"width": 1280, "height": 800})
        page = login.new_page()
        page.goto(f"{base}/console/login")
        written.append(OUT / "login.png")
        page.screenshot(path=str(written[-1]))
        login.close()
        for suffix, viewport, mobile in (
            ("", {"width": 1280, "height": 900}, False),
            ("-phone", {"width": 390, "height": 844}, True),
        ):
            context = browser.new_context(
                viewport=viewport, is_mobile=mobile, device_scale_factor=1
            )
            page = context.new_page()
            log_in(page, base, TOKENS["OPERATOR_TOKEN"])
            for name, path in pages:
                if mobile and name not in ("overview", "incident"):
                    continue
                page.goto(f"{base}{path}")
                written.append(OUT / f"{name}{suffix}.png")
                page.screenshot(path=str(written[-1]), full_page=True)
            context.close()
        viewer = browser.new_context(viewport={"width": 1280, "height": 900})
        page = viewer.new_page()
        log_in(page, base, TOKENS["VIEWER_TOKEN"], f"/console/incidents/{ids['PodCrashLooping']}")
        written.append(OUT / "incident-viewer.png")
        page.screenshot(path=str(written[-1]), full_page=True)
        viewer.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    if args.server_url:
        os.environ["TEST_DATABASE_URL"] = args.server_url
    db_url = dbutil.create_database("ops_screens")
    try:
        migrations.upgrade(db_url)
        with tempfile.TemporaryDirectory(prefix="ops-screens-") as scratch:
            with running_service(db_url, Path(scratch) / "data", env=PEERS) as base:
                ids = seed(base, db_url)
                for path in shoot(base, ids):
                    print(f"wrote {path.relative_to(ROOT)}")
    finally:
        dbutil.drop_database(db_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Live smoke: the real service process with loopback PagerDuty, Slack and Telegram fakes.

A P0 `KafkaConsumerLagHigh` goes in through the webhook; the script prints what the pipeline
did (diagnostics, remediation, escalations, the queued ALERT push), closes the incident and
checks that no secret reached the service log. Exits 1 when an expectation fails.

Usage, from the repository root (uses TEST_DATABASE_URL's server, or pgserver):

    .venv/bin/python -m scripts.smoke_live

Run as a module, it imports the loopback fakes and the service runner from the `tests`
package like any other module of the repository; nothing edits `sys.path`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.core import migrations
from tests import dbutil
from tests.conftest import bearer
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.server import serve_in_thread
from tests.fakes.slack import PATH as SLACK_PATH
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.incidents.payloads import alert, webhook
from tests.service_proc import running_service

BOT_TOKEN = "7512345678:AAFakeTok3n_smoke-live_0123456789abcd"
ROUTING_KEY = "R0UTINGKEYsmoke0123456789abcdef0"


def _wait_pipeline(base: str, incident_id: str) -> dict[str, Any]:
    for _ in range(150):
        incident: dict[str, Any] = httpx.get(
            f"{base}/incidents/{incident_id}", headers=bearer("VIEWER")
        ).json()
        if incident["pipeline_state"] in ("done", "failed"):
            return incident
        time.sleep(0.2)
    raise SystemExit("pipeline did not finish in 30 s")


def main() -> int:
    url = dbutil.create_database("smoke")
    migrations.upgrade(url)
    pagerduty, slack, telegram = FakePagerDuty(), FakeSlack(), FakeTelegram(token=BOT_TOKEN)
    data_dir = Path(tempfile.mkdtemp(prefix="smoke-"))
    failures: list[str] = []
    try:
        with (
            serve_in_thread(pagerduty.app()) as pd_url,
            serve_in_thread(slack.app()) as slack_url,
            serve_in_thread(telegram.app) as tg_url,
        ):
            env = {
                "PIPELINE_ENABLED": "true",
                "PAGERDUTY_EVENTS_URL": f"{pd_url}/v2/enqueue",
                "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
                "SLACK_WEBHOOK_URL": f"{slack_url}{SLACK_PATH}",
                "TELEGRAM_API_BASE": tg_url,
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_CHAT_ID": "-1001234567",
                "PROMETHEUS_URL": "http://127.0.0.1:9",
                "KUBERNETES_API_URL": "http://127.0.0.1:9",
                "PAGE_RESOLVE_DELAY_SECONDS": "0",  # resolve the group's page at once on close
            }
            with running_service(url, data_dir, env=env) as base:
                body = webhook(alert("KafkaConsumerLagHigh", fingerprint="c0ffee0000000001"))
                answer = httpx.post(
                    f"{base}/webhook/alert", json=body, headers=bearer("ALERTMANAGER")
                )
                print("webhook", answer.status_code, answer.json())
                incident_id = answer.json()["incident_id"]
                incident = _wait_pipeline(base, incident_id)
                print("status", incident["status"], "pipeline", incident["pipeline_state"])
                print(
                    "diagnostics errors", sorted((incident["diagnostics"] or {}).get("errors", {}))
                )
                print("remediation", incident["remediation_actions"])
                print("timeline", [(e["kind"], e["actor"]) for e in incident["timeline"]])
                pages = [e["event_action"] for e in pagerduty.requests]
                print("pagerduty", pages)
                messages = httpx.get(f"{base}/api/push/messages", headers=bearer("VIEWER")).json()
                print("push", json.dumps(messages)[:300])
                outbox = httpx.post(f"{base}/api/push/outbox/run", headers=bearer("OPERATOR"))
                print("outbox", outbox.json().get("summary"))
                closed = httpx.post(
                    f"{base}/incidents/{incident_id}/close",
                    json={"actor": "smoke", "note": "smoke test"},
                    headers=bearer("OPERATOR"),
                )
                time.sleep(1)
                print(
                    "close",
                    closed.status_code,
                    "pagerduty",
                    [e["event_action"] for e in pagerduty.requests],
                )
                if pages != ["trigger"] or closed.status_code != 200:
                    failures.append("expected one trigger before close and a 200 close")
                if [e["event_action"] for e in pagerduty.requests] != ["trigger", "resolve"]:
                    failures.append("expected trigger then resolve")
        log = (data_dir / "service.log").read_text()
        for secret in (BOT_TOKEN, BOT_TOKEN.split(":")[1], ROUTING_KEY):
            if secret in log:
                failures.append(f"secret {secret[:6]}… found in the service log")
    finally:
        dbutil.drop_database(url)
    print("FAILED: " + "; ".join(failures) if failures else "smoke OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every line the service prints is JSON through the redactor, at any worker count (issue 9.6)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook
from tests.service_proc import running_service

# Token-shaped, so the redactor must mask it wherever it is logged.
SLACK_SHAPED = "xoxb-1234567890-abcdefghijklmnop"


def test_two_workers_log_json_through_the_redactor(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "svc"
    with running_service(database_url, data_dir, workers=2, env={"LOG_LEVEL": "INFO"}) as base:
        # A rejected alert is logged (WARNING) with its fingerprint: here a token-shaped one.
        bad = alert("Bad", fingerprint=SLACK_SHAPED, starts_at="9999-12-31T23:59:59-23:59")
        body = webhook(alert("Good", fingerprint="worker-logs-1"), bad)
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(6):  # enough for both workers to take some
                answer = client.post("/webhook/alert", json=body, headers=bearer("ALERTMANAGER"))
                assert answer.status_code == 200
    lines = (data_dir / "service.log").read_text().splitlines()
    entries = []
    for line in lines:
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    assert SLACK_SHAPED not in "\n".join(lines)
    started = [e for e in entries if e["msg"].startswith("Application startup complete")]
    assert len(started) == 2, "each worker logs its INFO start-up line"
    assert all(e["level"] == "INFO" for e in started)
    assert len({e["pid"] for e in started}) == 2
    rejected = [e for e in entries if e["msg"].startswith("alert rejected")]
    assert rejected
    assert all(e["fingerprint"] == "[REDACTED]" for e in rejected)

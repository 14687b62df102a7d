"""The real service with 2 workers: every line it prints is JSON through the redactor (issue
9.6), and over a real socket it refuses an unauthenticated 8 MB body without reading it (9.5)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook
from tests.service_proc import running_service

# Token-shaped, so the redactor must mask it wherever it is logged.
SLACK_SHAPED = "xoxb-1234567890-abcdefghijklmnop"


def _unauthenticated_8_mb_post(base: str) -> bytes:
    """Send the headers of an 8 MB POST and only its first 64 KiB; return what comes back."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /incidents HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {8 * 1024 * 1024}\r\n\r\n".encode()
            + b'{"alert_name": "'
            + b"x" * 65536
        )
        # The answer arrives although 8 MB minus 64 KiB were never sent: the body was not awaited.
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def test_two_workers_log_json_through_the_redactor(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "svc"
    with running_service(database_url, data_dir, workers=2, env={"LOG_LEVEL": "INFO"}) as base:
        assert _unauthenticated_8_mb_post(base).startswith(b"HTTP/1.1 401 ")
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

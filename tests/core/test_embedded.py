"""With no DATABASE_URL the service runs on an embedded PostgreSQL whose data survives restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import TOKENS, bearer
from tests.fakes.server import free_port


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.endswith("_TOKEN")}
    env |= {**TOKENS, "DATA_DIR": str(data_dir), "PIPELINE_ENABLED": "false"}
    log = (data_dir / "service.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data_dir,
    )


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], data_dir: Path) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (data_dir / "service.log").read_text()[-3000:]
        try:
            response = httpx.get(f"{base}/health", timeout=1)
            if response.status_code == 200:
                body: dict[str, str] = response.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("embedded service did not become healthy")


def _postgres_running(data_dir: Path) -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any(
        "postgres -D" in line and str(data_dir / "state" / "pgdata") in line
        for line in out.splitlines()
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_embedded_database_starts_persists_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(data_dir, port)
    try:
        assert _wait_healthy(base, proc, data_dir) == {"status": "healthy", "database": "connected"}
        created = httpx.post(
            f"{base}/incidents",
            json={"alert_name": "Persisted", "priority": "P2"},
            headers=bearer("OPERATOR"),
            timeout=5,
        )
        assert created.status_code == 201
    finally:
        _stop(proc)
    assert (data_dir / "state" / "pgdata" / "PG_VERSION").exists()
    assert not _postgres_running(data_dir), "embedded PostgreSQL left running after SIGTERM"

    proc = _start(data_dir, port)
    try:
        _wait_healthy(base, proc, data_dir)
        listed = httpx.get(f"{base}/incidents", headers=bearer("VIEWER"), timeout=5).json()
        assert [i["alert_name"] for i in listed] == ["Persisted"]
    finally:
        _stop(proc)
    log = (data_dir / "service.log").read_text()
    assert "embedded PostgreSQL ready" in log

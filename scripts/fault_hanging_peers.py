"""Peers that hang: Telegram, Slack, PagerDuty, Prometheus and Kubernetes accept the connection
and never answer. Measures (1) webhook latency while the pipelines wait on them, against a
baseline where the peers refuse at once, and (2) that every pipeline still ends: its requests
are bounded by the timeouts, and every connection to the hanging peer is closed by the service.

Usage: .venv/bin/python scripts/fault_hanging_peers.py [--alerts 200] [--concurrency 4]
       [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_webhook import _alert, _send_all, _webhook  # noqa: E402
from benchlib import add_server_url, scratch_database  # noqa: E402

from tests.service_proc import running_service  # noqa: E402

TIMEOUTS = {
    "HTTP_TIMEOUT_SECONDS": "2",
    "HTTP_MAX_ATTEMPTS": "2",
    "HTTP_MAX_RETRY_SECONDS": "4",
    "DIAGNOSTICS_TOTAL_TIMEOUT_SECONDS": "6",
    "DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS": "2",
    "DIAGNOSTICS_PROMETHEUS_TIMEOUT_SECONDS": "2",
    "REMEDIATION_VERIFY_TIMEOUT_SECONDS": "2",
}


class BlackHole:
    """Accepts connections and reads forever, never answering; counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            with self.lock:
                self.accepted += 1
                self.open += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.open -= 1


def _peers(base: str) -> dict[str, str]:
    return {
        "PAGERDUTY_EVENTS_URL": f"{base}/v2/enqueue",
        "PAGERDUTY_ROUTING_KEY": "R0UTINGKEYfake0123456789abcdef",
        "SLACK_WEBHOOK_URL": f"{base}/services/T0/B0/XXXXXXXX",
        "PROMETHEUS_URL": base,
        "KUBERNETES_API_URL": base,
        "TELEGRAM_API_BASE": base,
    }


async def _states(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pipeline_state::text AS s, count(*) AS n FROM incidents GROUP BY 1"
        )
        return {r["s"]: r["n"] for r in rows}
    finally:
        await conn.close()


def _phase(server_url: str, peers: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    with scratch_database(server_url) as (name, db_url):
        env = {"LOG_LEVEL": "WARNING", "PIPELINE_ENABLED": "true", **TIMEOUTS, **peers}
        with running_service(db_url, Path(f"/tmp/{name}"), workers=2, env=env) as base:
            run = uuid.uuid4().hex[:6]
            bodies = [
                _webhook([_alert(n, run=run, severity="critical")]) for n in range(args.alerts)
            ]
            load = os.getloadavg()[0]
            webhook = asyncio.run(_send_all(base, bodies, args.concurrency))
            started = time.monotonic()
            states = asyncio.run(_states(db_url))
            while states.get("pending", 0) + states.get("running", 0) and (
                time.monotonic() - started < args.drain_limit
            ):
                time.sleep(1)
                states = asyncio.run(_states(db_url))
            drained = round(time.monotonic() - started, 1)
        return {
            "webhook": webhook,
            "pipelines_after": states,
            "drain_seconds": drained,
            "loadavg_1m": round(load, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_server_url(parser)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--drain-limit", type=float, default=300)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    results["refusing_peers"] = _phase(args.server_url, _peers("http://127.0.0.1:9"), args)
    hole = BlackHole()
    results["hanging_peers"] = _phase(
        args.server_url, _peers(f"http://127.0.0.1:{hole.port}"), args
    )
    time.sleep(1)
    results["hanging_peers"]["connections_accepted"] = hole.accepted
    results["hanging_peers"]["connections_left_open"] = hole.open
    print(json.dumps({"settings": TIMEOUTS, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Webhook benchmark: alerts/s and latency against the real service (2 workers) on PostgreSQL.

  (a) 20,000 distinct alerts in webhooks of 10, 32 concurrent senders
  (b) 1,000 alerts re-sent 5 times (must leave exactly 1,000 incidents)
  (c) the resolution of those 1,000

Usage: .venv/bin/python scripts/bench_webhook.py [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
It creates (and drops) its own database on that server and starts `ops-backend serve --workers 2`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import benchlib  # noqa: E402

from tests.conftest import TOKENS  # noqa: E402

TOKEN = TOKENS["ALERTMANAGER_TOKEN"]


def _alert(n: int, *, run: str, severity: str, resolved: bool = False) -> dict[str, Any]:
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {
            "alertname": f"Bench{n % 50}",
            "instance": f"host-{n}",
            "severity": severity,
            "service": f"svc-{n % 20}",
            "run": run,
        },
        "annotations": {"summary": f"bench alert {n}", "description": "load test"},
        "startsAt": "2026-11-23T00:00:00Z",
        "endsAt": "2026-11-23T00:05:00Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": f"{run}-{n:08d}",
    }


def _webhook(alerts: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": "bench",
            "truncatedAlerts": 0,
            "status": alerts[0]["status"],
            "receiver": "incident-webhook",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://am",
            "alerts": alerts,
        }
    ).encode()


async def _send_all(base: str, bodies: list[bytes], concurrency: int) -> dict[str, float]:
    # The load generator's own garbage collector must not stall it and inflate the latencies.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        load = await benchlib.keepalive_load(
            base, "POST", "/webhook/alert", TOKEN, bodies, concurrency
        )
    finally:
        gc.enable()
    alerts = sum(len(json.loads(b)["alerts"]) for b in bodies)
    return {
        "webhooks": len(bodies),
        "alerts": alerts,
        "seconds": round(load.wall, 3),
        "alerts_per_s": round(alerts / load.wall),
        "failures": load.failures,
        **benchlib.percentiles(load.latencies, 2),
        "max_ms": round(load.latencies[-1] * 1000, 2),
    }


def _batches(alerts: list[dict[str, Any]], size: int) -> list[bytes]:
    return [_webhook(alerts[i : i + size]) for i in range(0, len(alerts), size)]


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def run(base: str, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    run_a = uuid.uuid4().hex[:6]
    distinct = [_alert(n, run=run_a, severity=args.severity) for n in range(args.alerts)]
    await _send_all(base, _batches(distinct[:500], 10), args.concurrency)  # warm-up, not counted
    results["a_distinct"] = await _send_all(base, _batches(distinct[500:], 10), args.concurrency)

    run_b = uuid.uuid4().hex[:6]
    repeated = [_alert(n, run=run_b, severity=args.severity) for n in range(1000)]
    results["b_resend_x5"] = await _send_all(base, _batches(repeated, 10) * 5, args.concurrency)
    results["b_incidents"] = await _count(
        db_url, f"SELECT count(*) FROM incidents WHERE fingerprint LIKE '{run_b}-%'"
    )

    resolved = [_alert(n, run=run_b, severity=args.severity, resolved=True) for n in range(1000)]
    results["c_resolve"] = await _send_all(base, _batches(resolved, 10), args.concurrency)
    results["c_still_active"] = await _count(
        db_url,
        f"SELECT count(*) FROM incidents WHERE fingerprint LIKE '{run_b}-%' "
        "AND status IN ('open', 'investigating')",
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    benchlib.add_server_url(parser)
    parser.add_argument(
        "--alerts", type=int, default=20_500, help="(a) includes 500 warm-up alerts"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--severity",
        default="info",
        help="info → P2 (no response pipeline); critical → P0 (pipeline queued)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="service setting"
    )
    args = parser.parse_args()

    with benchlib.scratch_database(args.server_url) as (name, db_url):
        env = {"LOG_LEVEL": "WARNING", "DATABASE_POOL_SIZE": "20", "PIPELINE_ENABLED": "true"}
        env.update(item.split("=", 1) for item in args.set)
        results: dict[str, Any] = {}
        with benchlib.measured_service(db_url, name, env, results, workers=args.workers) as base:
            results.update(asyncio.run(run(base, db_url, args)))
        print(
            json.dumps(
                {
                    "workers": args.workers,
                    "concurrency": args.concurrency,
                    "severity": args.severity,
                    "settings": args.set,
                    **results,
                },
                indent=2,
            )
        )
        ok = results["b_incidents"] == 1000 and results["c_still_active"] == 0
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

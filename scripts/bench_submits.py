"""Ticket submits/s (POST /api/tickets) and incident pushes/s (POST /api/push/incident/send in
test mode: recorded, claimed and written, nothing sent) through the real service, 2 workers.

Usage: .venv/bin/python scripts/bench_submits.py [--requests 1000] [--concurrency 8]
       [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from itertools import repeat
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import benchlib  # noqa: E402

from tests.conftest import TOKENS  # noqa: E402

TOKEN = TOKENS["OPERATOR_TOKEN"]
TICKET = json.dumps(
    {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL", "reason": "bench"}}
).encode()
PUSH = "/api/push/incident/send?confirm=true&mode=test&kind=OPS_FAILED&reason=bench&step=Step3"


async def _drive(base: str, path: str, body: bytes, n: int, concurrency: int) -> dict[str, Any]:
    load = await benchlib.keepalive_load(base, "POST", path, TOKEN, repeat(body, n), concurrency)
    return {
        "per_second": round(len(load.latencies) / load.wall),
        **benchlib.percentiles(load.latencies),
        "statuses": load.statuses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    benchlib.add_server_url(parser)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with benchlib.scratch_database(args.server_url) as (name, db_url):
        env = {"LOG_LEVEL": "WARNING", "PIPELINE_ENABLED": "false"}
        results: dict[str, Any] = {}
        with benchlib.measured_service(db_url, name, env, results) as base:
            n, c = args.requests, args.concurrency
            results["ticket_submits"] = asyncio.run(_drive(base, "/api/tickets", TICKET, n, c))
            results["incident_pushes"] = asyncio.run(_drive(base, PUSH, b"", n, c))
        print(json.dumps({"concurrency": args.concurrency, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

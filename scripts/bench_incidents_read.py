"""GET /incidents through HTTP with 1,000,000 incidents in the table: p50/p99 per filter.

Usage: .venv/bin/python scripts/bench_incidents_read.py [--rows 1000000] [--requests 2000]
       [--concurrency 4] [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
Creates (and drops) a scratch database, fills it like scripts/explain_incidents.py, starts
`ops-backend serve --workers 2` and reads with keep-alive connections as the viewer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from itertools import repeat
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import benchlib  # noqa: E402
from explain_incidents import FILL  # noqa: E402

from tests.conftest import TOKENS  # noqa: E402

TOKEN = TOKENS["VIEWER_TOKEN"]
PATHS = {
    "newest 50": "/incidents?limit=50",
    "status=open": "/incidents?status=open&limit=50",
    "priority=P0": "/incidents?priority=P0&limit=50",
    "alert_name": "/incidents?alert_name=Alert7&limit=50",
    "service": "/incidents?service=svc-3&limit=50",
}


async def _drive(base: str, path: str, requests: int, concurrency: int) -> dict[str, Any]:
    load = await benchlib.keepalive_load(
        base, "GET", path, TOKEN, repeat(b"", requests), concurrency
    )
    return {
        "requests/s": round(len(load.latencies) / load.wall),
        **benchlib.percentiles(load.latencies),
        "failures": load.failures,
    }


async def _fill(url: str, rows: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(FILL, rows)
        await conn.execute("ANALYZE incidents")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    benchlib.add_server_url(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with benchlib.scratch_database(args.server_url) as (name, db_url):
        started = time.perf_counter()
        asyncio.run(_fill(db_url, args.rows))
        fill_seconds = round(time.perf_counter() - started, 1)
        env = {"LOG_LEVEL": "WARNING", "PIPELINE_ENABLED": "false"}
        results: dict[str, Any] = {"rows": args.rows, "fill_seconds": fill_seconds}
        with benchlib.measured_service(db_url, name, env, results) as base:
            for label, path in PATHS.items():
                asyncio.run(_drive(base, path, 100, args.concurrency))  # warm-up
                results[label] = asyncio.run(_drive(base, path, args.requests, args.concurrency))
        print(json.dumps({"concurrency": args.concurrency, **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from explain_incidents import FILL  # noqa: E402

from app.core import migrations  # noqa: E402
from tests.conftest import TOKENS  # noqa: E402
from tests.service_proc import rss_mb, running_service, service_pids  # noqa: E402

TOKEN = TOKENS["VIEWER_TOKEN"]
PATHS = {
    "newest 50": "/incidents?limit=50",
    "status=open": "/incidents?status=open&limit=50",
    "priority=P0": "/incidents?priority=P0&limit=50",
    "alert_name": "/incidents?alert_name=Alert7&limit=50",
    "service": "/incidents?service=svc-3&limit=50",
}


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    )
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _drive(base: str, path: str, requests: int, concurrency: int) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    failures = 0
    left = requests

    async def worker() -> None:
        nonlocal left, failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while left > 0:
                left -= 1
                started = time.perf_counter()
                failures += await _get(reader, writer, path) != 200
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests/s": round(len(latencies) / wall),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "failures": failures,
    }


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fill(url: str, rows: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(FILL, rows)
        await conn.execute("ANALYZE incidents")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(args.server_url, f'CREATE DATABASE "{name}"'))
    db_url = urlunsplit(urlsplit(args.server_url)._replace(path=f"/{name}"))
    try:
        migrations.upgrade(db_url)
        started = time.perf_counter()
        asyncio.run(_fill(db_url, args.rows))
        fill_seconds = round(time.perf_counter() - started, 1)
        env = {"LOG_LEVEL": "WARNING", "PIPELINE_ENABLED": "false"}
        results: dict[str, Any] = {"rows": args.rows, "fill_seconds": fill_seconds}
        load_before = os.getloadavg()[0]
        with running_service(db_url, Path(f"/tmp/{name}"), workers=2, env=env) as base:
            for label, path in PATHS.items():
                asyncio.run(_drive(base, path, 100, args.concurrency))  # warm-up
                results[label] = asyncio.run(_drive(base, path, args.requests, args.concurrency))
            results["rss_mb_per_worker"] = [round(rss_mb(p)) for p in service_pids(base)[1]]
        results["loadavg_1m_before_after"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        print(json.dumps({"concurrency": args.concurrency, **results}, indent=2))
    finally:
        asyncio.run(_admin(args.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())

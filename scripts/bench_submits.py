"""Ticket submits/s (POST /api/tickets) and incident pushes/s (POST /api/push/incident/send in
test mode: recorded, claimed and written, nothing sent) through the real service, 2 workers.

Usage: .venv/bin/python scripts/bench_submits.py [--requests 1000] [--concurrency 8]
       [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
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

from app.core import migrations  # noqa: E402
from tests.conftest import TOKENS  # noqa: E402
from tests.service_proc import rss_mb, running_service, service_pids  # noqa: E402

TOKEN = TOKENS["OPERATOR_TOKEN"]
TICKET = json.dumps(
    {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL", "reason": "bench"}}
).encode()
PUSH = "/api/push/incident/send?confirm=true&mode=test&kind=OPS_FAILED&reason=bench&step=Step3"


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes
) -> int:
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _drive(base: str, path: str, body: bytes, n: int, concurrency: int) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    left = n

    async def worker() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while left > 0:
                left -= 1
                started = time.perf_counter()
                status = await _post(reader, writer, path, body)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "per_second": round(len(latencies) / wall),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "statuses": statuses,
    }


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
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
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(args.server_url, f'CREATE DATABASE "{name}"'))
    db_url = urlunsplit(urlsplit(args.server_url)._replace(path=f"/{name}"))
    try:
        migrations.upgrade(db_url)
        env = {"LOG_LEVEL": "WARNING", "PIPELINE_ENABLED": "false"}
        results: dict[str, Any] = {}
        load_before = os.getloadavg()[0]
        with running_service(db_url, Path(f"/tmp/{name}"), workers=2, env=env) as base:
            n, c = args.requests, args.concurrency
            results["ticket_submits"] = asyncio.run(_drive(base, "/api/tickets", TICKET, n, c))
            results["incident_pushes"] = asyncio.run(_drive(base, PUSH, b"", n, c))
            results["rss_mb_per_worker"] = [round(rss_mb(p)) for p in service_pids(base)[1]]
        results["loadavg_1m_before_after"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        print(json.dumps({"concurrency": args.concurrency, **results}, indent=2))
    finally:
        asyncio.run(_admin(args.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())

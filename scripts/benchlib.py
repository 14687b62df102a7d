"""What the benchmark and fault scripts share: the scratch database, a keep-alive HTTP/1.1 load
loop and the latency summary. Import it after putting the repository root on sys.path."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.core import migrations
from tests.service_proc import rss_mb, running_service, service_pids


def add_server_url(parser: argparse.ArgumentParser) -> None:
    """--server-url: the PostgreSQL server the scratch databases are made on."""
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def scratch_database(server_url: str) -> Iterator[tuple[str, str]]:
    """A new, migrated database on the server: yields (name, url); dropped on exit."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    db_url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        migrations.upgrade(db_url)
        yield name, db_url
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def measured_service(
    db_url: str, name: str, env: dict[str, str], results: dict[str, Any], workers: int = 2
) -> Iterator[str]:
    """`ops-backend serve` on the scratch database; yields its base URL and, when the block
    ends, adds rss_mb_per_worker and loadavg_1m_before_after to results."""
    load_before = os.getloadavg()[0]
    with running_service(db_url, Path(f"/tmp/{name}"), workers=workers, env=env) as base:
        yield base
        results["rss_mb_per_worker"] = [round(rss_mb(p)) for p in service_pids(base)[1]]
    results["loadavg_1m_before_after"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]


async def _request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    token: str,
    body: bytes,
) -> int:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
    if method != "GET":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write((head + "\r\n").encode() + body)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


@dataclass
class Load:
    latencies: list[float]  # seconds, sorted
    statuses: dict[int, int]
    wall: float  # seconds

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


async def keepalive_load(
    base: str, method: str, path: str, token: str, bodies: Iterable[bytes], concurrency: int
) -> Load:
    """Send each body over `concurrency` keep-alive connections (a minimal HTTP/1.1 client:
    httpx costs more CPU per request than the server)."""
    host, port = base.removeprefix("http://").split(":")
    pending = iter(bodies)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (body := next(pending, None)) is not None:
                started = time.perf_counter()
                status = await _request(reader, writer, method, path, token, body)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return Load(latencies, statuses, wall)


def percentiles(latencies: list[float], digits: int = 1) -> dict[str, float]:
    """p50 and p99 in ms of sorted latencies in seconds."""
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, digits),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, digits),
    }

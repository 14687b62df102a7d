"""Dependency checks (TCP, HTTP, PostgreSQL) -> `up`/`down` with latency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx

from app.core.redact import error_text


async def _tcp(target: str, timeout: float) -> None:
    host, _, port = target.rpartition(":")
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    writer.close()
    await writer.wait_closed()


async def _http(client: httpx.AsyncClient, target: str, timeout: float) -> None:
    response = await client.get(target, timeout=timeout)
    if response.status_code >= 500:
        raise RuntimeError(f"HTTP {response.status_code}")


async def _postgres(target: str, timeout: float) -> None:
    conn = await asyncpg.connect(
        target, timeout=timeout, server_settings={"application_name": "ops-backend-diagnostics"}
    )
    try:
        await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout)
    finally:
        await conn.close()


async def check(client: httpx.AsyncClient, spec: dict[str, str], timeout: float) -> dict[str, Any]:
    """One check; its error text is redacted (a DSN carries a password)."""
    kind, target = spec.get("kind", "tcp"), spec.get("target", "")
    started = time.perf_counter()
    try:
        if kind == "tcp":
            await _tcp(target, timeout)
        elif kind == "http":
            await _http(client, target, timeout)
        elif kind == "postgres":
            await _postgres(target, timeout)
        else:
            raise ValueError(f"unknown dependency kind {kind!r}")
    except Exception as exc:  # any failure of a peer is the answer "down", never a crash
        detail = error_text(exc, 300, extra_secrets=[target])
        return {"status": "down", "latency_ms": None, "kind": kind, "error": detail}
    latency = round((time.perf_counter() - started) * 1000, 1)
    return {"status": "up", "latency_ms": latency, "kind": kind}


async def diagnose(
    client: httpx.AsyncClient, specs: list[dict[str, str]], timeout: float
) -> dict[str, dict[str, Any]]:
    """All checks concurrently, each bounded by `timeout`."""

    async def bounded(spec: dict[str, str]) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(check(client, spec, timeout), timeout + 0.5)
        except TimeoutError:
            return {"status": "down", "latency_ms": None, "error": "timeout"}

    results = await asyncio.gather(*(bounded(s) for s in specs))
    return {
        spec.get("name", f"dep{i}"): r
        for i, (spec, r) in enumerate(zip(specs, results, strict=True))
    }

"""The response pipeline under a storm of P0 incidents (default 1,000), 2 workers on PostgreSQL.

Alertmanager-style groups of a few critical alerts (group_by alertname, cluster, service; one
webhook per group, receiver `pagerduty-critical`) are sent by concurrent senders to the real
`ops-backend serve` with PIPELINE_ENABLED=true, every peer a fast loopback fake from tests/fakes
(PagerDuty, Slack, Kubernetes with a deployment and pods per service, Telegram) plus a minimal
Prometheus query API, all served by a child process (scripts/stormlib.py). For each alert the
client records the wall time (time.time()) its webhook was answered and the incident id it
returned; the service's own timeline (incident_events.at: PostgreSQL now(), the writing
transaction's start, UTC wall time) gives when diagnostics were done (`diagnostics`) and when
the page was decided (the first of `page_paged`, `page_merged`, `page_held`, `page_damped`,
`page_skipped`; `page_pending` is not a decision). It waits (up to --drain-limit seconds) until
every incident's pipeline is `done` and its page decided, then prints one JSON document:
counts, p50/p99/max of webhook → diagnostics and webhook → page decision (also per decision, and
split into the wait for a runner and the run itself), the drain time, service CPU and RSS per
worker, what each peer received and the paging ledger. Exits 1 when an incident was lost (not
created, pipeline not done, or no page decision).

Usage: .venv/bin/python scripts/bench_pipeline_storm.py [--incidents 1000] [--concurrency 16]
       [--max-group 8] [--set NAME=VALUE ...] [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
It creates (and drops) its own database on that server and starts `ops-backend serve --workers 2`.
Settings not set here are the service's defaults (PAGE_BUDGET 10 per 300 s: most groups are held).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import benchlib  # noqa: E402
from stormlib import SERVICES, fake_peers, storm  # noqa: E402

from app.core.settings import Settings  # noqa: E402
from tests.conftest import TOKENS  # noqa: E402
from tests.service_proc import service_pids  # noqa: E402

TOKEN = TOKENS["ALERTMANAGER_TOKEN"]
DECISIONS = ["page_paged", "page_merged", "page_held", "page_damped", "page_skipped"]
REPORTED = [
    "PIPELINE_CONCURRENCY",
    "PIPELINE_SWEEP_INTERVAL_SECONDS",
    "PAGE_BUDGET",
    "PAGE_BUDGET_WINDOW_SECONDS",
    "PAGE_UPDATE_INTERVAL_SECONDS",
    "REMEDIATION_MODE",
    "DATABASE_POOL_SIZE",
    "HTTP_TIMEOUT_SECONDS",
]


async def send(
    base: str, bodies: list[bytes], concurrency: int
) -> tuple[dict[str, float], list[float]]:
    """POST every webhook over `concurrency` keep-alive connections: ({incident id: the wall
    time its webhook was answered}, each webhook's latency in s, sorted). A non-200 answer or
    an alert not created is fatal."""
    pending = iter(bodies)
    answered: dict[str, float] = {}
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def sender() -> None:
            while (body := next(pending, None)) is not None:
                asked = time.time()
                response = await client.post("/webhook/alert", content=body, headers=headers)
                at = time.time()
                latencies.append(at - asked)
                if response.status_code != 200:
                    raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
                for result in response.json()["results"]:
                    if result["outcome"] != "created" or not result["incident_id"]:
                        raise RuntimeError(f"alert not created: {result}")
                    answered[result["incident_id"]] = at

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return answered, sorted(latencies)


# --- the database's record -------------------------------------------------------------------
PROGRESS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE pipeline_state = 'done') AS done,
       count(*) FILTER (WHERE pipeline_state = 'failed') AS failed,
       count(*) FILTER (WHERE page_decision IS NOT NULL AND page_decision <> 'pending') AS decided
FROM incidents WHERE fingerprint LIKE $1
"""
PER_INCIDENT = """
SELECT i.id, i.pipeline_state::text AS state, i.page_decision,
       (SELECT min(e.at) FROM incident_events e
        WHERE e.incident_id = i.id AND e.kind = 'diagnostics') AS diagnosed_at,
       (SELECT min(e.at) FROM incident_events e
        WHERE e.incident_id = i.id AND e.kind = 'pipeline_started') AS started_at,
       (SELECT e.data->>'owner' FROM incident_events e
        WHERE e.incident_id = i.id AND e.kind = 'pipeline_started'
        ORDER BY e.id DESC LIMIT 1) AS owner,
       (SELECT min(e.at) FROM incident_events e
        WHERE e.incident_id = i.id AND e.kind = 'pipeline_done') AS done_at,
       d.kind AS first_decision, d.at AS decided_at
FROM incidents i
LEFT JOIN LATERAL (
  SELECT e.kind, e.at FROM incident_events e
  WHERE e.incident_id = i.id AND e.kind = ANY($2::text[]) ORDER BY e.at, e.id LIMIT 1
) d ON true
WHERE i.fingerprint LIKE $1
"""


async def progress(db_url: str, run: str) -> dict[str, int]:
    conn = await asyncpg.connect(db_url)
    try:
        return dict(await conn.fetchrow(PROGRESS, f"{run}-%"))
    finally:
        await conn.close()


async def record(db_url: str, run: str) -> tuple[list[asyncpg.Record], dict[str, Any]]:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(PER_INCIDENT, f"{run}-%", DECISIONS)
        calls = await conn.fetch(
            "SELECT channel || ':' || event || ':' || result AS k, count(*) AS n "
            "FROM page_calls GROUP BY 1 ORDER BY 1"
        )
        groups = await conn.fetchrow(
            "SELECT count(*) AS groups, count(*) FILTER (WHERE held_at IS NOT NULL) AS held, "
            "count(*) FILTER (WHERE pd_state <> 'idle') AS paged FROM page_groups"
        )
        ledger = {"page_calls": {r["k"]: r["n"] for r in calls}, "page_groups": dict(groups)}
        return rows, ledger
    finally:
        await conn.close()


def span(
    rows: list[asyncpg.Record], answered: dict[str, float], end: str, begin: str | None = None
) -> dict[str, Any]:
    """p50/p99/max in ms from each incident's webhook answer (or its `begin` column) to its
    `end` column, over the rows that have both."""
    values = sorted(
        r[end].timestamp() - (answered[r["id"]] if begin is None else r[begin].timestamp())
        for r in rows
        if r[end] is not None and (begin is None or r[begin] is not None)
    )
    if not values:
        return {"n": 0}
    return {"n": len(values), **benchlib.percentiles(values), "max_ms": round(values[-1] * 1e3, 1)}


def cpu_seconds(pids: list[int]) -> list[float]:
    """utime + stime of each process, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    out = []
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out.append((int(fields[11]) + int(fields[12])) / tick)
    return out


def drain(db_url: str, run: str, n: int, limit: float) -> bool:
    """Poll until every pipeline ended and every page is decided: False after `limit` s."""
    deadline = time.time() + limit
    state = asyncio.run(progress(db_url, run))
    while state["done"] + state["failed"] < n or state["decided"] < n:
        if time.time() > deadline:
            print(
                f"TIMEOUT after {limit:.0f} s: {state['done']} of {n} pipelines done, "
                f"{state['failed']} failed, {state['decided']} pages decided",
                file=sys.stderr,
            )
            return False
        time.sleep(1)
        state = asyncio.run(progress(db_url, run))
    return True


def figures(
    rows: list[asyncpg.Record], answered: dict[str, float], started: float
) -> dict[str, Any]:
    by_id = {r["id"]: r for r in rows}
    lost = [
        i
        for i in answered
        if i not in by_id or by_id[i]["state"] != "done" or by_id[i]["decided_at"] is None
    ]
    first = Counter(r["first_decision"] or "none" for r in rows)
    ends = [r["done_at"].timestamp() for r in rows if r["done_at"]]
    last = max([*ends, *(r["decided_at"].timestamp() for r in rows if r["decided_at"])])
    return {
        "incidents": len(answered),
        "pipelines_done": sum(r["state"] == "done" for r in rows),
        "pipelines_failed": sum(r["state"] == "failed" for r in rows),
        "diagnosed": sum(r["diagnosed_at"] is not None for r in rows),
        "first_page_decision": dict(first),
        "page_decision_now": dict(Counter(r["page_decision"] or "none" for r in rows)),
        "pipelines_per_worker": sorted(Counter(r["owner"] for r in rows).values()),
        "webhook_to_diagnostics_done": span(rows, answered, "diagnosed_at"),
        "webhook_to_page_decision": span(rows, answered, "decided_at"),
        "webhook_to_page_decision_by_kind": {
            kind: span([r for r in rows if r["first_decision"] == kind], answered, "decided_at")
            for kind in DECISIONS
            if first.get(kind)
        },
        "webhook_to_pipeline_started": span(rows, answered, "started_at"),
        "pipeline_started_to_page_decision": span(rows, answered, "decided_at", "started_at"),
        "pipeline_started_to_done": span(rows, answered, "done_at", "started_at"),
        "drain_seconds": round(last - started, 1),
        "lost": len(lost),
        "lost_sample": [
            {k: by_id[i][k] for k in ("id", "state", "page_decision")}
            if i in by_id
            else {"id": i, "state": "missing"}
            for i in lost[:5]
        ],
    }


def measure(base: str, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    bodies = storm(args.incidents, args.max_group, run, args.seed)
    workers = service_pids(base)[1]
    cpu = [cpu_seconds(workers)]
    started = time.time()
    answered, latencies = asyncio.run(send(base, bodies, args.concurrency))
    sent = time.time()
    cpu.append(cpu_seconds(workers))
    drained = drain(db_url, run, len(answered), args.drain_limit)
    cpu.append(cpu_seconds(workers))
    rows, ledger = asyncio.run(record(db_url, run))
    return {
        "webhooks": len(bodies),
        "alerts_per_webhook_mean": round(len(answered) / len(bodies), 2),
        "send_seconds": round(sent - started, 2),
        "webhook_latency": {
            **benchlib.percentiles(latencies),
            "max_ms": round(latencies[-1] * 1e3),
        },
        "drained_within_limit": drained,
        **figures(rows, answered, started),
        "service_cpu_s_per_worker": {
            "while_sending": [round(b - a, 1) for a, b in zip(cpu[0], cpu[1], strict=True)],
            "after_sending_until_drained": [
                round(b - a, 1) for a, b in zip(cpu[1], cpu[2], strict=True)
            ],
        },
        "ledger": ledger,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    benchlib.add_server_url(parser)
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent senders")
    parser.add_argument("--max-group", type=int, default=8, help="alerts per group: 1..this")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--drain-limit", type=float, default=600, help="seconds to wait for the pipelines"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="service setting"
    )
    args = parser.parse_args()

    results: dict[str, Any] = {}
    with (
        fake_peers(SERVICES) as (peers, peer_counts),
        benchlib.scratch_database(args.server_url) as (name, db_url),
    ):
        env = {
            "LOG_LEVEL": "WARNING",
            "DATABASE_POOL_SIZE": "20",
            "PIPELINE_ENABLED": "true",
            "REMEDIATION_TARGETS": json.dumps(SERVICES),
            **peers,
        }
        env.update(item.split("=", 1) for item in args.set)
        with benchlib.measured_service(db_url, name, env, results, workers=args.workers) as base:
            results.update(measure(base, db_url, args))
        results["peers_received"] = peer_counts()
    defaults = Settings.model_fields
    settings = {k: env.get(k, defaults[k].default) for k in REPORTED}
    print(
        json.dumps(
            {
                "workers": args.workers,
                "concurrency": args.concurrency,
                "max_group": args.max_group,
                "settings": settings,
                "overrides": args.set,
                **results,
            },
            indent=2,
            default=str,
        )
    )
    if results["lost"]:
        print(f"FAILED: {results['lost']} incident(s) lost (see lost_sample)", file=sys.stderr)
    return 1 if results["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())

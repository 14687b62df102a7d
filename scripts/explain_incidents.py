"""EXPLAIN the incident read queries on 1,000,000 incidents: every one must use an index.

Usage: .venv/bin/python scripts/explain_incidents.py [--rows 1000000]
           [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
Creates a scratch database, migrates it, fills it with generate_series, prints the plan of
every GET /incidents filter and of the webhook ingest statement (its custom and its generic
plan, each rolled back), exits 1 if any plan reads the incidents table sequentially.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import add_server_url  # noqa: E402

from app.core import migrations  # noqa: E402
from app.core.db import INGEST_PLANNER  # noqa: E402
from app.incidents.ingest import INGEST_PARAMS, INGEST_SQL  # noqa: E402
from app.incidents.models import Incident, IncidentStatus, Priority  # noqa: E402
from app.incidents.service import IncidentFilter, _filtered  # noqa: E402

FILL = """
INSERT INTO incidents (id, alert_name, priority, status, created_at, updated_at, last_seen_at,
                       fingerprint, service, summary, labels, annotations, resolved_at, starts_at)
SELECT gen_random_uuid()::text,
       'Alert' || (n % 500),
       (ARRAY['P0','P1','P2'])[1 + n % 3]::incident_priority,
       CASE WHEN n % 100 = 0 THEN 'open' WHEN n % 100 = 1 THEN 'investigating'
            WHEN n % 5 = 0 THEN 'closed' ELSE 'resolved' END::incident_status,
       now() - (n || ' seconds')::interval, now(), now(),
       'fp-' || n, 'svc-' || (n % 200), 'summary ' || n, '{}'::jsonb, '{}'::jsonb,
       CASE WHEN n % 100 > 1 THEN now() END, now() - (n || ' seconds')::interval
FROM generate_series(1, $1) AS n
"""


def _sql(query: object) -> str:
    compiled = query.compile(  # type: ignore[attr-defined]
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def _queries(rows: int) -> dict[str, str]:
    now = datetime.now(UTC)
    base = IncidentFilter([], [], None, None, None, None)
    order = (Incident.created_at.desc(), Incident.id.desc())

    def listing(f: IncidentFilter) -> str:
        return _sql(_filtered(select(Incident), f).order_by(*order).limit(101))

    return {
        "all, newest first": listing(base),
        "status=open": listing(IncidentFilter([IncidentStatus.OPEN], [], None, None, None, None)),
        "status=open&status=investigating": listing(
            IncidentFilter(
                [IncidentStatus.OPEN, IncidentStatus.INVESTIGATING], [], None, None, None, None
            )
        ),
        "priority=P0": listing(IncidentFilter([], [Priority.P0], None, None, None, None)),
        "since=1h ago": listing(IncidentFilter([], [], now - timedelta(hours=1), None, None, None)),
        "alert_name=Alert7": listing(IncidentFilter([], [], None, None, "Alert7", None)),
        "service=svc-3": listing(IncidentFilter([], [], None, None, None, "svc-3")),
        "open + P0 + since 1d": listing(
            IncidentFilter(
                [IncidentStatus.OPEN], [Priority.P0], now - timedelta(days=1), None, None, None
            )
        ),
        "next page (cursor halfway down)": _sql(
            select(Incident)
            .where(
                tuple_(Incident.created_at, Incident.id)
                < tuple_(now - timedelta(seconds=rows // 2), "ffffffff-ffff-ffff-ffff-ffffffffffff")
            )
            .order_by(*order)
            .limit(101)
        ),
    }


def _ingest_values(same_starts_at: datetime) -> dict[str, object]:
    """One webhook of every kind of alert against the filled rows (`fp-N` is row N).

    fp-100 is open and fires again (updated, 3 copies), fp-201 is investigating and resolves,
    fp-15 (resolved) fires again with its own startsAt (same occurrence: counted), fp-25
    (closed) fires again with a new startsAt (new incident linked to it), four new
    fingerprints fire (created), one unknown fingerprint resolves (ignored), plus one heartbeat.
    """
    alerts = [  # (fingerprint, firing, copies)
        ("fp-100", True, 3),
        ("fp-15", True, 1),
        ("fp-201", False, 1),
        ("fp-25", True, 1),
        *((f"fp-new-{n}", True, 1) for n in range(4)),
        ("fp-new-9", False, 1),
    ]
    count = len(alerts)
    now = datetime.now(UTC)
    columns: dict[str, object] = {
        "ord": list(range(count)),
        "new_id": [str(uuid.uuid4()) for _ in alerts],
        "fp": [fp for fp, _, _ in alerts],
        "firing": [firing for _, firing, _ in alerts],
        "alert_name": ["Alert7"] * count,
        "priority": ["P2"] * count,
        "severity": ["warning"] * count,
        "service": ["svc-3"] * count,
        "summary": ["summary"] * count,
        "description": [None] * count,
        "labels": ["{}"] * count,
        "annotations": ["{}"] * count,
        "generator_url": [None] * count,
        "starts_at": [same_starts_at if fp == "fp-15" else now for fp, _, _ in alerts],
        "ends_at": [None if firing else now for _, firing, _ in alerts],
        "pipeline": ["none"] * count,
        "copies": [copies for _, _, copies in alerts],
        "group_key": ['{}:{alertname="Alert7"}'] * count,
        "receiver": ["incident-webhook"] * count,
        "page_key": [None] * count,
        "hb_receiver": ["incident-webhook"],
        "hb_alert": ["Watchdog"],
        "hb_n": [1],
        "now": now,
        "source": "alertmanager",
    }
    missing = set(INGEST_PARAMS) - set(columns)
    if missing:  # the statement grew a parameter this sample does not know yet
        raise SystemExit(f"explain_incidents: no sample value for {sorted(missing)}")
    return columns


async def main(server_url: str, rows: int) -> int:
    name = f"explain_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        conn = await asyncpg.connect(url)
        started = time.monotonic()
        await conn.execute(FILL, rows)
        await conn.execute("ANALYZE incidents")
        print(f"filled {rows} incidents in {time.monotonic() - started:.1f}s\n")
        bad = []
        for title, sql in _queries(rows).items():
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"))
            print(f"== {title}\n{plan}\n")
            if "Seq Scan on incidents" in plan:
                bad.append(title)
        values = _ingest_values(
            await conn.fetchval("SELECT starts_at FROM incidents WHERE fingerprint = 'fp-15'")
        )
        alerts = len(cast(list[int], values["ord"]))
        # A first run's custom plan, and the cached generic plan the ingest pool runs.
        for mode, planner in (
            ("auto", {"plan_cache_mode": "auto"}),
            ("ingest pool", INGEST_PLANNER),
        ):
            # EXPLAIN ANALYZE really writes: each run is rolled back, the table stays as filled.
            tx = conn.transaction()
            await tx.start()
            try:
                for setting, value in planner.items():
                    await conn.execute(f"SET LOCAL {setting} = {value}")
                plan = "\n".join(
                    r[0]
                    for r in await conn.fetch(
                        f"EXPLAIN (ANALYZE, COSTS OFF) {INGEST_SQL}",
                        *(values[k] for k in INGEST_PARAMS),
                    )
                )
            finally:
                await tx.rollback()
            print(f"== webhook ingest ({alerts} alerts, {mode}: {planner})")
            print(f"{plan}\n")
            if "Seq Scan on incidents" in plan:
                bad.append(f"webhook ingest ({mode})")
        await conn.close()
        print("sequential scans in:", bad or "none")
        return 1 if bad else 0
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_server_url(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.server_url, args.rows)))

"""EXPLAIN the incident read queries on 1,000,000 incidents: every one must use an index.

Usage: .venv/bin/python scripts/explain_incidents.py [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
Creates a scratch database, migrates it, fills it with generate_series, prints each plan,
exits 1 if any plan reads the incidents table sequentially.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import add_server_url  # noqa: E402

from app.core import migrations  # noqa: E402
from app.incidents.ingest import INGEST_PARAMS, INGEST_SQL  # noqa: E402
from app.incidents.models import Incident, IncidentStatus, Priority  # noqa: E402
from app.incidents.service import IncidentFilter, _filtered  # noqa: E402

FILL = """
INSERT INTO incidents (id, alert_name, priority, status, created_at, updated_at, last_seen_at,
                       fingerprint, service, summary, labels, annotations, resolved_at)
SELECT gen_random_uuid()::text,
       'Alert' || (n % 500),
       (ARRAY['P0','P1','P2'])[1 + n % 3]::incident_priority,
       CASE WHEN n % 100 = 0 THEN 'open' WHEN n % 100 = 1 THEN 'investigating'
            WHEN n % 5 = 0 THEN 'closed' ELSE 'resolved' END::incident_status,
       now() - (n || ' seconds')::interval, now(), now(),
       'fp-' || n, 'svc-' || (n % 200), 'summary ' || n, '{}'::jsonb, '{}'::jsonb,
       CASE WHEN n % 100 > 1 THEN now() END
FROM generate_series(1, $1) AS n
"""


def _sql(query: object) -> str:
    compiled = query.compile(  # type: ignore[attr-defined]
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def _queries() -> dict[str, str]:
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
        "next page (cursor)": _sql(
            select(Incident)
            .where(
                tuple_(Incident.created_at, Incident.id)
                < tuple_(now - timedelta(days=3), "ffffffff-ffff-ffff-ffff-ffffffffffff")
            )
            .order_by(*order)
            .limit(101)
        ),
    }


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
        for title, sql in _queries().items():
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"))
            print(f"== {title}\n{plan}\n")
            if "Seq Scan on incidents" in plan:
                bad.append(title)
        values = {name: [] for name in INGEST_PARAMS}
        values |= {
            "fp": [f"fp-{n}" for n in range(10, 20)],
            "ord": list(range(10)),
            "now": datetime.now(UTC),
            "source": "alertmanager",
        }
        for key in INGEST_PARAMS:
            if not values[key] and key not in ("now", "source"):
                values[key] = [None] * 10
        values["firing"] = [True] * 10
        values["new_id"] = [str(uuid.uuid4()) for _ in range(10)]
        values["alert_name"] = ["X"] * 10
        values["priority"] = ["P2"] * 10
        values["labels"] = values["annotations"] = ["{}"] * 10
        values["pipeline"] = ["none"] * 10
        async with conn.transaction():
            plan = "\n".join(
                r[0]
                for r in await conn.fetch(
                    f"EXPLAIN (ANALYZE, COSTS OFF) {INGEST_SQL}",
                    *(values[k] for k in INGEST_PARAMS),
                )
            )
            print(f"== webhook ingest (10 alerts)\n{plan}\n")
            if "Seq Scan on incidents" in plan:
                bad.append("webhook ingest")
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

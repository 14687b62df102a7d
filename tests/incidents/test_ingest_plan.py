"""The webhook statement stays an index probe with a plan cached while the table was empty.

Pooled connections keep their prepared statements for hours, and PostgreSQL switches a statement
to a generic plan after a few runs. A generic plan made on a new, empty `incidents` table once
chose sequential scans, so every webhook read the whole table: ingest slowed down as the table
grew (4,900 → 840 alerts/s within 25 s in scripts/bench_webhook.py's storm).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import asyncpg

from app.core.db import INGEST_PLANNER, driver_connection, make_ingest_engine
from app.core.settings import Settings
from app.incidents.alertmanager import ParsedAlert, parse_payload
from app.incidents.ingest import ingest_alerts
from tests.incidents.payloads import alert, webhook


async def _ingest(conn: asyncpg.Connection, run: str, *, firing: bool, count: int = 5) -> None:
    status = "firing" if firing else "resolved"
    body = webhook(
        *(alert(f"Plan{n}", fingerprint=f"{run}-{n}", status=status) for n in range(count))
    )
    alerts = [
        a for a in parse_payload(json.dumps(body).encode(), {}, "P2") if isinstance(a, ParsedAlert)
    ]
    await ingest_alerts(conn, alerts, now=datetime.now(UTC), pipeline_priorities=["P0"])


async def test_a_plan_cached_on_an_empty_table_never_scans_it(
    database_url: str, clean_db: None
) -> None:
    conn = await asyncpg.connect(database_url, server_settings=INGEST_PLANNER)
    filler = await asyncpg.connect(database_url)
    plans: list[str] = []
    try:
        await _ingest(conn, "empty", firing=True)  # the plan is made and cached here
        await filler.execute(
            """INSERT INTO incidents (id, alert_name, priority, fingerprint, page_key)
               SELECT gen_random_uuid()::text, 'Filler', 'P2', 'filler-' || n, 'k'
               FROM generate_series(1, 3000) AS n"""
        )
        await conn.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
            "SET client_min_messages = log"
        )
        conn.add_log_listener(lambda _c, message: plans.append(message.message))
        await _ingest(conn, "full", firing=True)
        await _ingest(conn, "full", firing=False)
    finally:
        await conn.close()
        await filler.close()
    ingest_plans = [p for p in plans if "Insert on incidents" in p]
    assert len(ingest_plans) == 2, plans
    for plan in ingest_plans:
        assert "Seq Scan on incidents" not in plan, plan
        assert "Bitmap Heap Scan on incidents" not in plan, plan


async def test_no_step_matches_every_alert_of_a_payload_against_every_other(
    database_url: str, clean_db: None
) -> None:
    """Repeating, resolving and re-firing 100 alerts in one statement stays linear.

    Resolving went through a nested loop that compared every alert with every other (9,900
    rows removed by its join filter for 100 alerts; a batch of 500 is 250,000)."""
    conn = await asyncpg.connect(database_url, server_settings=INGEST_PLANNER)
    plans: list[str] = []
    try:
        await _ingest(conn, "big", firing=True, count=100)
        await conn.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
            "SET auto_explain.log_analyze = on; SET client_min_messages = log"
        )
        conn.add_log_listener(lambda _c, message: plans.append(message.message))
        await _ingest(conn, "big", firing=True, count=100)  # repeated
        await _ingest(conn, "big", firing=False, count=100)  # resolved
        await _ingest(conn, "big", firing=True, count=100)  # the same occurrence, counted
    finally:
        await conn.close()
    ingest_plans = [p for p in plans if "Insert on incidents" in p]
    assert len(ingest_plans) == 3, plans
    for plan in ingest_plans:
        removed = [int(n) for n in re.findall(r"Rows Removed by Join Filter: (\d+)", plan)]
        assert max(removed, default=0) <= 100, plan


async def test_the_ingest_pool_runs_cached_generic_plans(settings: Settings) -> None:
    engine = make_ingest_engine(settings)
    try:
        async with driver_connection(engine) as conn:
            for name, value in INGEST_PLANNER.items():
                assert await conn.fetchval(f"SHOW {name}") == value
    finally:
        await engine.dispose()

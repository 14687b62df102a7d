"""Alerts → incidents in one round trip: a multi-row upsert keyed on the active fingerprint.

One statement per webhook, whatever its size: arrays are unnested into an
`INSERT … ON CONFLICT (fingerprint) WHERE status IN ('open','investigating')`, resolutions
and timeline rows ride in the same statement. The partial unique index is what makes two
replicas receiving the same group agree on one incident.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.incidents.alertmanager import ParsedAlert, page_key
from app.incidents.schemas import AlertOutcome as Outcome

_INGEST_SQL = """
WITH input AS (
  SELECT * FROM unnest(
    CAST(:ord AS int[]), CAST(:new_id AS text[]), CAST(:fp AS text[]), CAST(:firing AS bool[]),
    CAST(:alert_name AS text[]), CAST(:priority AS text[]), CAST(:severity AS text[]),
    CAST(:service AS text[]), CAST(:summary AS text[]), CAST(:description AS text[]),
    CAST(:labels AS text[]), CAST(:annotations AS text[]), CAST(:generator_url AS text[]),
    CAST(:starts_at AS timestamptz[]), CAST(:ends_at AS timestamptz[]), CAST(:pipeline AS text[]),
    CAST(:copies AS int[]), CAST(:group_key AS text[]), CAST(:receiver AS text[]),
    CAST(:page_key AS text[])
  ) AS t(ord, new_id, fp, firing, alert_name, priority, severity, service, summary, description,
         labels, annotations, generator_url, starts_at, ends_at, pipeline, copies, group_key,
         receiver, page_key)
),
beats AS (
  -- The dead man's switch (Watchdog): never an incident, one row per receiver refreshed.
  INSERT INTO heartbeats AS h (receiver, alert_name, first_seen_at, last_seen_at, beats)
  SELECT b.receiver, b.alert_name, :now, :now, b.n
  FROM unnest(CAST(:hb_receiver AS text[]), CAST(:hb_alert AS text[]), CAST(:hb_n AS int[]))
       AS b(receiver, alert_name, n)
  ON CONFLICT (receiver) DO UPDATE
  SET last_seen_at = GREATEST(h.last_seen_at, EXCLUDED.last_seen_at),
      alert_name = EXCLUDED.alert_name, beats = h.beats + EXCLUDED.beats
  RETURNING 1
),
probe AS (
  -- Per alert, what the table holds for its fingerprint: the latest incident and the active
  -- one. Each is an index probe whatever the table's statistics were when a connection cached
  -- the plan (a plan cached on an empty table must not scan it when it is large), and each
  -- row carries its alert's columns, so no later step joins two sets of alerts: such a join
  -- can become a nested loop that compares every alert with every other (quadratic in a batch
  -- of 500; tests/incidents/test_ingest_plan.py).
  SELECT input.*, l.id AS latest_id, l.status AS latest_status,
         l.starts_at AS latest_starts_at, a.id AS active_id, a.status AS active_status
  FROM input
  LEFT JOIN LATERAL (
    SELECT i.id, i.status::text AS status, i.starts_at FROM incidents i
    WHERE i.fingerprint = input.fp ORDER BY i.created_at DESC, i.id DESC LIMIT 1
  ) l ON true
  LEFT JOIN LATERAL (
    SELECT i.id, i.status::text AS status FROM incidents i
    WHERE i.fingerprint = input.fp AND i.status IN ('open', 'investigating') LIMIT 1
  ) a ON true
),
same_occurrence AS (
  -- Still firing with the startsAt of an incident already resolved/closed: the same
  -- occurrence (e.g. remediated, or closed by an operator), so count it, never reopen.
  SELECT p.ord, p.copies, p.latest_id AS id FROM probe p
  WHERE p.firing AND p.active_id IS NULL AND p.latest_status IN ('resolved', 'closed')
    AND p.starts_at IS NOT NULL AND p.latest_starts_at = p.starts_at
),
resolving AS (
  -- Tested on the status rather than the id: the planner then expects few rows here and
  -- resolves them through the primary key, one probe each.
  SELECT p.active_id AS id, p.active_status AS status, p.ends_at FROM probe p
  WHERE NOT p.firing AND p.active_status IN ('open', 'investigating')
),
upserted AS (
  INSERT INTO incidents AS i (
    id, alert_name, priority, status, summary, description, fingerprint, service, severity,
    source, labels, annotations, generator_url, starts_at, last_seen_at, previous_incident_id,
    pipeline_state, occurrence_count, created_at, updated_at, group_key, receiver, page_key)
  SELECT p.new_id, p.alert_name, CAST(p.priority AS incident_priority), 'open', p.summary,
         p.description, p.fp, p.service, p.severity, :source, CAST(p.labels AS jsonb),
         CAST(p.annotations AS jsonb), p.generator_url, p.starts_at, :now, p.latest_id,
         CAST(p.pipeline AS incident_pipeline_state), p.copies, :now, :now, p.group_key,
         p.receiver, p.page_key
  FROM probe p
  WHERE p.firing AND p.ord NOT IN (SELECT ord FROM same_occurrence)
  -- In fingerprint order: concurrent statements take the unique index's entries in one order
  -- and cannot deadlock on them.
  ORDER BY p.ord
  ON CONFLICT (fingerprint) WHERE status IN ('open', 'investigating')
  DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at,
                occurrence_count = i.occurrence_count + EXCLUDED.occurrence_count,
                annotations = EXCLUDED.annotations,
                summary = EXCLUDED.summary,
                description = EXCLUDED.description,
                stale = false,
                updated_at = EXCLUDED.updated_at
  RETURNING i.id, i.fingerprint AS fp, (i.xmax = 0) AS inserted, i.occurrence_count
),
touched AS (
  UPDATE incidents i SET last_seen_at = :now, occurrence_count = i.occurrence_count + s.copies,
                         updated_at = :now
  FROM same_occurrence s WHERE i.id = s.id
  RETURNING i.id, i.fingerprint AS fp
),
resolved AS (
  UPDATE incidents i SET status = 'resolved', resolved_at = COALESCE(r.ends_at, :now),
                         last_seen_at = :now, updated_at = :now, stale = false
  FROM resolving r
  -- Re-checked on the row as locked (another statement may have resolved it since the probe),
  -- as text: as an enum test it matches the partial index of active incidents, and a plan
  -- cached on a small table then scans every active incident once per alert.
  WHERE i.id = r.id AND i.status::text IN ('open', 'investigating')
  RETURNING i.id, i.fingerprint AS fp, i.resolved_at, r.status AS from_status
),
ignored_new AS (
  INSERT INTO ignored_alerts (received_at, fingerprint, alert_name, reason, labels, ends_at)
  SELECT :now, p.fp, p.alert_name, 'resolved_without_incident', CAST(p.labels AS jsonb),
         p.ends_at
  FROM probe p WHERE NOT p.firing AND p.latest_id IS NULL
  RETURNING 1
),
events AS (
  INSERT INTO incident_events (incident_id, at, kind, actor, from_status, to_status, data)
  SELECT u.id, :now, CASE WHEN u.inserted THEN 'created' ELSE 'repeated' END, :source, NULL,
         CASE WHEN u.inserted THEN 'open' END,
         CASE WHEN u.inserted THEN NULL
              ELSE jsonb_build_object('occurrence_count', u.occurrence_count) END
  FROM upserted u
  UNION ALL
  SELECT t.id, :now, 'repeated_after_resolution', :source, NULL, NULL, NULL FROM touched t
  UNION ALL
  SELECT r.id, :now, 'resolved', :source, r.from_status, 'resolved',
         jsonb_build_object('resolved_at', r.resolved_at)
  FROM resolved r
  RETURNING 1
)
-- What happened to each alert, by fingerprint; `ignored` rows (rank 1) only stand for an alert
-- that nothing else answers for (resolved without an active incident to resolve).
SELECT u.fp, u.id AS incident_id,
       CASE WHEN u.inserted THEN 'created' ELSE 'updated' END AS outcome, 0 AS rank
FROM upserted u
UNION ALL
SELECT t.fp, t.id, 'updated', 0 FROM touched t
UNION ALL
SELECT r.fp, r.id, 'resolved', 0 FROM resolved r
UNION ALL
SELECT p.fp, COALESCE(p.active_id, p.latest_id), 'ignored', 1 FROM probe p WHERE NOT p.firing
"""


def _positional(sql: str) -> tuple[str, list[str]]:
    """Turn `:name` parameters into asyncpg's `$n`, returning the order of names."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, sql), names


INGEST_SQL, INGEST_PARAMS = _positional(_INGEST_SQL)


@dataclass(frozen=True, slots=True)
class IngestResult:
    incident_id: str | None
    fingerprint: str | None
    outcome: Outcome
    priority: str | None
    pipeline: bool
    reason: str | None = None  # why a `rejected` alert can never be stored


def rejected(fingerprint: str | None, reason: str) -> IngestResult:
    """The answer for an alert that can never be stored (never retried, never a 503)."""
    return IngestResult(None, fingerprint, "rejected", None, False, reason)


async def ingest_alerts(
    conn: Any,
    alerts: list[ParsedAlert],
    *,
    now: datetime,
    pipeline_priorities: list[str],
    source: str = "alertmanager",
    heartbeat_alertname: str | None = None,
) -> list[IngestResult]:
    """Upsert every alert in one statement on an asyncpg connection, in the caller's transaction.

    Alerts named `heartbeat_alertname` refresh their receiver's heartbeat row instead (in the
    same statement) and are answered `heartbeat`.
    """
    beats = Counter(
        (a.receiver, a.alert_name)
        for a in alerts
        if a.alert_name == heartbeat_alertname and a.firing
    )
    beat_rows = sorted(beats.items())  # one name, so one row per receiver, in one lock order
    incident_alerts = [a for a in alerts if a.alert_name != heartbeat_alertname]
    # ON CONFLICT cannot touch one row twice per statement: the last alert per fingerprint
    # speaks for all its copies in this payload.
    representative: dict[str, int] = {a.fingerprint: n for n, a in enumerate(incident_alerts)}
    copies = Counter(a.fingerprint for a in incident_alerts)  # each copy is one more notification
    # Sorted by fingerprint so concurrent webhooks lock rows in one order (no deadlocks).
    chosen = sorted(
        (incident_alerts[n] for n in representative.values()), key=lambda a: a.fingerprint
    )
    columns: dict[str, list[object]] = {
        "ord": list(range(len(chosen))),
        "new_id": [str(uuid.uuid4()) for _ in chosen],
        "fp": [a.fingerprint for a in chosen],
        "firing": [a.firing for a in chosen],
        "alert_name": [a.alert_name for a in chosen],
        "priority": [a.priority for a in chosen],
        "severity": [a.severity for a in chosen],
        "service": [a.service for a in chosen],
        "summary": [a.summary for a in chosen],
        "description": [a.description for a in chosen],
        "labels": [json.dumps(a.labels, ensure_ascii=False) for a in chosen],
        "annotations": [json.dumps(a.annotations, ensure_ascii=False) for a in chosen],
        "generator_url": [a.generator_url for a in chosen],
        "starts_at": [a.starts_at for a in chosen],
        "ends_at": [a.ends_at for a in chosen],
        "pipeline": ["pending" if a.priority in pipeline_priorities else "none" for a in chosen],
        "copies": [copies[a.fingerprint] for a in chosen],
        "group_key": [a.group_key for a in chosen],
        "receiver": [a.receiver for a in chosen],
        "page_key": [page_key(a.receiver, a.group_key) for a in chosen],
        "hb_receiver": [receiver for (receiver, _), _ in beat_rows],
        "hb_alert": [name for (_, name), _ in beat_rows],
        "hb_n": [n for _, n in beat_rows],
    }
    values = {**columns, "now": now, "source": source}
    rows = await conn.fetch(INGEST_SQL, *(values[name] for name in INGEST_PARAMS))
    by_fp: dict[str, tuple[str | None, Outcome]] = {}
    for row in sorted(rows, key=lambda r: -r["rank"]):  # rank 0 (what was done) wins
        by_fp[row["fp"]] = (row["incident_id"], row["outcome"])
    results = []
    seen: set[str] = set()
    for alert in alerts:
        if alert.alert_name == heartbeat_alertname:
            results.append(
                IngestResult(None, alert.fingerprint, "heartbeat", alert.priority, pipeline=False)
            )
            continue
        incident_id, outcome = by_fp[alert.fingerprint]
        if alert.fingerprint in seen and outcome == "created":
            outcome = "updated"  # a later copy of an alert created earlier in this statement
        seen.add(alert.fingerprint)
        results.append(
            IngestResult(
                incident_id=incident_id,
                fingerprint=alert.fingerprint,
                outcome=outcome,
                priority=alert.priority,
                pipeline=outcome == "created" and alert.priority in pipeline_priorities,
            )
        )
    return results

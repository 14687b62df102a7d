"""One page per Alertmanager group, through the real webhook and pipeline, with the loopback
PagerDuty and Slack fakes: a 50-alert group, a 300-group storm under the budget, a flapping
alert, the heartbeat, and the delivery ledger that says why."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from app.core.clock import FixedClock
from app.core.maintenance import run_jobs as maintenance_once
from app.incidents.alertmanager import page_key
from app.response.escalation import groups, paging
from app.response.escalation.groups import STORM_KEY
from app.response.escalation.queries import held_pages
from app.response.models import Delivery, PageCall
from app.response.runner import PipelineRunner
from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook
from tests.response.conftest import (
    IDLE_LIMIT,
    Peers,
    dedup_key_of,
    insert_incident,
    load,
    timeline,
)

AM = bearer("ALERTMANAGER")
OPERATOR = bearer("OPERATOR")
RECEIVER = "incident-webhook"


async def settle(app: FastAPI) -> None:
    runner: PipelineRunner = app.state.pipeline_runner
    await asyncio.wait_for(runner.wait_idle(), IDLE_LIMIT)


async def sweep(app: FastAPI) -> None:
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.sweep_once()
    await settle(app)


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/webhook/alert", json=body, headers=AM)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def group(name: str) -> str:
    return f'{{}}:{{alertname="{name}"}}'


def dedup_keys(peers: Peers, action: str = "trigger") -> set[str]:
    return {r["dedup_key"] for r in peers.pagerduty.events(action)}


async def test_a_50_alert_group_is_one_page_one_slack_post_and_one_resolve(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, clock: FixedClock, record_property: Any
) -> None:
    alerts = [
        alert("KubePodNotReady", fingerprint=f"pod{n:013d}", pod=f"web-{n}", node="node-7")
        for n in range(50)
    ]
    answer = await post(client, webhook(*alerts, group_key=group("NodeDown"), receiver=RECEIVER))
    assert [r["outcome"] for r in answer["results"]] == ["created"] * 50
    await settle(app)
    await sweep(app)

    key = page_key(RECEIVER, group("NodeDown"))
    assert dedup_keys(peers) == {key}
    triggers = len(peers.pagerduty.events("trigger"))
    assert 1 <= triggers <= 3  # the trigger, at most one update per minute
    assert len(peers.pagerduty.incidents) == 1
    assert len(peers.slack.requests) == 1
    assert "KubePodNotReady" in peers.slack.requests[0]["text"]
    decisions = [(await load(app, i)).page_decision for i in answer["incident_ids"]]
    assert set(decisions) <= {"paged", "merged"}
    assert "paged" in decisions

    ended = clock.now().isoformat()
    resolved = [{**a, "status": "resolved", "endsAt": ended} for a in alerts[:49]]
    await post(client, webhook(*resolved, group_key=group("NodeDown"), receiver=RECEIVER))
    clock.advance(timedelta(seconds=120))
    await sweep(app)
    assert peers.pagerduty.events("resolve") == []  # one of the 50 still fires
    await post(
        client,
        webhook(
            {**alerts[49], "status": "resolved", "endsAt": clock.now().isoformat()},
            group_key=group("NodeDown"),
            receiver=RECEIVER,
        ),
    )
    await sweep(app)  # quiet now; resolved after PAGE_RESOLVE_DELAY_SECONDS
    assert peers.pagerduty.events("resolve") == []
    clock.advance(timedelta(seconds=61))
    await sweep(app)
    await sweep(app)
    assert [r["dedup_key"] for r in peers.pagerduty.events("resolve")] == [key]
    assert peers.pagerduty.open_incidents() == []
    assert len(peers.slack.requests) == 2  # opened, resolved
    assert "RESOLVED" in peers.slack.requests[1]["text"]
    record_property("pagerduty_calls", len(peers.pagerduty.requests))
    record_property("pagerduty_triggers_while_firing", triggers)
    record_property("slack_posts", len(peers.slack.requests))


@pytest.mark.parametrize("extra_settings", [{"PIPELINE_CONCURRENCY": 16}])
async def test_a_storm_of_300_groups_pages_10_and_one_storm_page_then_the_rest_in_order(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, clock: FixedClock, record_property: Any
) -> None:
    names = [f"Storm{n:03d}" for n in range(300)]
    for n, name in enumerate(names):
        body = webhook(alert(name, fingerprint=f"st{n:014d}"), group_key=group(name))
        await post(client, body)
    await settle(app)
    await sweep(app)

    first_window = dedup_keys(peers)
    assert STORM_KEY in first_window
    assert len(first_window - {STORM_KEY}) == 10
    assert len(peers.pagerduty.incidents) == 11
    [storm] = [i for i in peers.pagerduty.incidents if i.dedup_key == STORM_KEY]
    assert "Alert storm" in storm.summaries[0]
    async with app.state.sessionmaker() as session:
        held = await held_pages(session)
        assert len(held) == 290
        ledger = await session.scalar(
            select(text("count(*)")).select_from(Delivery).where(Delivery.state == "held")
        )
    assert ledger == 290
    metrics = (await client.get("/metrics")).text
    assert "pages_held 290.0" in metrics
    assert 'page_decisions_total{decision="held"}' in metrics
    incident = await load(app, held[0].incident_ids[0])
    assert incident.page_decision == "held"
    assert any(e.kind == "page_held" for e in await timeline(app, incident.id))
    record_property("first_window_group_pages", len(first_window - {STORM_KEY}))
    record_property("first_window_storm_pages", 1)
    record_property("held", len(held))

    windows = 0
    while held:
        clock.advance(timedelta(seconds=301))
        await sweep(app)
        windows += 1
        async with app.state.sessionmaker() as session:
            before, held = len(held), await held_pages(session)
        assert before - len(held) == min(10, before)  # within the budget each window
        assert windows < 40
    opened = [i.dedup_key for i in peers.pagerduty.incidents if i.dedup_key != STORM_KEY]
    assert len(opened) == len(set(opened)) == 300
    clock.advance(timedelta(seconds=61))  # the storm page resolves once nothing is held
    await sweep(app)
    assert storm.status == "resolved"
    record_property("windows_to_page_the_rest", windows)


P1_PAGES = {"ESCALATION_PAGERDUTY": {"P0": "immediate", "P1": "immediate", "P2": "never"}}


@pytest.mark.parametrize("extra_settings", [{**P1_PAGES, "PAGE_BUDGET": 2}])
async def test_held_pages_go_out_in_priority_order_and_p0_never_waits_behind_p1(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, clock: FixedClock
) -> None:
    async def fire(name: str, severity: str) -> None:
        fingerprint = f"{name.lower():0<16}"[:16]
        await post(
            client,
            webhook(alert(name, fingerprint=fingerprint, severity=severity), group_key=group(name)),
        )
        await settle(app)

    for name in ("WarnA", "WarnB", "WarnC"):
        await fire(name, "warning")  # P1: two paged, the third held
    for name in ("CritD", "CritE"):
        await fire(name, "critical")  # P0: held, the window's budget is spent
    keys = {
        n: page_key(RECEIVER, group(n))
        for n in ("WarnA", "WarnB", "WarnC", "CritD", "CritE", "WarnF")
    }
    assert dedup_keys(peers) == {keys["WarnA"], keys["WarnB"], STORM_KEY}

    clock.advance(timedelta(seconds=301))
    await fire("WarnF", "warning")  # a new window, but P0s are held: this P1 waits behind them
    assert keys["WarnF"] not in dedup_keys(peers)
    await sweep(app)
    assert dedup_keys(peers) - {STORM_KEY} == {
        keys[n] for n in ("WarnA", "WarnB", "CritD", "CritE")
    }
    clock.advance(timedelta(seconds=301))
    await sweep(app)
    order = list(dict.fromkeys(r["dedup_key"] for r in peers.pagerduty.events("trigger")))
    assert [k for k in order if k != STORM_KEY] == [
        keys[n] for n in ("WarnA", "WarnB", "CritD", "CritE", "WarnC", "WarnF")
    ]


@pytest.mark.parametrize("extra_settings", [P1_PAGES])
async def test_a_p1_group_that_gains_a_p0_escalates_and_the_ledger_says_why(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers
) -> None:
    name = group("DiskPressure")
    first = await post(
        client,
        webhook(
            alert("DiskPressure", fingerprint="esc0000000000001", severity="warning"),
            group_key=name,
        ),
    )
    await settle(app)
    second = await post(
        client,
        webhook(
            alert("DiskPressure", fingerprint="esc0000000000002", severity="critical"),
            group_key=name,
        ),
    )
    await settle(app)
    [incident] = peers.pagerduty.incidents
    assert incident.severities == ["error", "critical"]  # the P0 escalated the same page
    assert incident.summaries[-1].endswith("(+1 more in the group)")
    async with app.state.sessionmaker() as session:
        calls = [
            (c.event, c.result)
            for c in await session.scalars(select(PageCall).order_by(PageCall.id))
        ]
        rows = {
            d.incident_id: (d.state, d.note)
            for d in await session.scalars(select(Delivery).where(Delivery.event == "page"))
        }
    assert ("trigger", "delivered") in calls
    assert ("escalate", "delivered") in calls
    assert rows[first["incident_id"]][0] == "paged"
    assert rows[second["incident_id"]][0] == "merged"
    assert "merged into its group's open page" in (rows[second["incident_id"]][1] or "")
    kinds = [e.kind for e in await timeline(app, second["incident_id"])]
    assert "page_merged" in kinds


async def test_a_flapping_alert_pages_once(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, clock: FixedClock, record_property: Any
) -> None:
    key = page_key(RECEIVER, group("Flappy"))
    ids = []
    for cycle in range(5):
        starts = f"2026-01-25T09:{10 + cycle:02d}:00Z"
        firing = alert("Flappy", fingerprint="flap000000000001", starts_at=starts)
        answer = await post(client, webhook(firing, group_key=group("Flappy")))
        ids.append(answer["incident_id"])
        await settle(app)
        clock.advance(timedelta(seconds=20))
        resolved = {**firing, "status": "resolved", "endsAt": clock.now().isoformat()}
        await post(client, webhook(resolved, group_key=group("Flappy")))
        await sweep(app)
        clock.advance(timedelta(seconds=20))
    assert len(set(ids)) == 5
    assert len(peers.pagerduty.incidents) == 1
    assert dedup_keys(peers) == {key}
    decisions = [(await load(app, i)).page_decision for i in ids]
    assert decisions == ["paged", "merged", "damped", "damped", "damped"]
    third = await load(app, ids[2])
    assert third.previous_incident_id == ids[1]
    [damped] = [e for e in await timeline(app, ids[2]) if e.kind == "page_damped"]
    assert "flapping" in (damped.note or "")
    assert peers.pagerduty.events("resolve") == []  # open until quiet for the flap window
    clock.advance(timedelta(seconds=1801))
    await sweep(app)
    assert len(peers.pagerduty.events("resolve")) == 1
    record_property("pagerduty_incidents", len(peers.pagerduty.incidents))


async def test_watchdog_silence_pages_once_and_beats_resolve_it(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers, clock: FixedClock, record_property: Any
) -> None:
    beat = webhook(alert("Watchdog", fingerprint="wd00000000000001", severity="none"))
    for _ in range(3):
        await post(client, beat)
        clock.advance(timedelta(seconds=30))
    await maintenance_once(app)
    assert peers.pagerduty.requests == []
    clock.advance(timedelta(seconds=601))
    await maintenance_once(app)
    await settle(app)
    await maintenance_once(app)
    await sweep(app)
    assert len(peers.pagerduty.incidents) == 1
    [page] = peers.pagerduty.events("trigger")
    assert "AlertmanagerHeartbeatMissing" in page["payload"]["summary"]
    assert page["payload"]["severity"] == "critical"

    await post(client, beat)
    await maintenance_once(app)
    clock.advance(timedelta(seconds=61))
    await sweep(app)
    assert len(peers.pagerduty.events("resolve")) == 1
    assert peers.pagerduty.open_incidents() == []
    record_property("heartbeat_pages", len(peers.pagerduty.incidents))


async def test_acknowledge_through_the_api_acknowledges_the_group_page(
    app: FastAPI, client: httpx.AsyncClient, peers: Peers
) -> None:
    body = webhook(
        alert("DiskFull", fingerprint="ack0000000000001", instance="a"),
        alert("DiskFull", fingerprint="ack0000000000002", instance="b"),
        group_key=group("DiskFull"),
    )
    answer = await post(client, body)
    await settle(app)
    response = await client.post(
        f"/incidents/{answer['incident_ids'][1]}/acknowledge", json={}, headers=OPERATOR
    )
    assert response.status_code == 200
    await settle(app)
    await sweep(app)
    [ack] = peers.pagerduty.events("acknowledge")
    assert ack["dedup_key"] == page_key(RECEIVER, group("DiskFull"))
    assert peers.pagerduty.incidents[0].status == "acknowledged"


async def test_paging_never_waits_for_its_group_while_holding_its_incident(
    app: FastAPI, database_url: str, peers: Peers
) -> None:
    # Lock order is a group, then its incidents (a worker holding a group's claim marks the
    # group's incidents next). page() used to create the group row while holding its
    # incident's lock, which waits on the group's holder: a deadlock (seen in the suite).
    # No pipeline: the runner must not lock this incident while the test looks at its lock.
    incident_id = await insert_incident(app, priority="P0", service="nowhere", pipeline="none")
    key = dedup_key_of(incident_id)
    async with app.state.sessionmaker() as session, session.begin():
        await groups.ensure(session, key, "api", f"incident:{incident_id}")
    holder = await asyncpg.connect(database_url)
    probe = await asyncpg.connect(database_url)
    runner: PipelineRunner = app.state.pipeline_runner
    try:
        holder_tx = holder.transaction()
        await holder_tx.start()
        await holder.execute("UPDATE page_groups SET owner = 'other-worker' WHERE key = $1", key)
        paging_task = asyncio.create_task(paging.page(runner.deps, incident_id, "me"))
        for _ in range(100):  # until page() waits for the group (bounded: 10 s)
            waiting = await probe.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND query LIKE '%INSERT INTO page_groups%'"
            )
            if waiting:
                break
            await asyncio.sleep(0.1)
        assert waiting, "page() never waited for the group row"
        async with probe.transaction():  # the incident is free while page() waits
            locked = await probe.fetchval(
                "SELECT id FROM incidents WHERE id = $1 FOR UPDATE NOWAIT", incident_id
            )
        assert locked == incident_id
        await holder_tx.rollback()
        assert await asyncio.wait_for(paging_task, IDLE_LIMIT) in set(paging.PageResult)
    finally:
        await holder.close()
        await probe.close()

"""Fixtures for the response pipeline: loopback Kubernetes, PagerDuty and Slack peers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.incidents.alertmanager import page_key
from app.incidents.models import Incident, IncidentEvent, IncidentStatus, PipelineState, Priority
from app.response.models import Delivery, DeliveryAttempt, PageCall, PageGroup
from app.response.runner import PipelineRunner
from tests.fakes import slack as slack_fake
from tests.fakes.k8s import FakeKubernetes
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.server import serve_in_thread
from tests.fakes.slack import FakeSlack

ROUTING_KEY = "R0UTINGKEYfake0123456789abcdef"
IDLE_LIMIT = 120  # a bound on waiting for the runner, not a timing assertion


@dataclass
class Peers:
    k8s: FakeKubernetes
    k8s_url: str
    pagerduty: FakePagerDuty
    pagerduty_url: str
    slack: FakeSlack
    slack_url: str


@pytest.fixture(scope="session")
def _peers() -> Iterator[Peers]:
    k8s, pd, sl = FakeKubernetes(), FakePagerDuty(), FakeSlack()
    with (
        serve_in_thread(k8s.app()) as k8s_url,
        serve_in_thread(pd.app()) as pd_url,
        serve_in_thread(sl.app()) as slack_url,
    ):
        yield Peers(k8s, k8s_url, pd, pd_url, sl, slack_url + slack_fake.PATH)


@pytest.fixture
def peers(_peers: Peers) -> Peers:
    for fake in (_peers.k8s, _peers.pagerduty, _peers.slack):
        fake.reset()
    return _peers


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    """Override in a test (or parametrize) to change the pipeline's settings."""
    return {}


def peer_settings(peers: Peers) -> dict[str, Any]:
    return {
        "KUBERNETES_API_URL": peers.k8s_url,
        "PAGERDUTY_EVENTS_URL": f"{peers.pagerduty_url}/v2/enqueue",
        "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "SLACK_WEBHOOK_URL": peers.slack_url,
        "PROMETHEUS_URL": "http://127.0.0.1:9",  # nothing listens: recorded as data
        "PIPELINE_SWEEP_INTERVAL_SECONDS": 3600,
        "METRICS_REFRESH_SECONDS": 0,  # gauges read fresh at every scrape
        "PIPELINE_LEASE_SECONDS": 30,
        "REMEDIATION_VERIFY_TIMEOUT_SECONDS": 1,
        "REMEDIATION_VERIFY_INTERVAL_SECONDS": 0.05,
        "REMEDIATION_TARGETS": ["email-service", "api", "worker", "primary"],
        "HTTP_MAX_ATTEMPTS": 3,
        "HTTP_MAX_RETRY_SECONDS": 10,
        "HTTP_TIMEOUT_SECONDS": 2,
        "DIAGNOSTICS_PROMETHEUS_TIMEOUT_SECONDS": 1,
        "DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS": 2,
    }


@pytest.fixture
def settings_overrides(peers: Peers, extra_settings: dict[str, Any]) -> dict[str, Any]:
    return {**peer_settings(peers), **extra_settings}


@dataclass
class Sleeps:
    """Replaces the pipeline's sleep: records each wait, waits at most a moment."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.02))


@pytest.fixture
def sleeps(app: FastAPI) -> Sleeps:
    recorder = Sleeps()
    app.state.pipeline_runner.deps.sleep = recorder
    return recorder


async def insert_incident(
    app: FastAPI,
    alert_name: str = "KafkaConsumerLagHigh",
    *,
    priority: str = "P1",
    service: str | None = "email-service",
    labels: dict[str, str] | None = None,
    status: str = "open",
    summary: str = "Consumer lag above 10k",
    pipeline: str = "pending",
) -> str:
    """An incident as the ingest side creates it (pipeline pending)."""
    incident_id = str(uuid.uuid4())
    all_labels = {"alertname": alert_name, **({"service": service} if service else {})}
    all_labels.update(labels or {})
    async with app.state.sessionmaker() as session, session.begin():
        session.add(
            Incident(
                id=incident_id,
                alert_name=alert_name,
                priority=Priority(priority),
                status=IncidentStatus(status),
                summary=summary,
                service=service,
                labels=all_labels,
                annotations={"summary": summary},
                fingerprint=uuid.uuid4().hex,
                pipeline_state=PipelineState(pipeline),
            )
        )
    return incident_id


async def run_pipelines(app: FastAPI, *ids: str) -> None:
    """Kick the ids as the webhook does, wait until the runner is idle, and check that each
    pipeline ran and let go of its claim (a kick the runner lost fails here, at once)."""
    runner: PipelineRunner = app.state.pipeline_runner
    await runner.kick(list(ids))
    await asyncio.wait_for(runner.wait_idle(), IDLE_LIMIT)
    states = [await load(app, i) for i in ids]
    detail = [
        (s.id, s.pipeline_state.value, s.pipeline_attempts, s.pipeline_owner, runner.owner)
        for s in states
    ]
    assert all(s.pipeline_attempts > 0 and s.pipeline_state.value != "running" for s in states), (
        f"pipelines did not settle: {detail}"
    )


def dedup_key_of(incident_id: str) -> str:
    """The PagerDuty dedup_key of an incident that is a group of its own (insert_incident)."""
    return page_key("api", f"incident:{incident_id}")


async def page_calls(app: FastAPI, incident_id: str) -> list[PageCall]:
    """The ledger of calls made for the incident's group, oldest first."""
    async with app.state.sessionmaker() as session:
        key = await session.scalar(select(Incident.page_key).where(Incident.id == incident_id))
        rows = await session.scalars(
            select(PageCall).where(PageCall.page_key == key).order_by(PageCall.id)
        )
        return list(rows)


async def page_group(app: FastAPI, incident_id: str) -> PageGroup:
    async with app.state.sessionmaker() as session:
        key = await session.scalar(select(Incident.page_key).where(Incident.id == incident_id))
        group = await session.get(PageGroup, key)
        assert group is not None
        return group


async def load(app: FastAPI, incident_id: str) -> Incident:
    async with app.state.sessionmaker() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        return incident


async def timeline(app: FastAPI, incident_id: str) -> list[IncidentEvent]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id)
        )
        return list(rows)


async def deliveries(app: FastAPI, incident_id: str) -> list[Delivery]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.incident_id == incident_id).order_by(Delivery.id)
        )
        return list(rows)


async def attempts(app: FastAPI, incident_id: str) -> list[DeliveryAttempt]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.incident_id == incident_id)
            .order_by(DeliveryAttempt.id)
        )
        return list(rows)

"""Two replicas (independent engines and pools) receiving the same groups at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook

AM = bearer("ALERTMANAGER")


@pytest.fixture
async def replicas(settings: Settings, clean_db: None) -> AsyncIterator[list[httpx.AsyncClient]]:
    apps = [create_app(settings), create_app(settings)]
    clients = []
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        for app in apps:
            transport = httpx.ASGITransport(app=app)
            clients.append(httpx.AsyncClient(transport=transport, base_url="http://r"))
        yield clients
        for client in clients:
            await client.aclose()


async def test_same_group_on_two_replicas_makes_one_incident_each(
    replicas: list[httpx.AsyncClient],
) -> None:
    groups = [
        webhook(*(alert(f"Race{g}", fingerprint=f"race{g:03d}{n:02d}") for n in range(10)))
        for g in range(30)
    ]
    sends = [
        client.post("/webhook/alert", json=g, headers=AM) for g in groups for client in replicas
    ]
    sends += [
        client.post("/webhook/alert", json=g, headers=AM) for g in groups for client in replicas
    ]
    answers = await asyncio.gather(*sends)
    assert all(a.status_code == 200 for a in answers)
    outcomes = [r["outcome"] for a in answers for r in a.json()["results"]]
    assert outcomes.count("created") == 300
    assert outcomes.count("updated") == 900
    listed = await replicas[0].get("/incidents", params={"limit": 1000}, headers=bearer("VIEWER"))
    incidents = listed.json()
    assert len(incidents) == 300
    assert {i["occurrence_count"] for i in incidents} == {4}

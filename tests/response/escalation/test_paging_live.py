"""Paging against the real service: two replicas receiving the same group at once make one
PagerDuty incident; a group sent by the real Alertmanager 0.25 is one page."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.incidents.alertmanager import page_key
from tests.conftest import bearer
from tests.incidents.payloads import alert, webhook
from tests.incidents.test_real_alertmanager import Alertmanager, _alert
from tests.peers import require_binary
from tests.response.conftest import Peers, peer_settings
from tests.service_proc import running_service

READ = bearer("VIEWER")


def live_env(peers: Peers) -> dict[str, str]:
    settings = {
        **peer_settings(peers),
        "PIPELINE_ENABLED": True,
        "PIPELINE_SWEEP_INTERVAL_SECONDS": 0.5,
        "PAGE_LEASE_SECONDS": 10,
    }
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in settings.items()}


def incidents(base: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/incidents", params={"limit": 1000}, headers=READ, timeout=5)
    response.raise_for_status()
    body: list[dict[str, Any]] = response.json()
    return body


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s waiting for {what}")
        time.sleep(0.2)


def all_decided(base: str, count: int) -> bool:
    found = incidents(base)
    return len(found) == count and all(i["page_decision"] in ("paged", "merged") for i in found)


async def test_two_replicas_receiving_one_group_at_once_make_one_pagerduty_incident(
    peers: Peers, database_url: str, tmp_path: Path, clean_db: None
) -> None:
    group = '{}:{alertname="NodeDown"}'
    body = webhook(
        *(alert("NodeDown", fingerprint=f"rep{n:013d}", node=f"n{n}") for n in range(8)),
        group_key=group,
    )
    headers = bearer("ALERTMANAGER")
    env = live_env(peers)
    with (
        running_service(database_url, tmp_path / "a", env=env) as one,
        running_service(database_url, tmp_path / "b", env=env) as two,
    ):
        async with httpx.AsyncClient(timeout=10) as http:
            answers = await asyncio.gather(
                *(
                    http.post(f"{base}/webhook/alert", json=body, headers=headers)
                    for base in (one, two)
                )
            )
        assert [a.status_code for a in answers] == [200, 200]
        wait_for(lambda: all_decided(one, 8), 90, "every incident's page decided")
        time.sleep(2)  # both replicas' sweepers have had their go
    assert [i.dedup_key for i in peers.pagerduty.incidents] == [page_key("incident-webhook", group)]
    assert len(peers.pagerduty.events("trigger")) <= 3
    assert len(peers.slack.requests) == 1


@pytest.fixture
def alertmanager_binary() -> str:
    return require_binary("prometheus-alertmanager", "prometheus-alertmanager")


def test_a_group_from_the_real_alertmanager_is_one_page(
    alertmanager_binary: str, peers: Peers, database_url: str, tmp_path: Path, clean_db: None
) -> None:
    with running_service(database_url, tmp_path / "svc", env=live_env(peers)) as base:
        am = Alertmanager(alertmanager_binary, base, tmp_path / "am")
        try:
            am.post([_alert("KubeNodeNotReady", f"node-{n}", "critical") for n in range(5)])
            wait_for(lambda: all_decided(base, 5), 90, "5 incidents with their page decided")
            time.sleep(3)  # Alertmanager re-sends the group (repeat_interval 2s): still one page
            found = incidents(base)
            assert len(found) == 5
            assert {i["group_key"] for i in found} == {'{}:{alertname="KubeNodeNotReady"}'}
            assert len({i["page_key"] for i in found}) == 1
        finally:
            am.stop()
    assert [i.dedup_key for i in peers.pagerduty.incidents] == [found[0]["page_key"]]
    assert found[0]["page_key"] == page_key("incident-webhook", '{}:{alertname="KubeNodeNotReady"}')

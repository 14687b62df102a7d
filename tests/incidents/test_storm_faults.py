"""Faults during an alert storm from a real Alertmanager (Debian's 0.25), 2 service workers.

PostgreSQL "restarted" mid-storm: the test's own TCP proxy to the database kills every live
connection and refuses new ones for a while, then heals (the machine's PostgreSQL, shared by
other runs, is never touched). Afterwards every alert is stored exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes.tcp_proxy import TcpProxy
from tests.incidents.test_real_alertmanager import (
    Alertmanager,
    _alert,
    _incidents,
    _wait_for,
    alertmanager_binary,  # noqa: F401 - fixture
)
from tests.service_proc import running_service, service_pids

NAMES = [f"Storm{n:02d}" for n in range(12)]  # group_by alertname: 12 groups, 12 webhook streams
INSTANCES = [f"node-{n}" for n in range(10)]


def _stored(base: str) -> int:
    """How many incidents the service lists; -1 while it is too busy to answer in time."""
    try:
        return len(_incidents(base))
    except httpx.HTTPError:
        return -1


def _wave(names: list[str]) -> list[dict[str, object]]:
    return [_alert(name, inst, "critical") for name in names for inst in INSTANCES]


def test_database_restart_during_a_storm_stores_every_alert_once(
    alertmanager_binary: str,  # noqa: F811
    database_url: str,
    tmp_path: Path,
    clean_db: None,
) -> None:
    parts = urlsplit(database_url)
    if not parts.hostname or not parts.port:
        pytest.skip("database reached through a unix socket; the outage proxy needs TCP")
    proxy = TcpProxy(parts.hostname, parts.port)
    proxy.up()
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    try:
        with running_service(via_proxy, tmp_path / "svc", workers=2) as base:
            am = Alertmanager(alertmanager_binary, base, tmp_path / "am")
            try:
                am.post(_wave(NAMES[:4]))
                am.post(_wave(NAMES[4:8]))
                time.sleep(1.2)  # group_wait 1s: the second wave's groups are being delivered
                proxy.down()  # the restart: live connections die, new ones are refused
                am.post(_wave(NAMES[8:]))
                _wait_for(lambda: am.failed_notifications() >= 1, 30, "503s seen by Alertmanager")
                time.sleep(2)
                proxy.up()
                expected = {(name, inst) for name in NAMES for inst in INSTANCES}
                _wait_for(lambda: _stored(base) >= len(expected), 90, "every alert stored")
                time.sleep(3)  # Alertmanager re-sends (repeat_interval 2s): still once each
                incidents = _incidents(base)
                stored = [(i["alert_name"], i["labels"]["instance"]) for i in incidents]
                assert len(stored) == len(expected)  # none duplicated
                assert set(stored) == expected  # none lost
                assert len({i["fingerprint"] for i in incidents}) == len(expected)
                assert all(i["status"] == "open" for i in incidents)
            finally:
                am.stop()
    finally:
        proxy.close()


def test_worker_killed_during_a_storm_loses_nothing(
    alertmanager_binary: str,  # noqa: F811
    database_url: str,
    tmp_path: Path,
    clean_db: None,
) -> None:
    with running_service(database_url, tmp_path / "svc", workers=2) as base:
        supervisor, workers = service_pids(base)
        assert len(workers) == 2, workers
        am = Alertmanager(alertmanager_binary, base, tmp_path / "am")
        try:
            am.post(_wave(NAMES[:6]))
            time.sleep(1.1)  # the first groups are being delivered
            os.kill(workers[0], signal.SIGKILL)  # no cleanup: requests in flight are cut
            am.post(_wave(NAMES[6:]))
            expected = {(name, inst) for name in NAMES for inst in INSTANCES}
            _wait_for(lambda: _stored(base) >= len(expected), 90, "every alert stored")
            time.sleep(3)
            incidents = _incidents(base)
            stored = [(i["alert_name"], i["labels"]["instance"]) for i in incidents]
            assert len(stored) == len(expected)  # none duplicated
            assert set(stored) == expected  # none lost
            _, now_serving = service_pids(base)
            assert workers[0] not in now_serving
            assert len(now_serving) == 2  # the supervisor started a replacement
        finally:
            am.stop()

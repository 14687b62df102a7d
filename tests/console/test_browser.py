"""The console in a real browser (Debian's chromium through Playwright), against the real service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import dbutil
from tests.conftest import TOKENS, bearer
from tests.console.browser import chromium, log_in
from tests.peers import require_binary
from tests.service_proc import running_service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
OP = bearer("OPERATOR")


@pytest.fixture(scope="module")
def browser(service: tuple[str, Path]) -> Iterator[Any]:
    # After the service: Playwright's sync API keeps an event loop running in this thread.
    executable = require_binary("chromium", "chromium")
    pytest.importorskip("playwright")
    with chromium(executable) as launched:
        yield launched


@pytest.fixture(scope="module")
def service(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    asyncio.run(dbutil.truncate_all(database_url))
    data_dir = tmp_path_factory.mktemp("console-browser")
    with running_service(database_url, data_dir) as base:
        yield base, data_dir


@pytest.fixture
def page(service: tuple[str, Path], browser: Any) -> Iterator[Any]:
    """A fresh context per test; every request URL is recorded and checked to stay local."""
    base, _ = service
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.requests = []  # type: ignore[attr-defined]
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    off_machine = [
        url for url in tab.requests if not url.startswith((f"{base}/", "data:", "about:"))
    ]
    context.close()
    assert off_machine == [], f"requests that left the machine: {off_machine}"


def _incident(base: str, name: str, priority: str = "P2") -> str:
    answer = httpx.post(
        f"{base}/incidents",
        json={
            "alert_name": name,
            "priority": priority,
            "service": "api",
            "summary": f"{name} firing",
        },
        headers=OP,
    )
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


def _flash(page: Any) -> str:
    text: str = page.inner_text("main .flash")
    return text


def test_every_page_loads_only_local_assets(page: Any, service: tuple[str, Path]) -> None:
    base, _ = service
    incident_id = _incident(base, "HighLatency", "P1")
    log_in(page, base, TOKENS["OPERATOR_TOKEN"])
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    for path in (
        "/console",
        "/console/incidents",
        f"/console/incidents/{incident_id}",
        "/console/tickets",
        "/console/push",
    ):
        page.goto(f"{base}{path}")
        assert page.locator("main h1").count() == 1, path
    assert problems == []  # no CSP violation, no script error
    assert any(
        url.endswith(".css?v=" + url.split("?v=")[-1])
        for url in page.requests
        if "console.css" in url
    )


def test_link_from_a_page_lands_on_the_incident_after_login(
    page: Any, service: tuple[str, Path]
) -> None:
    base, _ = service
    incident_id = _incident(base, "PodCrashLooping", "P0")
    page.goto(f"{base}/console/incidents/{incident_id}")
    assert "/console/login" in page.url
    page.fill("#token", TOKENS["OPERATOR_TOKEN"])
    page.click("form[action='/console/login'] button[type=submit]")
    page.wait_for_url(f"{base}/console/incidents/{incident_id}")
    assert "PodCrashLooping" in page.inner_text("h1")


def test_each_ticket_type_lands_in_the_jsonl(page: Any, service: tuple[str, Path]) -> None:
    base, data_dir = service
    log_in(page, base, TOKENS["OPERATOR_TOKEN"], "/console/tickets")
    page.select_option("#form-reconcile select[name=mode]", "INCREMENTAL")
    page.fill("#form-reconcile input[name=reason]", "browser reconcile")
    page.click("#form-reconcile button[type=submit]")
    assert "REQUEST_RECONCILE" in _flash(page)
    page.select_option("#form-reports select[name=mode]", "RE-EVALUATE")
    page.fill("#form-reports input[name=reason]", "browser reports")
    page.fill("#form-reports input[name=trace_id]", "trace-browser")
    page.click("#form-reports button[type=submit]")
    assert "REQUEST_REPORTS" in _flash(page)
    page.fill("#form-acknowledge input[name=message_id]", "push_20260103_143000_001")
    page.click("#form-acknowledge button[type=submit]")
    assert "ACKNOWLEDGE" in _flash(page)
    lines = [
        json.loads(x)
        for x in (data_dir / "state/tickets/ticket_requests.jsonl").read_bytes().splitlines()
    ]
    mine = {line["request_type"]: line for line in lines[-3:]}
    assert mine["REQUEST_RECONCILE"]["payload"] == {
        "mode": "INCREMENTAL",
        "reason": "browser reconcile",
    }
    assert mine["REQUEST_REPORTS"]["payload"] == {
        "mode": "RE-EVALUATE",
        "scope": "PHASE_C_LATEST",
        "reason": "browser reports",
    }
    assert mine["REQUEST_REPORTS"]["trace_id"] == "trace-browser"
    assert mine["ACKNOWLEDGE"]["payload"] == {"message_id": "push_20260103_143000_001"}
    for line in mine.values():
        assert line["status"] == "OPEN"
        assert line["request_id"] in page.inner_text("table.tickets")


def test_acknowledge_then_resolve_shows_both_in_the_timeline(
    page: Any, service: tuple[str, Path]
) -> None:
    base, _ = service
    incident_id = _incident(base, "KafkaConsumerLagHigh", "P2")
    log_in(page, base, TOKENS["OPERATOR_TOKEN"], f"/console/incidents/{incident_id}")
    ack = page.locator(f"form[action='/console/incidents/{incident_id}/acknowledge']")
    ack.locator("input[name=note]").fill("on it from the browser")
    ack.locator("button").click()
    assert "acknowledge recorded" in _flash(page)
    resolve = page.locator(f"form[action='/console/incidents/{incident_id}/resolve']")
    resolve.locator("input[name=note]").fill("scaled the consumers")
    resolve.locator("button").click()  # the confirmation dialog is accepted
    assert "resolve recorded" in _flash(page)
    timeline = page.inner_text("ol.timeline")
    assert "acknowledge" in timeline
    assert "on it from the browser" in timeline
    assert "resolve" in timeline
    assert "scaled the consumers" in timeline
    assert "resolved" in page.inner_text("h1")


def test_incident_list_refreshes_without_a_reload(page: Any, service: tuple[str, Path]) -> None:
    base, _ = service
    log_in(page, base, TOKENS["OPERATOR_TOKEN"], "/console/incidents")
    page.evaluate("window.__sameDocument = true")
    _incident(base, "CertificateExpiringSoon", "P1")
    page.check("input[name=priority][value=P1]")  # a filter change fetches the rows only
    page.wait_for_selector("#incident-rows >> text=CertificateExpiringSoon")
    assert page.evaluate("window.__sameDocument") is True
    assert "priority=P1" in page.url
    assert page.locator("#incident-rows tr.row-p1").count() >= 1
    assert page.locator("#incident-rows tr.row-p2").count() == 0


def test_emergency_stop_blocks_a_send(page: Any, service: tuple[str, Path]) -> None:
    base, _ = service
    httpx.post(
        f"{base}/api/push/messages",
        json={"push_type": "INFO", "title": "drill", "content": "x"},
        headers=OP,
    )
    log_in(page, base, TOKENS["OPERATOR_TOKEN"], "/console/push")
    page.fill("#estop-form input[name=reason]", "browser drill")
    page.check("#estop-form input[name=confirm]")
    page.click("#estop-form button[type=submit]")  # behind a confirmation dialog (accepted)
    assert "engaged" in _flash(page)
    assert page.inner_text("#estop-state") == "ENGAGED"
    page.check("#send-form input[name=confirm]")
    page.click("#send-form button[type=submit]")
    assert "BLOCKED EMERGENCY_STOP" in _flash(page)
    assert "EMERGENCY_STOP" in page.inner_text("table.receipts")
    # release it again for the other tests
    page.check("#estop-form input[name=confirm]")
    page.click("#estop-form button[type=submit]")
    assert page.inner_text("#estop-state") == "off"


def test_viewer_sees_no_buttons(page: Any, service: tuple[str, Path]) -> None:
    base, _ = service
    incident_id = _incident(base, "HighCPUUsage", "P1")
    log_in(page, base, TOKENS["VIEWER_TOKEN"])
    for path in (
        "/console",
        "/console/incidents",
        f"/console/incidents/{incident_id}",
        "/console/tickets",
        "/console/push",
    ):
        page.goto(f"{base}{path}")
        assert page.locator("[data-write]").count() == 0, path
        assert page.locator("form.write").count() == 0, path
        assert page.locator("form[method=post]").count() == 1, path  # logout only
    assert "read only" in page.inner_text("header")


def test_pages_fit_a_phone(service: tuple[str, Path], browser: Any) -> None:
    base, _ = service
    incident_id = _incident(base, "QueueBacklogHigh", "P0")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    log_in(phone, base, TOKENS["OPERATOR_TOKEN"])
    for path in (
        "/console",
        "/console/incidents",
        f"/console/incidents/{incident_id}",
        "/console/tickets",
        "/console/push",
    ):
        phone.goto(f"{base}{path}")
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
    context.close()

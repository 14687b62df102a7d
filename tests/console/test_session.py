"""Console login: signed expiring cookie, CSRF on every form, viewers refused, safe redirects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.core.clock import FixedClock
from tests.conftest import bearer
from tests.console.helpers import csrf_of, login, page_csrf


async def _incident(client: httpx.AsyncClient) -> str:
    answer = await client.post(
        "/incidents",
        json={
            "alert_name": "DiskSpaceLow",
            "priority": "P2",
            "service": "db",
            "summary": "disk 91%",
        },
        headers=bearer("OPERATOR"),
    )
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


async def test_pages_need_a_session_and_land_where_the_link_pointed(
    client: httpx.AsyncClient,
) -> None:
    incident_id = await _incident(client)
    target = f"/console/incidents/{incident_id}"
    first = await client.get(target)
    assert first.status_code == 303
    assert first.headers["location"] == f"/console/login?next=/console/incidents/{incident_id}"
    answer = await login(client, next_path=target)
    assert answer.status_code == 303
    assert answer.headers["location"] == target
    cookie = answer.headers["set-cookie"]
    assert "console_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Max-Age=43200" in cookie
    assert "operator-token" not in cookie  # the cookie never carries the token
    page = await client.get(target)
    assert page.status_code == 200
    assert "DiskSpaceLow" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example", "/consolex/../x", "/api/tickets"]
)
async def test_next_never_leaves_the_console(client: httpx.AsyncClient, target: str) -> None:
    answer = await login(client, next_path=target)
    assert answer.headers["location"].startswith("/console")
    assert "evil" not in answer.headers["location"]


@pytest.mark.parametrize("who", ["ALERTMANAGER", "OPS_SCRIPT"])
async def test_only_viewer_and_operator_tokens_log_in(client: httpx.AsyncClient, who: str) -> None:
    answer = await login(client, who=who)
    assert answer.status_code == 401
    assert "console_session" not in answer.headers.get("set-cookie", "")


async def test_wrong_token_and_missing_login_csrf(client: httpx.AsyncClient) -> None:
    form = await client.get("/console/login")
    wrong = await client.post(
        "/console/login", data={"csrf": csrf_of(form.text), "token": "nope" * 5}
    )
    assert wrong.status_code == 401
    client.cookies.clear()
    forged = await client.post(
        "/console/login", data={"csrf": "x", "token": "operator-token-0123456789abcdef"}
    )
    assert forged.status_code == 303
    assert "console_session" not in forged.headers.get("set-cookie", "")


async def test_session_expires_and_forged_cookies_fail(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    await login(client)
    assert (await client.get("/console")).status_code == 200
    value = client.cookies["console_session"]
    version, body, signature = value.split(".")
    client.cookies.set("console_session", f"{version}.{body}.{signature[:-2]}AA", path="/console")
    assert (await client.get("/console")).status_code == 303
    client.cookies.set("console_session", value, path="/console")
    clock.advance(timedelta(hours=12, seconds=1))
    assert (await client.get("/console")).status_code == 303


async def test_csrf_is_checked_on_every_write(client: httpx.AsyncClient) -> None:
    incident_id = await _incident(client)
    await login(client)
    url = f"/console/incidents/{incident_id}/acknowledge"
    refused = await client.post(url, data={"csrf": "forged", "note": "x"})
    assert refused.status_code == 403
    missing = await client.post(url, data={"note": "x"})
    assert missing.status_code == 403
    for path in (
        "/console/tickets",
        "/console/push/emergency-stop",
        "/console/push/send",
        "/console/logout",
    ):
        assert (
            await client.post(path, data={"csrf": "forged", "confirm": "yes"})
        ).status_code == 403
    detail = (await client.get(f"/incidents/{incident_id}", headers=bearer("OPERATOR"))).json()
    assert detail["status"] == "open"


async def test_viewer_sees_no_buttons_and_writes_are_refused(
    client: httpx.AsyncClient, data_dir: Any
) -> None:
    incident_id = await _incident(client)
    await login(client, who="VIEWER")
    for path in (
        "/console",
        "/console/incidents",
        f"/console/incidents/{incident_id}",
        "/console/tickets",
        "/console/push",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "data-write" not in page.text, path
        assert 'class="write' not in page.text, path
    csrf = await page_csrf(client, "/console/tickets")
    writes = [
        (f"/console/incidents/{incident_id}/acknowledge", {"note": "x"}),
        ("/console/tickets", {"request_type": "ACKNOWLEDGE", "message_id": "m"}),
        ("/console/push/emergency-stop", {"engage": "true", "confirm": "yes"}),
        ("/console/push/self-test", {}),
        ("/console/push/send", {"confirm": "yes"}),
    ]
    for path, data in writes:
        answer = await client.post(path, data={"csrf": csrf, **data})
        assert answer.status_code == 403, path
    assert not (data_dir / "state/tickets/ticket_requests.jsonl").exists()
    gate = (await client.get("/api/push/gates", headers=bearer("VIEWER"))).json()
    assert gate["emergency_stop"] is False


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    await login(client)
    csrf = await page_csrf(client, "/console")
    answer = await client.post("/console/logout", data={"csrf": csrf})
    assert answer.status_code == 303
    assert (await client.get("/console")).status_code == 303


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"CONSOLE_SESSION_SECRET": "s" * 40}


async def test_rotating_the_token_ends_its_sessions(client: httpx.AsyncClient, app: Any) -> None:
    await login(client)
    assert (await client.get("/console")).status_code == 200
    app.state.settings = app.state.settings.model_copy(
        update={
            "OPERATOR_TOKEN": app.state.settings.VIEWER_TOKEN.__class__(
                "rotated-operator-token-000"
            )
        }
    )
    assert (await client.get("/console")).status_code == 303


def test_development_secret_is_generated_once_and_shared(tmp_path: Any) -> None:
    import stat

    from starlette.requests import Request

    from app.console.session import SECRET_FILE, session_secret
    from app.core.settings import load_settings
    from app.main import create_app

    secrets = []
    for _ in range(2):  # two workers of one deployment share the data directory
        app = create_app(load_settings(DATA_DIR=tmp_path))
        secrets.append(session_secret(Request({"type": "http", "app": app})))
    assert secrets[0] == secrets[1]
    assert len(secrets[0]) == 64
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_production_console_needs_its_secret(tmp_path: Any) -> None:
    from starlette.requests import Request

    from app.console.session import ConsoleDisabled, session_secret
    from app.core.settings import SettingsError, load_settings
    from app.main import create_app

    base = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://db/x",
        "ALERTMANAGER_TOKEN": "am-token-0123456789abcdef",
        "DATA_DIR": tmp_path,
    }
    # Unset: the service starts, the console stays closed (no key generated on a replica's disk).
    app = create_app(load_settings(**base))
    with pytest.raises(ConsoleDisabled):
        session_secret(Request({"type": "http", "app": app}))
    assert not (tmp_path / "state").exists()
    with pytest.raises(SettingsError, match="at least 24"):
        load_settings(**base, CONSOLE_SESSION_SECRET="short")
    assert load_settings(**base, CONSOLE_SESSION_SECRET="k" * 24).CONSOLE_SESSION_SECRET

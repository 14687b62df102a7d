"""The auth matrix, generated from the route table: every route of the app (in the OpenAPI or
not, the console's included) against no token, an invalid token, each configured token.

A route added without auth fails here unless it is in OPEN below (documented in the README).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from app.core.auth import TOKEN_SCOPES
from app.core.guard import route_policy
from tests.conftest import TOKENS

METRICS_TOKEN = "metrics-token-0123456789abcdef"
ALL_TOKENS = {**TOKENS, "METRICS_TOKEN": METRICS_TOKEN}

# Open to anyone, on purpose (README "Which routes are open"): probes, the API docs, login.
OPEN = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
}
# /metrics is open while METRICS_TOKEN is unset (Prometheus' default scrape), closed once set.
OPEN_UNLESS_METRICS_TOKEN = {("GET", "/metrics")}


def _walk(routes: list[Any]) -> Iterator[tuple[str, str, Any]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            prefix = route.include_context.prefix
            for method, path, leaf in _walk(included.routes):
                yield method, prefix + path, leaf
            continue
        if getattr(route, "methods", None) is None:  # mounts (static files) carry no auth
            continue
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route.path, route


def route_table(app: FastAPI) -> list[tuple[str, str, Any]]:
    return sorted(_walk(app.routes), key=lambda r: (r[1], r[0]))


def _concrete(app: FastAPI, method: str, path: str) -> str:
    """The path with each parameter filled (an enum's first value, else 1)."""
    operation = app.openapi()["paths"].get(path, {}).get(method.lower(), {})
    enums = {
        p["name"]: p["schema"]["enum"][0]
        for p in operation.get("parameters", [])
        if "enum" in p.get("schema", {})
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(enums.get(m.group(1), 1)), path)


class _Capture:
    """Outermost ASGI wrapper that keeps the scope the router filled (route, dependencies)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await self.app(scope, receive, send)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"METRICS_TOKEN": METRICS_TOKEN}


@pytest.fixture
async def capture(app: FastAPI) -> AsyncIterator[tuple[_Capture, httpx.AsyncClient]]:
    wrapper = _Capture(app)
    transport = httpx.ASGITransport(app=wrapper)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield wrapper, http


def _auth(name: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {ALL_TOKENS[name]}"} if name else {}


async def test_every_route_is_authenticated_or_listed_open(
    app: FastAPI, capture: tuple[_Capture, httpx.AsyncClient]
) -> None:
    wrapper, http = capture
    table = route_table(app)
    assert len(table) > 20  # the walk found the included routers
    checked: list[str] = []
    for method, path, _route in table:
        key = (method, path)
        url = _concrete(app, method, path)
        anonymous = await http.request(method, url)
        if key in OPEN:
            assert anonymous.status_code not in (401, 403), key
            continue
        if path.startswith("/console") and method == "GET":
            # a person following a link lands on the login form
            assert anonymous.status_code in (302, 303, 307), key
            assert anonymous.headers["location"].startswith("/console/login"), key
            continue
        assert anonymous.status_code == 401, (
            f"{key} answers {anonymous.status_code} unauthenticated"
        )
        invalid = await http.request(method, url, headers={"Authorization": "Bearer nope-x"})
        assert invalid.status_code == 401, key
        policy = route_policy(wrapper.scopes[-1])
        if path.startswith("/console"):
            continue  # console forms: the session cookie (tests/console), not bearer tokens
        assert policy.checks, f"{key}: 401 but no ScopeCheck the guard can see"
        wanted = {scope for check in policy.checks for scope in check.any_of}
        for name, scopes in TOKEN_SCOPES.items():
            answer = await http.request(method, url, headers=_auth(name))
            if scopes & wanted:
                assert answer.status_code not in (401, 403), (key, name, answer.text)
            else:
                assert answer.status_code == 403, (key, name, answer.status_code)
        checked.append(f"{method} {path}")
    assert "POST /webhook/alert" in checked
    assert "GET /metrics" in checked


def test_open_list_names_only_real_routes(app: FastAPI) -> None:
    table = {(method, path) for method, path, _ in route_table(app)}
    console = any(path.startswith("/console") for _, path in table)
    listed = {k for k in OPEN if console or not k[1].startswith("/console")}
    assert listed <= table, listed - table


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_metrics_is_open_while_its_token_is_unset(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/incidents")).status_code == 401

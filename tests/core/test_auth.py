from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.auth import AlertmanagerAuth, OperatorAuth, Principal, ReadAuth
from app.core.errors import install_error_handlers
from app.core.settings import load_settings
from tests.conftest import TOKENS, bearer


def _app(**tokens: str) -> FastAPI:
    app = FastAPI()
    app.state.settings = load_settings(**tokens)
    install_error_handlers(app)

    @app.get("/read")
    async def read(who: ReadAuth) -> dict[str, str]:
        return {"who": who.name}

    @app.post("/operate")
    async def operate(who: OperatorAuth) -> dict[str, str]:
        return {"who": who.name}

    @app.post("/webhook")
    async def webhook(who: AlertmanagerAuth) -> Principal:
        return who

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(**TOKENS))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def test_missing_token_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/read")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "missing bearer token"}


async def test_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/read", headers={"Authorization": "Bearer not-a-real-token-xx"})
    assert response.status_code == 401
    basic = await client.get("/read", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


async def test_token_without_scope_is_403(client: httpx.AsyncClient) -> None:
    assert (await client.post("/operate", headers=bearer("VIEWER"))).status_code == 403
    assert (await client.get("/read", headers=bearer("ALERTMANAGER"))).status_code == 403
    assert (await client.post("/webhook", headers=bearer("OPERATOR"))).status_code == 403


async def test_scoped_tokens_pass(client: httpx.AsyncClient) -> None:
    assert (await client.get("/read", headers=bearer("VIEWER"))).json() == {"who": "viewer"}
    assert (await client.get("/read", headers=bearer("OPERATOR"))).status_code == 200
    assert (await client.get("/read", headers=bearer("OPS_SCRIPT"))).status_code == 200
    assert (await client.post("/operate", headers=bearer("OPERATOR"))).status_code == 200
    assert (await client.post("/webhook", headers=bearer("ALERTMANAGER"))).status_code == 200


async def test_unset_token_closes_its_scope() -> None:
    transport = httpx.ASGITransport(app=_app(VIEWER_TOKEN=TOKENS["VIEWER_TOKEN"]))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (
            await http.post("/webhook", headers={"Authorization": "Bearer "})
        ).status_code == 401
        assert (await http.post("/webhook", headers=bearer("ALERTMANAGER"))).status_code == 401
        assert (await http.get("/read", headers=bearer("VIEWER"))).status_code == 200

"""Console test helpers: log in through the form, read CSRF tokens from pages."""

from __future__ import annotations

import re

import httpx

from tests.conftest import TOKENS


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def login(
    client: httpx.AsyncClient, who: str = "OPERATOR", next_path: str = "/console"
) -> httpx.Response:
    form = await client.get("/console/login", params={"next": next_path})
    assert form.status_code == 200
    return await client.post(
        "/console/login",
        data={"csrf": csrf_of(form.text), "next": next_path, "token": TOKENS[f"{who}_TOKEN"]},
    )


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)

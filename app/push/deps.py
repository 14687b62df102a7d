"""Typed dependencies of the push routes: the Telegram client and the report paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from app.core.deps import SettingsDep
from app.push.paths import PushPaths
from app.push.telegram import TelegramClient


def set_telegram(app: FastAPI, client: TelegramClient) -> None:
    app.state.push_telegram = client


async def telegram_client(request: Request) -> TelegramClient:
    client: TelegramClient = request.app.state.push_telegram
    return client


async def push_paths(settings: SettingsDep) -> PushPaths:
    return PushPaths(settings.DATA_DIR)


TelegramDep = Annotated[TelegramClient, Depends(telegram_client)]
PushPathsDep = Annotated[PushPaths, Depends(push_paths)]

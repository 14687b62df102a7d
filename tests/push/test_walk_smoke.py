from __future__ import annotations

import httpx

from tests.fakes.telegram import FakeTelegram
from tests.push.helpers import decisions, open_gates, outbox, queue, send


async def test_full_walk_sends_once(client: httpx.AsyncClient, telegram: FakeTelegram) -> None:
    await queue(client)
    await open_gates(client)
    box = await outbox(client)
    assert box["summary"] == {"total_messages": 1, "console_bound": 0, "external_candidate": 1}
    assert decisions(await send(client)) == [("SENT", None)]
    assert len(telegram.sent()) == 1

"""A separate OS process firing concurrent incident pushes at the shared database.

Usage: python -m tests.push.incident_worker <ready-file> <go-file> <calls>; settings come from
the environment, the clock from FIXED_NOW. Prints each answer's (skipped, delivery_reason).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from app.core.clock import FixedClock
from app.core.settings import load_settings
from app.main import create_app


async def main(ready: Path, go: Path, calls: int) -> None:
    app = create_app(load_settings(), FixedClock(datetime.fromisoformat(os.environ["FIXED_NOW"])))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            headers = {"Authorization": f"Bearer {os.environ['OPS_SCRIPT_TOKEN']}"}
            params = {"confirm": "true", "kind": "BACKEND_DOWN", "step": "Step2"}
            ready.touch()
            deadline = time.monotonic() + 60
            while not go.exists():  # start together with the other worker
                if time.monotonic() > deadline:
                    raise SystemExit("never told to go")
                await asyncio.sleep(0.005)
            responses = await asyncio.gather(
                *(
                    client.post("/api/push/incident/send", params=params, headers=headers)
                    for _ in range(calls)
                )
            )
    rows = []
    for response in responses:
        response.raise_for_status()
        body = response.json()
        rows.append([body["skipped"], body["delivery_reason"]])
    sys.stdout.write(json.dumps(rows) + "\n")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))

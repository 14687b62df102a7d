"""A separate OS process that runs one send against the shared database (concurrency test).

Usage: python -m tests.push.send_worker <ready-file> <go-file>; settings come from the
environment, the clock from FIXED_NOW. Prints the receipts' decisions as JSON on stdout.
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


async def main(ready: Path, go: Path) -> None:
    app = create_app(load_settings(), FixedClock(datetime.fromisoformat(os.environ["FIXED_NOW"])))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            ready.touch()
            deadline = time.monotonic() + 60
            while not go.exists():  # start together with the other worker
                if time.monotonic() > deadline:
                    raise SystemExit("never told to go")
                await asyncio.sleep(0.01)
            token = os.environ["OPERATOR_TOKEN"]
            response = await client.post(
                "/api/push/send?confirm=true", headers={"Authorization": f"Bearer {token}"}
            )
    response.raise_for_status()
    receipts = response.json()["receipts"]
    rows = [[r["message_id"], r["decision"], r["error_class"]] for r in receipts]
    sys.stdout.write(json.dumps(rows) + "\n")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))

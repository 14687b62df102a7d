"""A separate OS process firing concurrent incident pushes at the shared database.

Usage: python -m tests.push.incident_worker <ready-file> <go-file> <calls>; settings come from
the environment, the clock from FIXED_NOW. Prints each answer's (skipped, delivery_reason).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.push.racing import started_together


async def main(ready: Path, go: Path, calls: int) -> None:
    headers = {"Authorization": f"Bearer {os.environ['OPS_SCRIPT_TOKEN']}"}
    params = {"confirm": "true", "kind": "BACKEND_DOWN", "step": "Step2"}
    async with started_together(ready, go, poll_seconds=0.005) as client:
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

"""A separate OS process that runs one send against the shared database (concurrency test).

Usage: python -m tests.push.send_worker <ready-file> <go-file>; settings come from the
environment, the clock from FIXED_NOW. Prints the receipts' decisions as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.push.racing import started_together


async def main(ready: Path, go: Path) -> None:
    async with started_together(ready, go) as client:
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

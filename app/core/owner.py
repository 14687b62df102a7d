"""Who holds a claim: one id per worker process and run, stored in `*_owner` columns."""

from __future__ import annotations

import os
import socket
import uuid


def make_owner() -> str:
    """`<host>:<pid>:<random>`, at most 78 characters (the owner columns hold 100)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

"""The embedded PostgreSQL (pgserver) used when DATABASE_URL is unset; data under state/."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_server: Any = None


def start_embedded(state_dir: Path, database: str = "ops") -> str:
    """Start (or reuse) a real PostgreSQL with data in `state_dir/pgdata`; return its URL."""
    global _server
    import pgserver

    pgdata = state_dir / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs complains about XDG_RUNTIME_DIR
        # cleanup_mode="stop": the server stops when the process that started it exits.
        _server = pgserver.get_server(pgdata, cleanup_mode="stop")
    # `database` is our own constant, never input.
    exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # nosec B608
    if "1 row" not in exists:
        _server.psql(f"CREATE DATABASE {database};")
    url = str(_server.get_uri(database))
    log.info(
        "embedded PostgreSQL ready",
        extra={"database_url": url, "pgdata": str(pgdata), "seconds": time.monotonic() - started},
    )
    return url

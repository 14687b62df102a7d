"""Development API tokens: generated once into state/dev-tokens.env when none is configured.

Outside production a first run would otherwise answer every call with 401 and no hint. The
file holds `NAME=value` lines (mode 0600) and is reused on later starts; only its path is
logged, never a value. Configuring any API token turns this off.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path

from app.core.files import write_private_text
from app.core.settings import Settings

log = logging.getLogger(__name__)

TOKEN_NAMES = ("ALERTMANAGER_TOKEN", "VIEWER_TOKEN", "OPERATOR_TOKEN", "OPS_SCRIPT_TOKEN")
FILE_NAME = "dev-tokens.env"
_LINE = re.compile(r"^([A-Z_]+)=(\S{16,})$")


def _read(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    found = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match and match.group(1) in TOKEN_NAMES:
            found[match.group(1)] = match.group(2)
    return found


def ensure_dev_tokens(settings: Settings) -> Path | None:
    """Load (or create) the development tokens into os.environ; the file's path, or None."""
    if settings.ENVIRONMENT == "production" or any(
        token is not None for token in settings.api_tokens().values()
    ):
        return None
    path = settings.state_dir / FILE_NAME
    tokens = _read(path)
    if set(tokens) != set(TOKEN_NAMES) or len(set(tokens.values())) != len(TOKEN_NAMES):
        kept = {n: v for n, v in tokens.items() if list(tokens.values()).count(v) == 1}
        tokens = {name: kept.get(name) or secrets.token_urlsafe(32) for name in TOKEN_NAMES}
        body = "".join(f"{name}={tokens[name]}\n" for name in TOKEN_NAMES)
        write_private_text(path, "# Development API tokens (ops-backend); never commit.\n" + body)
        log.warning("generated development API tokens", extra={"path": str(path)})
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
    os.environ.update(tokens)  # uvicorn workers read their settings from the environment
    log.warning(
        "no API token configured: using development tokens",
        extra={
            "path": str(path),
            "load": f"set -a; . {path}; set +a",
            "then": "send $VIEWER_TOKEN, $OPERATOR_TOKEN, $ALERTMANAGER_TOKEN or "
            "$OPS_SCRIPT_TOKEN as the bearer token (see README, Quick start)",
        },
    )
    return path

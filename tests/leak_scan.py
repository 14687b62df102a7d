"""The leak scan over the whole suite's artifacts: every file the tests' services, workers and
scripts wrote under the run's temporary directory (data dirs, reports, JSONL logs, service and
worker logs, snapshots) is searched for every secret the suite configures, as is or URL-encoded.

Run at the end of every session by tests/conftest.py (pytest_sessionfinish): a hit fails the run.
Inputs the tests wrote themselves to hand a secret over (a token file, a config file) are not
artifacts and are skipped by name (INPUT_NAMES).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

# Every secret value the suite configures somewhere (fakes are token-shaped on purpose).
SECRETS = (
    "am-token-0123456789abcdef",
    "viewer-token-0123456789abcdef",
    "operator-token-0123456789abcdef",
    "ops-script-token-0123456789abcdef",
    "metrics-token-0123456789abcdef",
    "7512345678:AAFakeTok3n_for-push-tests_0123456789xyz",
    "7512345678:AAFakeDailyOps_t0ken-for-script-tests_0123",
    "123456789:AAHf0ke-T0ken_for_tests_only_abcdefghi",
    "R0UTINGKEYfake0123456789abcdef",
)
# Files a test writes to *give* the service a secret (mounted secret files, the Alertmanager
# credentials file and config, curl configs for daily_ops.sh's fallback): inputs, not leaks.
INPUT_NAMES = re.compile(
    r"(^|[._-])(token|secret|secrets|credentials|password|env)([._-]|$)|"
    r"^alertmanager\.yml$|\.curlrc$|^curl[._-]",
    re.IGNORECASE,
)
MAX_BYTES = 20 * 1024 * 1024
# tests/core/test_leak_scan.py plants secrets under a directory of this name, on purpose.
PLANTED = "planted-leaks"


def _needles(secrets: Iterable[str]) -> list[bytes]:
    found = {v for s in secrets for v in (s, quote(s, safe=""), quote_plus(s), quote(s))}
    return sorted({v.encode() for v in found}, key=len, reverse=True)


def scan(root: Path, secrets: Iterable[str] = SECRETS) -> Iterator[tuple[Path, str]]:
    """(file, which secret) for every artifact under `root` that carries a secret."""
    needles = _needles(secrets)
    for path in sorted(root.rglob("*")):
        try:
            if not path.is_file() or path.is_symlink() or INPUT_NAMES.search(path.name):
                continue
            if PLANTED in path.relative_to(root).parts:
                continue
            if path.stat().st_size > MAX_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue  # vanished, a socket, unreadable: not an artifact we can judge
        for needle in needles:
            if needle in data:
                yield path, needle.decode()[:12] + "…"
                break

#!/usr/bin/env bash
# Do the declared lower bounds really work? Installs the LOWEST versions pyproject.toml allows for
# every direct dependency (uv's --resolution lowest-direct; their own dependencies as resolved
# then) into a scratch environment, and runs the fast part of the suite there.
# Run it after changing a bound in pyproject.toml (then bash scripts/lock.sh). Needs
# TEST_DATABASE_URL like the suite; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/bootstrap.sh --dev
venv="${LOWEST_VENV:-.venv-lowest}"
rm -rf "$venv"
.venv/bin/uv venv -q --python .venv/bin/python "$venv"
.venv/bin/uv pip install -q --python "$venv/bin/python" --resolution lowest-direct -e ".[dev]"
echo "check_lowest: installed the lowest direct versions:"
.venv/bin/uv pip freeze --python "$venv/bin/python" \
  | grep -iE '^(fastapi|uvicorn|pydantic|pydantic-settings|httpx|sqlalchemy|alembic|asyncpg|prometheus-client|kubernetes|pyyaml|pgserver|pytest|pytest-asyncio)=='
# Everything but the validators (tests/deploy needs .venv-tools) and the slow multi-process and
# real-peer tests, which exercise timing rather than library versions.
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests --ignore=tests/deploy \
  -k "not real and not processes and not concurrent and not embedded" "$@"

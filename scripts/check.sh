#!/usr/bin/env bash
# Lint, format check and strict typing: the one command CI and developers run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy app

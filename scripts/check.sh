#!/usr/bin/env bash
# Lint, format check and strict typing: the one command CI and developers run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy app
# Security lint: clean, or each finding justified inline (`# <why>  # nosec BXXX`).
.venv/bin/bandit -q -r app 2>/dev/null || { .venv/bin/bandit -r app 2>/dev/null; exit 1; }

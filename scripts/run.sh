#!/usr/bin/env bash
# One command to run the service: creates .venv, installs, migrates, serves on :8080.
# Without DATABASE_URL an embedded PostgreSQL (pgserver) keeps its data under state/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/ops-backend serve "$@"

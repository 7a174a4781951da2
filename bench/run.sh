#!/usr/bin/env bash
# The project's own benchmark: the four workloads (nested, by_id, filter, mutation) against a
# release build on the embedded SQLite file and on PostgreSQL, with demo data from
# `crm-server seed` (the harness's sizes by default). Prints one table: requests/s, p50, p99,
# SQL statements per request (from the server's /metrics) and peak RSS.
#
#   bench/run.sh                         # both backends, 16 connections, 10 s per workload
#   BACKENDS=sqlite DURATION=5 bench/run.sh
#
# Env: BIN (a server binary; default: a release build of this checkout), BACKENDS (sqlite
# postgres), WORKLOADS (nested by_id filter mutation), CONCURRENCY (16), DURATION (10), WARMUP (3),
# BENCH_PG_URL (admin URL, default postgres://postgres:postgres@127.0.0.1:5432/postgres; a
# database crm_own_bench is created there and reused), SEED_ARGS (extra `seed` flags),
# AUTH_HEADER ('Authorization: Bearer …'; default: an API token of an admin created for the
# run, so every request goes through authentication and access control).
# Needs wrk (apt-get install -y wrk), curl and python3. Load goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKENDS="${BACKENDS:-sqlite postgres}"
GIVEN_AUTH="${AUTH_HEADER:-}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_settings 16 10 18765
bench_start bench



ROWS=()
for backend in $BACKENDS; do
  if [ "$backend" = postgres ] && ! psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    echo "bench: PostgreSQL unreachable at $PG_ADMIN: skipping the postgres run" >&2; continue
  fi
  bench_database "$backend" crm_own_bench
  echo ">> $backend: seeding" >&2
  # shellcheck disable=SC2086
  "$BIN" seed ${SEED_ARGS:-} >/dev/null 2>&1
  if [ -n "$GIVEN_AUTH" ]; then
    AUTH="$GIVEN_AUTH"
  else
    CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench@crm.local >/dev/null
    AUTH="Authorization: Bearer $("$BIN" api-token --email bench@crm.local --name bench)"
  fi
  bench_serve "$backend"

  ids=$(gql '{"query":"{ clients(first: 1, orderBy: [{ field: COMPANY_NAME }], filter: { assignedToId: { isNull: false } }) { nodes { id assignedToId } } }"}')
  client=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["clients"]["nodes"][0]["id"])' <<<"$ids")
  user=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["clients"]["nodes"][0]["assignedToId"])' <<<"$ids")
  bench_body nested '{}'
  bench_body by_id "{\"id\": \"$client\"}"
  bench_body filter '{}'
  bench_body mutation "{\"clientId\": \"$client\", \"userId\": \"$user\", \"content\": \"Benchmark note: own bench\"}"

  for workload in ${WORKLOADS:-nested by_id filter mutation}; do
    bench_check "$workload"
    bench_warmup "$workload"
    s0=$(statements); r0=$(requests)
    result=$(bench_measure "$workload")
    s1=$(statements); r1=$(requests)
    get() { bench_field "$1" "$result"; }
    rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$SERVER/status")
    spr=$(awk -v s=$((s1 - s0)) -v r=$((r1 - r0)) 'BEGIN { printf "%.2f", r ? s / r : 0 }')
    ROWS+=("| $backend | $workload | $(get rps) | $(bench_ms "$(get p50_us)") ms | $(bench_ms "$(get p99_us)") ms | $spr | $rss MiB | $(get errors) |")
    echo ">> $backend $workload: $result" >&2
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done

echo
echo "## crm-server benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $CONC connections, ${SECS}s per workload)"
echo
echo "| backend | workload | requests/s | p50 | p99 | statements/request | peak RSS | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"

#!/usr/bin/env bash
# Live updates under load: two release instances on one PostgreSQL database with demo data,
# SUBSCRIBERS subscribers over WebSocket spread over both (each watching one of 100 clients'
# payments), then RATE payments per second recorded through both for DURATION seconds.
# Prints: delivery latency p50 / p99 / max (from the write's request to the event at the
# subscriber), events delivered / expected, server memory per idle subscriber, and the write
# path's requests/s (createClientNote, wrk, 16 connections) without and with the subscribers.
#
#   bench/live.sh
#   SUBSCRIBERS=2000 RATE=400 DURATION=30 bench/live.sh
#
# Env: BIN, SUBSCRIBERS (1000), RATE (200), DURATION (20), CONCURRENCY (16, wrk),
# BENCH_PG_URL (admin URL; a database crm_live_bench is created there), SEED_ARGS.
# Needs wrk, curl, psql and python3. Load goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUBS="${SUBSCRIBERS:-1000}"
RATE="${RATE:-200}"
SECS="${DURATION:-20}"
CONC="${CONCURRENCY:-16}"
WARMUP=3
PG_ADMIN="${BENCH_PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
PORTS=(18801 18802)
command -v wrk >/dev/null || { echo "bench: wrk not found (apt-get install -y wrk)" >&2; exit 2; }
psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null || { echo "bench: PostgreSQL unreachable at $PG_ADMIN" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start live
cargo build --release -p crm-server --example live_load --quiet
LOAD="$ROOT/target/release/examples/live_load"
PIDS=()
cleanup_live() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; bench_cleanup; }
trap cleanup_live EXIT

psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS crm_live_bench WITH (FORCE)' -c 'CREATE DATABASE crm_live_bench' >/dev/null
export DATABASE_URL="${PG_ADMIN%/*}/crm_live_bench"
echo ">> seeding" >&2
# shellcheck disable=SC2086
"$BIN" seed ${SEED_ARGS:-} >/dev/null 2>&1
CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench@crm.local >/dev/null
TOKEN=$("$BIN" api-token --email bench@crm.local --name bench)
AUTH="Authorization: Bearer $TOKEN"

for port in "${PORTS[@]}"; do
  RUST_LOG=warn PORT=$port CRM_DOCUMENTS_SWEEP_SECS=0 "$BIN" serve >"$WORK/server-$port.log" 2>&1 &
  PIDS+=($!)
done
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
done
URL="http://127.0.0.1:${PORTS[0]}/graphql"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

ids=$(gql '{"query":"{ clients(first: 1, orderBy: [{ field: COMPANY_NAME }], filter: { assignedToId: { isNull: false } }) { nodes { id assignedToId } } }"}')
client=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["clients"]["nodes"][0]["id"])' <<<"$ids")
user=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["clients"]["nodes"][0]["assignedToId"])' <<<"$ids")
bench_body mutation "{\"clientId\": \"$client\", \"userId\": \"$user\", \"content\": \"Benchmark note: live bench\"}"
bench_check mutation

echo ">> the write path without subscribers" >&2
bench_warmup mutation
without=$(bench_measure mutation)
rss0=("$(rss "${PIDS[0]}")" "$(rss "${PIDS[1]}")")

echo ">> $SUBS subscribers" >&2
"$LOAD" --url "http://127.0.0.1:${PORTS[0]}/graphql" --url "http://127.0.0.1:${PORTS[1]}/graphql" \
  --token "$TOKEN" --subscribers "$SUBS" --rate "$RATE" --duration "$SECS" \
  --hold $((SECS + WARMUP + 6)) >"$WORK/load.out" 2>"$WORK/load.err" &
PIDS+=($!)
load=$!
for _ in $(seq 1 600); do grep -q '^READY' "$WORK/load.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY' "$WORK/load.out" || { cat "$WORK/load.err" >&2; exit 1; }
sleep 2
rss1=("$(rss "${PIDS[0]}")" "$(rss "${PIDS[1]}")")
echo ">> the write path with $SUBS idle subscribers" >&2
bench_warmup mutation
with=$(bench_measure mutation)
echo ">> $RATE payments/s for ${SECS}s" >&2
wait "$load"
result=$(grep '^RESULT' "$WORK/load.out")
echo ">> $result" >&2

get() { bench_field "$1" "$2"; }
per_sub=$(awk -v a="${rss0[0]}" -v b="${rss0[1]}" -v c="${rss1[0]}" -v d="${rss1[1]}" -v n="$SUBS" \
  'BEGIN { printf "%.1f", ((c - a) + (d - b)) / n }')
slowdown=$(awk -v a="$(get rps "$without")" -v b="$(get rps "$with")" 'BEGIN { printf "%.1f", (a - b) * 100 / a }')
echo
echo "## live updates ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, 2 instances, PostgreSQL)"
echo
echo "| figure | value |"
echo "|---|---:|"
echo "| subscribers | $SUBS |"
echo "| payments recorded | $(get writes "$result") ($(get writes_per_s "$result")/s; write p50 $(get write_p50_ms "$result") ms, p99 $(get write_p99_ms "$result") ms) |"
echo "| events delivered / expected | $(get events "$result") / $(get expected "$result") |"
echo "| delivery latency p50 / p99 / max | $(get p50_ms "$result") / $(get p99_ms "$result") / $(get max_ms "$result") ms |"
echo "| server RSS per idle subscriber | $per_sub KiB |"
echo "| createClientNote requests/s without / with subscribers | $(get rps "$without") / $(get rps "$with") ($slowdown % slower) |"

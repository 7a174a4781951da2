#!/usr/bin/env bash
# Side by side with PostGraphile through the shared harness (../shared/bench), access control
# on: loads the reference data into a database made by our own migrations, creates an API token
# for the seed's first user (an admin, so every workload sees all the data; the mutation logs
# its note in the name of the harness's user), then runs the harness's run-all.sh with this
# server as the contender, sending that token.
#
#   bench/compare.sh                       # every workload, the harness's defaults
#   WORKLOADS="nested" DURATION=10 bench/compare.sh
#
# Env: BENCH_HARNESS (../shared/bench), BENCH_DB (crm_bench), CONTENDER_PORT (8000), and any
# run-all.sh setting (DURATION, WARMUP, CONCURRENCY, WORKLOADS, SKIP_POSTGRAPHILE, …).
# PostGraphile needs `npm ci` in the harness's postgraphile/ directory once; the harness writes
# its results under its own directory: copy it first if it is read-only
# (`cp -r ../shared/bench /tmp/harness && BENCH_HARNESS=/tmp/harness bench/compare.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HARNESS="${BENCH_HARNESS:-$ROOT/../shared/bench}"
DB="${BENCH_DB:-crm_bench}"
PORT="${CONTENDER_PORT:-8000}"
# The seed's `md5('user:1')::uuid`: an admin.
BENCH_USER=bdb1dd10-5679-979c-a82b-28edd1c8ccd2

cargo build --release -p crm-server --quiet
BIN="$ROOT/target/release/crm-server"
cd "$HARNESS"
# shellcheck source=/dev/null
source ./lib.sh
BENCH_SCHEMA_CMD="$BIN migrate" ./setup.sh "$DB"
TOKEN=$(DATABASE_URL="$(bench_dsn "$DB")" "$BIN" api-token --user-id "$BENCH_USER" --name harness)
SKIP_SETUP=1 BENCH_DB="$DB" \
  CONTENDER_NAME=crm-server CONTENDER_URL="http://127.0.0.1:$PORT/graphql" \
  CONTENDER_QUERIES_DIR="$ROOT/bench/queries" CONTENDER_PORT="$PORT" \
  CONTENDER_CMD="RUST_LOG=warn exec $BIN" \
  CONTENDER_AUTH_HEADER="Authorization: Bearer $TOKEN" \
  ./run-all.sh

#!/usr/bin/env bash
# Hostile requests against the release build on the embedded default (a seeded SQLite file):
# the server's CPU time per refused request for each shape of issue 14 (target: under 5 ms),
# and its peak RSS after 1,000 distinct large documents (target: under 200 MiB).
#
#   bench/hostile.sh                 # 200 requests of each shape
#   REQUESTS=50 BIN=/tmp/crm-server bench/hostile.sh
#
# Env: BIN (a server binary; default: a release build of this checkout), REQUESTS (200).
# Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT="${BENCH_PORT:-18767}"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start hostile

export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
"$BIN" seed >/dev/null 2>&1
CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email hostile@crm.local >/dev/null 2>&1
TOKEN=$("$BIN" api-token --email hostile@crm.local --name hostile)
RUST_LOG=warn PORT=$PORT "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
python3 "$ROOT/bench/hostile.py" "http://127.0.0.1:$PORT/graphql" "$SERVER" "$TOKEN" "${REQUESTS:-200}"

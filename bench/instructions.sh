#!/usr/bin/env bash
# Instructions the server executes per request, counted by valgrind's callgrind: unlike
# requests/s, the count does not depend on what else the machine is doing, so two builds can
# be compared to a few per cent on a noisy machine. The requests are sent one at a time after
# five warm-up requests; everything the server process does counts (on SQLite that includes
# the database's own work, on PostgreSQL it does not).
#
#   bench/instructions.sh                          # the four workloads, 30 requests each
#   BIN=/tmp/old-crm-server REQUESTS=50 bench/instructions.sh nested by_id
#
# Env: BIN (a server binary; default: a release build of this checkout), REQUESTS (30),
# DATABASE_URL (default: a fresh SQLite file seeded with `crm-server seed`), AUTH_HEADER
# (default: an API token of an admin created for the run), KEEP (a directory to keep each
# workload's profile in, as <workload>.callgrind for `callgrind_annotate --inclusive=yes`).
# Needs valgrind, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N="${REQUESTS:-30}"
PORT="${BENCH_PORT:-18766}"
URL="http://127.0.0.1:$PORT/graphql"
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=(nested by_id filter mutation)
command -v valgrind >/dev/null || { echo "instructions: valgrind not found (apt-get install -y valgrind)" >&2; exit 2; }

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start instructions

if [ -z "${DATABASE_URL:-}" ]; then
  export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
  "$BIN" seed >/dev/null 2>&1
fi
if [ -z "${AUTH_HEADER:-}" ]; then
  CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email instructions@crm.local >/dev/null 2>&1 || true
  AUTH_HEADER="Authorization: Bearer $("$BIN" api-token --email instructions@crm.local --name instructions)"
fi
post() { curl -fsS -o "$WORK/out.json" -H 'Content-Type: application/json' -H "$AUTH_HEADER" --data-binary @"$1" "$URL"; }

ids() { # a client with a user in charge, for by_id and mutation
  printf '%s' '{"query":"{ clients(first: 1, orderBy: [{ field: COMPANY_NAME }], filter: { assignedToId: { isNull: false } }) { nodes { id assignedToId } } }"}' > "$WORK/ids.json"
  post "$WORK/ids.json"
  python3 -c 'import json; n = json.load(open("'"$WORK"'/out.json"))["data"]["clients"]["nodes"][0]; print(n["id"], n["assignedToId"])'
}

printf '| workload | requests | M instructions per request |\n|---|---:|---:|\n'
for workload in "${WORKLOADS[@]}"; do
  rm -f "$WORK"/callgrind.*
  RUST_LOG=warn PORT=$PORT valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.%p" \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
  read -r client user < <(ids)
  case "$workload" in
    by_id) bench_body by_id "{\"id\": \"$client\"}" ;;
    mutation) bench_body mutation "{\"clientId\": \"$client\", \"userId\": \"$user\", \"content\": \"Benchmark note: instructions\"}" ;;
    *) bench_body "$workload" '{}' ;;
  esac
  for _ in 1 2 3 4 5; do post "$WORK/$workload.json"; done
  if grep -q '"errors"' "$WORK/out.json"; then echo "instructions: $workload failed: $(cat "$WORK/out.json")" >&2; exit 1; fi
  callgrind_control -z "$SERVER" >/dev/null 2>&1
  for _ in $(seq 1 "$N"); do post "$WORK/$workload.json"; done
  callgrind_control -d "$SERVER" >/dev/null 2>&1
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  # The dump taken after the reset holds the N requests; the one written at exit, what came after.
  total=$(for f in "$WORK"/callgrind.*; do awk '/^summary:/ {print $2; exit}' "$f"; done | sort -n | tail -1)
  awk -v t="$total" -v n="$N" -v w="$workload" 'BEGIN { printf "| %s | %d | %.3f |\n", w, n, t / n / 1e6 }'
  if [ -n "${KEEP:-}" ]; then # the profile itself, for callgrind_annotate
    mkdir -p "$KEEP"
    for f in "$WORK"/callgrind.*; do
      if awk '/^summary:/ {print $2; exit}' "$f" | grep -qx "$total"; then cp "$f" "$KEEP/$workload.callgrind"; fi
    done
  fi
done

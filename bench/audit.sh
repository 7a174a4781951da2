#!/usr/bin/env bash
# The audit trail's cost to writes: updateClient (a new city each time, over 2,000 clients)
# with CRM_AUDIT on and off, on the demo data, on PostgreSQL and SQLite (target: on at most
# 10 % slower than off). The two alternate for ROUNDS rounds (the machine's noise and the
# database's growth then weigh on both alike); the summary compares their medians.
#
#   bench/audit.sh
#   BACKENDS=postgres DURATION=5 KEEP_DATA=1 bench/audit.sh
#
# Env: BIN, BACKENDS (postgres sqlite), ROUNDS (3), CONCURRENCY (8), DURATION (10), WARMUP (3),
# BENCH_PG_URL, SEED_ARGS, KEEP_DATA=1 (reuse the seeded crm_dash_bench databases). Needs wrk,
# curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKENDS="${BACKENDS:-postgres sqlite}"
ROUNDS_N="${ROUNDS:-3}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_settings 8 10 18769
bench_start audit

ROWS=()
SUMMARY=()
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for backend in $BACKENDS; do
  bench_demo_database "$backend" crm_dash_bench
  bench_admin_token
  : > "$WORK/rps-true"; : > "$WORK/rps-false"
  for round in $(seq 1 "$ROUNDS_N"); do
  for audit in true false; do
    CRM_AUDIT=$audit bench_serve "$backend-$audit"
    if [ ! -s "$WORK/ids-$backend" ]; then
      gql '{"query":"{ clients(first: 100) { nodes { id } } }"}' >/dev/null
      python3 - "$URL" "$AUTH" > "$WORK/ids-$backend" <<'PY'
import json, sys, urllib.request
url, auth = sys.argv[1], sys.argv[2]
name, value = auth.split(":", 1)
after, ids = None, []
while len(ids) < 2000:
    body = json.dumps({"query": "query($a: String) { clients(first: 100, after: $a) { nodes { id } pageInfo { endCursor hasNextPage } } }", "variables": {"a": after}}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json", name.strip(): value.strip()})
    page = json.load(urllib.request.urlopen(req))["data"]["clients"]
    ids += [n["id"] for n in page["nodes"]]
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
print("\n".join(ids))
PY
    fi
    export IDS_FILE="$WORK/ids-$backend"
    bench_body update '{"id": "__ID__"}'
    bench_check update
    bench_warmup update
    result=$(bench_measure update)
    ROWS+=("| $backend | $round | $audit | $(bench_field rps "$result") | $(bench_ms "$(bench_field p50_us "$result")") ms | $(bench_ms "$(bench_field p99_us "$result")") ms | $(bench_field errors "$result") |")
    bench_field rps "$result" >> "$WORK/rps-$audit"
    echo ">> $backend round $round audit=$audit: $result" >&2
    unset IDS_FILE
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  done
  done
  on=$(median < "$WORK/rps-true"); off=$(median < "$WORK/rps-false")
  SUMMARY+=("| $backend | $on | $off | $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%+.1f %%", (a / b - 1) * 100 }') |")
done

echo
echo "## Audit trail ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $CONC connections, ${SECS}s each)"
echo
echo "| backend | round | CRM_AUDIT | updates/s | p50 | p99 | errors |"
echo "|---|---:|---|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "| backend | median updates/s, audit on | off | on vs off |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${SUMMARY[@]}"

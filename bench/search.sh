#!/usr/bin/env bash
# Search over the demo data (10,000 clients, ~30,000 contracts, 20,000 notes, 10,000
# documents): requests/s, p50 and p99 of `search` for a three-letter prefix and for a two-word
# query (bench/queries/search.graphql), first page of 20 hits with their rows and snippets, on
# PostgreSQL and SQLite.
#
#   bench/search.sh
#   BACKENDS=postgres CONCURRENCY=1 KEEP_DATA=1 bench/search.sh
#
# Env: BIN, BACKENDS (postgres sqlite), CONCURRENCY (4), DURATION (10), WARMUP (3),
# BENCH_PG_URL, SEED_ARGS, KEEP_DATA=1 (reuse the seeded crm_dash_bench databases),
# PREFIX ("ver"), WORDS ("vertex media"). Needs wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKENDS="${BACKENDS:-postgres sqlite}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_settings 4 10 18768
bench_start search

ROWS=()
for backend in $BACKENDS; do
  bench_demo_database "$backend" crm_dash_bench
  bench_admin_token
  bench_serve "$backend"
  for case in "prefix:${PREFIX:-ver}" "words:${WORDS:-vertex media}"; do
    name=${case%%:*}; words=${case#*:}
    bench_body search "{\"q\": \"$words\"}"
    mv "$WORK/search.json" "$WORK/search-$name.json"
    bench_check "search-$name"
    hits=$(gql "$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); b["query"]="query($q: String!) { search(query: $q) { totalCount } }"; print(json.dumps(b))' "$WORK/search-$name.json")" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["search"]["totalCount"])')
    bench_warmup "search-$name"
    s0=$(statements); r0=$(requests)
    result=$(bench_measure "search-$name")
    s1=$(statements); r1=$(requests)
    spr=$(awk -v s=$((s1 - s0)) -v r=$((r1 - r0)) 'BEGIN { printf "%.2f", r ? s / r : 0 }')
    ROWS+=("| $backend | $name \"$words\" | $hits | $(bench_field rps "$result") | $(bench_ms "$(bench_field p50_us "$result")") ms | $(bench_ms "$(bench_field p99_us "$result")") ms | $spr | $(bench_field errors "$result") |")
    echo ">> $backend $name: $result ($hits hits)" >&2
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done

echo
echo "## Search ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $CONC connections, ${SECS}s each)"
echo
echo "| backend | query | hits | rps | p50 | p99 | stmts/req | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"

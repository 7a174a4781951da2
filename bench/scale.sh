#!/usr/bin/env bash
# The scale benchmark: the same pages at 1x and 10x the demo data (and 100x with SCALE_100X=1),
# side by side with the ratio, plus what it costs to load and migrate that data. PostgreSQL by
# default, the embedded SQLite file with BACKEND=sqlite. Release build, $CONCURRENCY
# connections, $DURATION s per page after $WARMUP s of warm-up.
#
#   bench/scale.sh                           # PostgreSQL, 1x and 10x, ~8 minutes
#   BACKEND=sqlite bench/scale.sh            # the same on SQLite files (in $SCALE_DIR)
#   SCALE_100X=1 bench/scale.sh              # and 100x (about 20 minutes of seeding more)
#   KEEP_DATA=1 bench/scale.sh               # reuse databases an earlier run left seeded
#
# Scales (`crm-server seed`, 50 users of whom 40 commercials at every scale):
#   1x   --clients 10000                                    (~30,000 contracts, ~115,000 payments)
#   10x  --clients 100000 --notes 200000 --documents 100000 (~300,000 contracts, ~1.15 M payments)
#   100x --clients 1000000 --notes 2000000 --documents 1000000
#
# Pages: the shared workloads (nested, by_id, filter, mutation), collections (contracts still
# owed, largest first), commercial (a commercial's portfolio, with their own token: access rules
# keep it to their clients), payment (recordPayment spread over the active contracts: the write
# that moves the stored totals), and, on PostgreSQL, payment_without_totals (the same with the
# totals triggers disabled, repaired afterwards by `check-totals --fix`: what the totals cost
# a write).
#
# Per scale also: seed time, the time to migrate the loaded data to the stored totals and the
# trigram index (the migrations from `contract_totals` on rolled back, then applied again,
# timed), the database size, and `check-totals` on it.
#
# Env: BIN (a server binary; default: a release build of this checkout), CONCURRENCY (16),
# DURATION (8), WARMUP (3), BENCH_PG_URL (admin URL, default
# postgres://postgres:postgres@127.0.0.1:5432/postgres; databases crm_scale_<n>x are created
# there and left for inspection), SCALE_DIR (SQLite: where crm_scale_<n>x.db files are made
# and left; default /tmp), PAGES (the pages above, by name), KEEP_DATA (1: reuse).
# Needs wrk (apt-get install -y wrk), curl, python3, and psql for PostgreSQL. Load goes to
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CONC="${CONCURRENCY:-16}"
SECS="${DURATION:-8}"
WARMUP="${WARMUP:-3}"
PG_ADMIN="${BENCH_PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-18766}"
URL="http://127.0.0.1:$PORT/graphql"
BACKEND="${BACKEND:-postgres}"
SCALE_DIR="${SCALE_DIR:-/tmp}"
SCALES="1 10"
[ "${SCALE_100X:-0}" = 1 ] && SCALES="1 10 100"
command -v wrk >/dev/null || { echo "scale: wrk not found (apt-get install -y wrk)" >&2; exit 2; }
case "$BACKEND" in
  postgres)
    PAGES="${PAGES:-nested by_id filter collections commercial mutation payment payment_without_totals}"
    psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null || { echo "scale: PostgreSQL unreachable at $PG_ADMIN" >&2; exit 2; } ;;
  sqlite) PAGES="${PAGES:-nested by_id filter collections commercial mutation payment}" ;;
  *) echo "scale: BACKEND is postgres or sqlite" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start scale

seed_args() {
  case "$1" in
    1) echo "--clients 10000" ;;
    10) echo "--clients 100000 --notes 200000 --documents 100000" ;;
    100) echo "--clients 1000000 --notes 2000000 --documents 1000000" ;;
  esac
}
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
now() { date +%s.%N; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

declare -A RPS P99 FACTS
# Whether the database of this scale exists; making it empty; its size.
exists() {
  case "$BACKEND" in
    postgres) [ "$(psql "$PG_ADMIN" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ;;
    sqlite) [ -f "$SCALE_DIR/$db.db" ] ;;
  esac
}
create() {
  case "$BACKEND" in
    postgres) psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null ;;
    sqlite) rm -f "$SCALE_DIR/$db.db"* ;;
  esac
}
size() {
  case "$BACKEND" in
    postgres) psql "$DATABASE_URL" -qAtc "SELECT pg_size_pretty(pg_database_size(current_database()))" ;;
    sqlite) du -h "$SCALE_DIR/$db.db" | cut -f1 ;;
  esac
}
# PostgreSQL only: SQL on the database of this scale.
sql() { psql "$DATABASE_URL" -qAtc "$1"; }

declare -A RPS P99 FACTS
for scale in $SCALES; do
  db="crm_scale_${scale}x"
  case "$BACKEND" in
    postgres) export DATABASE_URL="${PG_ADMIN%/*}/$db" ;;
    sqlite) export DATABASE_URL="sqlite://$SCALE_DIR/$db.db?mode=rwc" ;;
  esac
  if [ "${KEEP_DATA:-0}" = 1 ] && exists; then
    echo ">> ${scale}x: reusing $db" >&2
    "$BIN" migrate >/dev/null
  else
    echo ">> ${scale}x: seeding $db ($(seed_args "$scale"))" >&2
    create
    "$BIN" migrate >/dev/null
    t0=$(now)
    # shellcheck disable=SC2046
    "$BIN" seed $(seed_args "$scale") >/dev/null 2>&1
    FACTS[$scale,seed]="$(seconds "$t0" "$(now)") s"
    echo ">> ${scale}x: migrating the loaded data again" >&2
    for _ in 1 2 3; do "$BIN" migrate down >/dev/null; done
    t0=$(now)
    "$BIN" migrate >/dev/null
    FACTS[$scale,migrate]="$(seconds "$t0" "$(now)") s"
    [ "$BACKEND" != postgres ] || sql "VACUUM ANALYZE" >/dev/null
  fi
  FACTS[$scale,size]=$(size)

  CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench@crm.local >/dev/null 2>&1 || true
  admin="Authorization: Bearer $("$BIN" api-token --email bench@crm.local --name "scale $(date +%s)")"

  bench_serve "$scale"

  AUTH="$admin"
  facts=$(gql '{"query":"{ clients(first: 1, orderBy: [{ field: COMPANY_NAME }], filter: { assignedToId: { isNull: false } }) { totalCount nodes { id assignedToId } } contracts(first: 100, filter: { status: { eq: active } }) { totalCount nodes { id } } payments(first: 1) { totalCount } users(first: 1, filter: { role: { eq: commercial }, isActive: { eq: true }, clients: { some: {} } }, orderBy: [{ field: EMAIL }]) { nodes { email } } }"}')
  client=$(json 'd["data"]["clients"]["nodes"][0]["id"]' <<<"$facts")
  user=$(json 'd["data"]["clients"]["nodes"][0]["assignedToId"]' <<<"$facts")
  rep=$(json 'd["data"]["users"]["nodes"][0]["email"]' <<<"$facts")
  json '"\n".join(n["id"] for n in d["data"]["contracts"]["nodes"])' <<<"$facts" >"$WORK/contracts.ids"
  counts=$(gql '{"query":"{ clients(first: 1) { totalCount } contracts(first: 1) { totalCount } payments(first: 1) { totalCount } }"}')
  FACTS[$scale,rows]=$(json '", ".join("{:,} {}".format(d["data"][t]["totalCount"], t) for t in ("clients", "contracts", "payments"))' <<<"$counts")
  commercial="Authorization: Bearer $("$BIN" api-token --email "$rep" --name "scale $(date +%s)")"
  bench_body nested '{}'
  bench_body by_id "{\"id\": \"$client\"}"
  bench_body filter '{}'
  bench_body collections '{}'
  bench_body commercial '{}'
  bench_body mutation "{\"clientId\": \"$client\", \"userId\": \"$user\", \"content\": \"Benchmark note: scale\"}"
  bench_body payment '{"contractId": "__ID__", "amount": "0.01"}'
  cp "$WORK/payment.json" "$WORK/payment_without_totals.json"

  for page in $PAGES; do
    AUTH="$admin"; IDS_FILE=""
    [ "$page" = commercial ] && AUTH="$commercial"
    case "$page" in payment*) IDS_FILE="$WORK/contracts.ids" ;; esac
    export IDS_FILE
    if [ "$page" = payment_without_totals ]; then
      sql "ALTER TABLE payments DISABLE TRIGGER payments_contract_totals; \
           ALTER TABLE contracts DISABLE TRIGGER contracts_client_totals" >/dev/null
    fi
    bench_check "$page"
    bench_warmup "$page"
    result=$(bench_measure "$page")
    if [ "$page" = payment_without_totals ]; then
      sql "ALTER TABLE payments ENABLE TRIGGER payments_contract_totals; \
           ALTER TABLE contracts ENABLE TRIGGER contracts_client_totals" >/dev/null
      "$BIN" check-totals --fix >/dev/null
    fi
    echo ">> ${scale}x $page: $result" >&2
    [ "$(bench_field errors "$result")" = 0 ] || { echo "scale: $page answered errors" >&2; exit 1; }
    RPS[$scale,$page]=$(bench_field rps "$result")
    P99[$scale,$page]=$(bench_ms "$(bench_field p99_us "$result")")
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  t0=$(now)
  "$BIN" check-totals >"$WORK/check.out" || { cat "$WORK/check.out" >&2; exit 1; }
  FACTS[$scale,check]="$(seconds "$t0" "$(now)") s, $(tail -1 "$WORK/check.out")"
done

first=${SCALES%% *}
echo
echo "## crm-server at scale ($(date -u '+%Y-%m-%d %H:%M UTC'), $BACKEND, $(nproc) cores, $CONC connections, ${SECS}s per page)"
echo
header="| page |"; rule="|---|"
for scale in $SCALES; do header+=" ${scale}x requests/s | ${scale}x p99 |"; rule+="---:|---:|"; done
for scale in $SCALES; do [ "$scale" = "$first" ] || { header+=" ${scale}x / ${first}x |"; rule+="---:|"; }; done
echo "$header"; echo "$rule"
for page in $PAGES; do
  line="| $page |"
  for scale in $SCALES; do line+=" ${RPS[$scale,$page]} | ${P99[$scale,$page]} ms |"; done
  for scale in $SCALES; do
    [ "$scale" = "$first" ] && continue
    line+=" $(awk -v a="${RPS[$first,$page]}" -v b="${RPS[$scale,$page]}" 'BEGIN { printf "%.0f %%", 100 * b / a }') |"
  done
  echo "$line"
done
echo
echo "| scale | rows | seed | migrating the loaded data | database size | check-totals |"
echo "|---|---|---:|---:|---:|---|"
for scale in $SCALES; do
  echo "| ${scale}x | ${FACTS[$scale,rows]} | ${FACTS[$scale,seed]:-reused} | ${FACTS[$scale,migrate]:-reused} | ${FACTS[$scale,size]} | ${FACTS[$scale,check]} |"
done

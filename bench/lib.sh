# Shared by the bench scripts (sourced, with ROOT set to the checkout).

# bench_settings CONCURRENCY DURATION PORT: the settings every load script reads, from the
# environment or these defaults: CONC (CONCURRENCY), SECS (DURATION), WARMUP (3), PG_ADMIN
# (BENCH_PG_URL), PORT (BENCH_PORT), URL; wrk checked.
bench_settings() {
  CONC="${CONCURRENCY:-$1}"
  SECS="${DURATION:-$2}"
  WARMUP="${WARMUP:-3}"
  PG_ADMIN="${BENCH_PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
  PORT="${BENCH_PORT:-$3}"
  URL="http://127.0.0.1:$PORT/graphql"
  command -v wrk >/dev/null || { echo "bench: wrk not found (apt-get install -y wrk)" >&2; exit 2; }
}

# A release build of this checkout in BIN (unless BIN is given), a work directory WORK removed
# at exit, and SERVER (the server's PID, once started) stopped at exit.
bench_start() {
  if [ -z "${BIN:-}" ]; then
    cargo build --release -p crm-server --quiet
    BIN="$ROOT/target/release/crm-server"
  fi
  WORK=$(mktemp -d "/tmp/crm-$1.XXXXXX")
  SERVER=""
  trap bench_cleanup EXIT
}

bench_cleanup() {
  [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}

# bench_body WORKLOAD VARIABLES_JSON: the request body of bench/queries/WORKLOAD.graphql in
# $WORK/WORKLOAD.json.
bench_body() {
  python3 - "$ROOT/bench/queries/$1.graphql" "$2" > "$WORK/$1.json" <<'PY'
import json, sys
print(json.dumps({"query": open(sys.argv[1]).read(), "variables": json.loads(sys.argv[2])}))
PY
}

# bench_check WORKLOAD: one request of $WORK/WORKLOAD.json (with $AUTH) to $URL; exits when it
# answers errors.
bench_check() {
  local check id=""
  [ -z "${IDS_FILE:-}" ] || id=$(head -1 "$IDS_FILE")
  check=$(sed "s/__ID__/$id/g" "$WORK/$1.json" | curl -fsS -H 'Content-Type: application/json' \
    -H "$AUTH" --data-binary @- "$URL")
  if grep -q '"errors"' <<<"$check"; then echo "bench: $1 failed: $check" >&2; exit 1; fi
}

# bench_warmup WORKLOAD / bench_measure WORKLOAD: $WARMUP or $SECS seconds of $CONC
# connections posting $WORK/WORKLOAD.json (with $AUTH, and $IDS_FILE if set) to $URL;
# bench_measure prints wrk's RESULT line (requests, rps, p50_us, p99_us, errors).
bench_warmup() {
  BODY_FILE="$WORK/$1.json" AUTH_HEADER="$AUTH" wrk -t1 -c "$CONC" -d "${WARMUP}s" \
    -s "$ROOT/bench/post.lua" "$URL" >/dev/null
}
bench_measure() {
  BODY_FILE="$WORK/$1.json" AUTH_HEADER="$AUTH" wrk -t1 -c "$CONC" -d "${SECS}s" --timeout 10s \
    -s "$ROOT/bench/post.lua" "$URL" | grep '^RESULT'
}

# bench_field NAME RESULT_LINE: one field of a RESULT line; bench_ms: microseconds as ms.
bench_field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
bench_ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

# bench_database BACKEND NAME: DATABASE_URL for a fresh database of BACKEND: $WORK/bench.db
# (sqlite), or NAME created again on the server of $PG_ADMIN (postgres).
bench_database() {
  case "$1" in
    sqlite) export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" ;;
    postgres)
      psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" >/dev/null
      export DATABASE_URL="${PG_ADMIN%/*}/$2" ;;
    *) echo "bench: unknown backend $1" >&2; exit 2 ;;
  esac
}

# bench_serve NAME: starts $BIN serve on $PORT (logs in $WORK/server-NAME.log) with SERVER set
# to its PID, and waits until it answers /health.
bench_serve() {
  RUST_LOG=warn PORT=$PORT "$BIN" serve >"$WORK/server-$1.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
}

# gql JSON_BODY: one GraphQL request to $URL with $AUTH, its answer on stdout.
gql() { curl -fsS -H 'Content-Type: application/json' -H "$AUTH" --data-binary "$1" "$URL"; }

# bench_demo_database BACKEND NAME: DATABASE_URL for a database of BACKEND holding the demo
# data (`crm-server seed` with $SEED_ARGS): NAME on the server of $PG_ADMIN, or
# /tmp/NAME.db; seeded afresh unless KEEP_DATA=1 and it already holds payments.
bench_demo_database() {
  local seeded=0
  case "$1" in
    postgres)
      psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null 2>&1 || { echo "bench: PostgreSQL unreachable at $PG_ADMIN" >&2; exit 2; }
      export DATABASE_URL="${PG_ADMIN%/*}/$2"
      seeded=$(psql "$DATABASE_URL" -qAtc 'SELECT count(*) FROM payments' 2>/dev/null || echo 0) ;;
    sqlite)
      export DATABASE_URL="sqlite:///tmp/$2.db?mode=rwc"
      seeded=$(sqlite3 "/tmp/$2.db" 'SELECT count(*) FROM payments' 2>/dev/null || echo 0) ;;
    *) echo "bench: unknown backend $1" >&2; exit 2 ;;
  esac
  if [ "${KEEP_DATA:-0}" != 1 ] || [ "${seeded:-0}" = 0 ]; then
    if [ "$1" = postgres ]; then bench_database postgres "$2"; else rm -f "/tmp/$2.db"*; fi
    echo ">> $1: seeding" >&2
    # shellcheck disable=SC2086
    "$BIN" seed ${SEED_ARGS:-} >/dev/null 2>&1
  fi
}

# bench_admin_token: AUTH, the header of an API token of an admin of $DATABASE_URL (made on
# the first run; kept data keeps it).
bench_admin_token() {
  CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench-admin@crm.local >/dev/null 2>&1 || true
  AUTH="Authorization: Bearer $("$BIN" api-token --email bench-admin@crm.local --name bench)"
}

# statements / requests: the server's counts of SQL statements and GraphQL requests so far
# (from its /metrics on $PORT).
statements() { curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '/^crm_sql_statements_total/ {print $2}'; }
requests() { curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '/^crm_graphql_requests_total/ {print $2}'; }

#!/usr/bin/env bash
# CSV export and import rates. Export: each of clients.csv, contracts.csv and payments.csv
# downloaded whole, on SQLite and PostgreSQL with demo data from `crm-server seed` (10,000
# clients, ~30,000 contracts, ~115,000 payments), as an admin (every row) and as a commercial
# (their portfolio). Import: IMPORT_ROWS (100,000) new clients in one file, `mode=rows`, on a
# freshly started server. Prints rows/s, MB/s and the server's peak RSS.
#
#   bench/spreadsheets.sh
#   BACKENDS=postgres ROUNDS=3 bench/spreadsheets.sh
#
# Env: BIN (a server binary; default: a release build of this checkout), BACKENDS (sqlite
# postgres), ROUNDS (2: the best is kept), IMPORT_ROWS (100000), IMPORT_MODE (rows), BENCH_PG_URL (admin URL; a database crm_csv_bench is
# created there), SEED_ARGS (extra `seed` flags). Needs curl and python3. 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKENDS="${BACKENDS:-sqlite postgres}"
ROUNDS="${ROUNDS:-2}"
PG_ADMIN="${BENCH_PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-18766}"
URL="http://127.0.0.1:$PORT/graphql"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start csv

peak_rss() { awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$SERVER/status"; }

echo "| backend | file | viewer | rows | seconds | rows/s | MB/s | peak RSS |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
for backend in $BACKENDS; do
  bench_database "$backend" crm_csv_bench
  echo ">> $backend: seeding" >&2
  # shellcheck disable=SC2086
  "$BIN" seed ${SEED_ARGS:-} >/dev/null 2>&1
  CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench@crm.local >/dev/null
  ADMIN="Authorization: Bearer $("$BIN" api-token --email bench@crm.local --name bench)"
  bench_serve "$backend"
  AUTH="$ADMIN"
  rep=$(gql '{"query":"{ users(first: 1, filter: { role: { eq: commercial } }) { nodes { email } } }"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["users"]["nodes"][0]["email"])')
  REP="Authorization: Bearer $("$BIN" api-token --email "$rep" --name bench)"
  for file in clients contracts payments; do
    for viewer in admin commercial; do
      if [ "$viewer" = admin ]; then header="$ADMIN"; else header="$REP"; fi
      best=""
      for _ in $(seq 1 "$ROUNDS"); do
        out=$(curl -fsS -H "$header" -o "$WORK/out.csv" -w '%{time_total} %{size_download}' \
          "http://127.0.0.1:$PORT/export/$file.csv")
        secs=${out% *}
        if [ -z "$best" ] || awk -v a="$secs" -v b="${best% *}" 'BEGIN { exit !(a < b) }'; then
          best="$out"
        fi
      done
      rows=$(($(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))))' "$WORK/out.csv") - 1))
      secs=${best% *}; bytes=${best#* }
      awk -v b="$backend" -v f="$file.csv" -v v="$viewer" -v r="$rows" -v s="$secs" -v n="$bytes" -v m="$(peak_rss)" \
        'BEGIN { printf "| %s | %s | %s | %d | %.2f | %d | %.1f | %s |\n", b, f, v, r, s, r / s, n / s / 1e6, m }'
    done
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

  # Import, on a server started for it (its peak RSS is the import's).
  python3 - "${IMPORT_ROWS:-100000}" > "$WORK/import.csv" <<'PY'
import sys
print("company_name,email,phone,city,postal_code,country,status")
for i in range(int(sys.argv[1])):
    print(f"Imported {i},import{i}@bench.example,+33 1 23 45 {i % 100:02d} {i % 97:02d},Lyon,69003,France,prospect")
PY
  bench_serve "$backend-import"
  AUTH="$ADMIN"
  out=$(curl -fsS -H "$ADMIN" -H 'Content-Type: text/csv' --data-binary @"$WORK/import.csv" \
    -o "$WORK/report.json" -w '%{time_total} %{size_upload}' \
    "http://127.0.0.1:$PORT/import/clients?mode=${IMPORT_MODE:-rows}")
  created=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["created"] if r["failed"] == 0 else "FAILED " + json.dumps(r["errors"][:3]))' "$WORK/report.json")
  secs=${out% *}; bytes=${out#* }
  awk -v b="$backend" -v r="$created" -v s="$secs" -v n="$bytes" -v m="$(peak_rss)" \
    'BEGIN { printf "| %s | import clients (mode=rows) | admin | %s | %.2f | %d | %.1f | %s |\n", b, r, s, r / s, n / s / 1e6, m }'
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
done

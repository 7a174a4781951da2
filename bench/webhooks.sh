#!/usr/bin/env bash
# Webhook delivery: throughput to a local receiver, and what an enabled endpoint costs writes.
#
# On each backend, a small seeded database and a release server with loopback allowed:
#   1. writes: the `mutation` workload (a note per request) for DURATION seconds without any
#      endpoint; with one endpoint receiving `client_note.created` but no worker (what the
#      outbox trigger costs); then with the worker delivering meanwhile (same server): requests/s
#      of each, how fast the outbox gathered without a worker drains, how long after the last
#      write the last delivery arrives;
#   2. throughput: EVENTS notes inserted in one SQL statement (one transaction), then the time
#      until the receiver has them all: deliveries/s, from the commit to the last 2xx.
# The receiver is a minimal keep-alive HTTP/1.1 server (python3 asyncio) answering 200 and
# counting distinct `webhook-id`s, so duplicates would show.
#
#   bench/webhooks.sh
#   BACKENDS=postgres EVENTS=50000 bench/webhooks.sh
#
# Env: BIN, BACKENDS (sqlite postgres), EVENTS (20000), DURATION (10), CONCURRENCY (16),
# BENCH_PG_URL (admin URL; a database crm_webhook_bench is created there). Needs wrk, curl,
# python3 (and psql for PostgreSQL). 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BACKENDS="${BACKENDS:-sqlite postgres}"
EVENTS="${EVENTS:-20000}"
SECS="${DURATION:-10}"
WARMUP=2
CONC="${CONCURRENCY:-16}"
PG_ADMIN="${BENCH_PG_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-18767}"
RECEIVER_PORT="${BENCH_RECEIVER_PORT:-18768}"
URL="http://127.0.0.1:$PORT/graphql"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start webhooks
RECEIVER=""
trap '[ -z "$RECEIVER" ] || kill "$RECEIVER" 2>/dev/null || true; bench_cleanup' EXIT

# The receiver: `GET /count` answers the distinct event ids received so far.
cat > "$WORK/receiver.py" <<'PY'
import asyncio, sys
seen = set()
posts = 0
async def handle(reader, writer):
    global posts
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            if lines[0].startswith("GET /count"):
                body = f"{len(seen)} {posts}".encode()
            else:
                posts += 1
                seen.add(headers.get("webhook-id"))
                body = b""
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
received() { curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count" | cut -d' ' -f1; }
posts() { curl -fsS "http://127.0.0.1:$RECEIVER_PORT/count" | cut -d' ' -f2; }
# wait_for N: until the receiver has N distinct events; prints the seconds it took.
wait_for() {
  python3 - "$1" "$RECEIVER_PORT" <<'PY'
import sys, time, urllib.request
target, port, start = int(sys.argv[1]), sys.argv[2], time.monotonic()
while True:
    got = int(urllib.request.urlopen(f"http://127.0.0.1:{port}/count").read().split()[0])
    if got >= target:
        break
    if time.monotonic() - start > 600:
        sys.exit(f"bench: only {got} of {target} events arrived")
    time.sleep(0.02)
print(f"{time.monotonic() - start:.2f}")
PY
}

# psql_or_sqlite SQL: one value from the bench database.
psql_or_sqlite() {
  case "$DATABASE_URL" in
    postgres*) psql "$DATABASE_URL" -tAc "$1" ;;
    *) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$WORK/bench.db" "$1" ;;
  esac
}

echo "| backend | measure | figure |"
echo "|---|---|---:|"
for backend in $BACKENDS; do
  bench_database "$backend" crm_webhook_bench
  echo ">> $backend: seeding" >&2
  "$BIN" seed --users 10 --clients 200 --notes 0 --documents 0 --email-accounts 0 >/dev/null 2>&1
  CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench@crm.local >/dev/null
  AUTH="Authorization: Bearer $("$BIN" api-token --email bench@crm.local --name bench)"
  python3 "$WORK/receiver.py" "$RECEIVER_PORT" & RECEIVER=$!
  # 1. Writes: no endpoint; an endpoint but no worker (the outbox alone); then delivering.
  CRM_WEBHOOK_WORKER=false CRM_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 bench_serve "$backend-outbox"
  ids=$(gql '{"query":"{ clients(first: 1) { nodes { id } } me { id } }"}' |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["clients"]["nodes"][0]["id"], d["me"]["id"])')
  client=${ids% *}; user=${ids#* }
  bench_body mutation "{\"clientId\": \"$client\", \"userId\": \"$user\", \"content\": \"Benchmark note: webhooks\"}"
  bench_check mutation
  bench_warmup mutation
  without=$(bench_measure mutation)
  gql "{\"query\":\"mutation { createWebhook(input: { url: \\\"http://127.0.0.1:$RECEIVER_PORT/hook\\\", events: [CLIENT_NOTE_CREATED], secret: \\\"bench-secret-of-24-chars-at-least\\\" }) { webhook { id } } }\"}" |
    grep -q '"webhook":{"id"' || { echo "bench: createWebhook failed" >&2; exit 1; }
  outbox=$(bench_measure mutation)
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  # What the outbox gathered meanwhile is delivered first, once a worker runs.
  backlog=$(psql_or_sqlite "SELECT COUNT(*) FROM webhook_outbox")
  CRM_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 bench_serve "$backend"
  drained=$(wait_for "$backlog")
  with=$(bench_measure mutation)
  written=$(bench_field requests "$with")
  caught_up=$(wait_for $((backlog + written)))
  printf '| %s | notes/s, no endpoint | %s |\n' "$backend" "$(bench_field rps "$without")"
  printf '| %s | notes/s, an endpoint, no worker (the outbox alone) | %s |\n' "$backend" "$(bench_field rps "$outbox")"
  printf '| %s | notes/s, an endpoint, delivering meanwhile | %s |\n' "$backend" "$(bench_field rps "$with")"
  printf '| %s | outbox of %s events delivered at start in | %s s |\n' "$backend" "$backlog" "$drained"
  printf '| %s | last delivery after the writes ended | %s s |\n' "$backend" "$caught_up"

  # 2. EVENTS changes in one transaction, delivered.
  start=$(received)
  case "$backend" in
    postgres)
      psql "$DATABASE_URL" -qc "INSERT INTO client_notes (client_id, user_id, note_type, content) \
        SELECT '$client', '$user', 'call', 'bulk ' || g FROM generate_series(1, $EVENTS) g" ;;
    sqlite)
      python3 - "$WORK/bench.db" "$client" "$user" "$EVENTS" <<'PY'
import sqlite3, sys, uuid
db = sqlite3.connect(sys.argv[1], timeout=30)
with db:
    # The server keeps UUIDs as 16-byte blobs on SQLite.
    client, user = uuid.UUID(sys.argv[2]).bytes, uuid.UUID(sys.argv[3]).bytes
    db.executemany("INSERT INTO client_notes (id, client_id, user_id, note_type, content) VALUES (?, ?, ?, 'call', ?)",
                   ((uuid.uuid4().bytes, client, user, f"bulk {i}") for i in range(int(sys.argv[4]))))
PY
      ;;
  esac
  secs=$(wait_for $((start + EVENTS)))
  awk -v b="$backend" -v n="$EVENTS" -v s="$secs" \
    'BEGIN { printf "| %s | %d events in one transaction: deliveries/s | %d (%.2f s) |\n", b, n, n / s, s }'
  printf '| %s | POSTs received / distinct events | %s / %s |\n' "$backend" "$(posts)" "$(received)"
  printf '| %s | server peak RSS | %s |\n' "$backend" "$(awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$SERVER/status")"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  kill "$RECEIVER"; wait "$RECEIVER" 2>/dev/null || true; RECEIVER=""
done

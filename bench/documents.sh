#!/usr/bin/env bash
# The documents benchmark: upload and download throughput of a 5 MB file (MB/s, one request
# at a time, through the GraphQL multipart upload and GET /documents/{id}/content), and the
# server's resident memory while 16 uploads of 20 MB run at once (idle, peak, peak above
# idle; sampled every 20 ms). Release build, the embedded SQLite file, files in a local
# directory, or in an S3 bucket of a moto_server started here with STORAGE=s3.
#
#   bench/documents.sh                 # local directory
#   STORAGE=s3 bench/documents.sh      # S3 (needs moto_server: pip install 'moto[server]')
#
# Env: BIN (a server binary; default: a release build of this checkout), ROUNDS (uploads and
# downloads timed, 20), PARALLEL (concurrent uploads, 16), PARALLEL_MB (their size, 20).
# Needs curl and python3. Traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT="${BENCH_PORT:-18767}"
URL="http://127.0.0.1:$PORT/graphql"
ROUNDS="${ROUNDS:-20}"
PARALLEL="${PARALLEL:-16}"
PARALLEL_MB="${PARALLEL_MB:-20}"
STORAGE="${STORAGE:-local}"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start documents
MOTO=""
trap '[ -z "$MOTO" ] || kill "$MOTO" 2>/dev/null || true; bench_cleanup' EXIT

export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
export CRM_DOCUMENTS_DIR="$WORK/documents"
export CRM_UPLOAD_MAX_FILE_BYTES=$((32 * 1024 * 1024))
if [ "$STORAGE" = s3 ]; then
  command -v moto_server >/dev/null || { echo "documents: moto_server not found" >&2; exit 2; }
  s3_port=$((PORT + 1))
  moto_server -H 127.0.0.1 -p "$s3_port" >"$WORK/moto.log" 2>&1 &
  MOTO=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$s3_port/" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS -X PUT "http://127.0.0.1:$s3_port/crm-bench" >/dev/null
  export CRM_S3_BUCKET=crm-bench CRM_S3_ENDPOINT="http://127.0.0.1:$s3_port"
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
fi
"$BIN" seed --clients 10 >/dev/null 2>&1
CRM_ADMIN_PASSWORD="bench-admin-password" "$BIN" create-admin --email bench@crm.local >/dev/null
TOKEN=$("$BIN" api-token --email bench@crm.local --name bench)
AUTH="Authorization: Bearer $TOKEN"
bench_serve documents
client=$(gql '{"query":"{ clients(first: 1) { nodes { id } } }"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["clients"]["nodes"][0]["id"])')

# make_pdf MB FILE: a file of MB megabytes (10^6 bytes) that starts like a PDF.
make_pdf() { { printf '%%PDF-1.7\n'; head -c $(($1 * 1000000 - 9)) /dev/urandom; } >"$2"; }
# upload FILE: one upload; prints the new document's id.
upload() {
  curl -fsS "$URL" -H "$AUTH" -H 'Apollo-Require-Preflight: true' \
    -F operations="{\"query\":\"mutation(\$input: UploadDocumentInput!) { uploadDocument(input: \$input) { id } }\",\"variables\":{\"input\":{\"clientId\":\"$client\",\"file\":null}}}" \
    -F map='{"0":["variables.input.file"]}' -F "0=@$1;filename=bench.pdf" \
    | sed -n 's/.*"uploadDocument":{"id":"\([^"]*\)".*/\1/p' | grep . || { echo "documents: an upload failed" >&2; return 1; }
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status"; }
now() { date +%s.%N; }
mbps() { awk -v mb="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", mb / (t1 - t0) }'; }

make_pdf 5 "$WORK/5mb.pdf"
id=$(upload "$WORK/5mb.pdf")   # warm-up
t0=$(now)
for _ in $(seq 1 "$ROUNDS"); do id=$(upload "$WORK/5mb.pdf"); done
t1=$(now)
up=$(mbps $((ROUNDS * 5)) "$t0" "$t1")
curl -fsS -H "$AUTH" -o "$WORK/back.pdf" "http://127.0.0.1:$PORT/documents/$id/content"
cmp -s "$WORK/5mb.pdf" "$WORK/back.pdf" || { echo "documents: the file came back different" >&2; exit 1; }
t0=$(now)
for _ in $(seq 1 "$ROUNDS"); do curl -fsS -H "$AUTH" -o /dev/null "http://127.0.0.1:$PORT/documents/$id/content"; done
t1=$(now)
down=$(mbps $((ROUNDS * 5)) "$t0" "$t1")

make_pdf "$PARALLEL_MB" "$WORK/big.pdf"
sleep 1
idle=$(rss_kib)
peak=$idle
pids=()
for _ in $(seq 1 "$PARALLEL"); do upload "$WORK/big.pdf" >/dev/null & pids+=($!); done
while kill -0 "${pids[@]}" 2>/dev/null; do
  r=$(rss_kib); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.02
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
after=$(rss_kib)

printf '\n%-52s %s\n' "documents benchmark ($STORAGE storage, SQLite)" ""
printf '%-52s %8s MB/s\n' "upload, 5 MB, one at a time ($ROUNDS)" "$up"
printf '%-52s %8s MB/s\n' "download, 5 MB, one at a time ($ROUNDS)" "$down"
printf '%-52s %8d MiB\n' "RSS idle" $((idle / 1024))
printf '%-52s %8d MiB\n' "RSS peak, $PARALLEL uploads of $PARALLEL_MB MB at once" $((peak / 1024))
printf '%-52s %8d MiB\n' "RSS peak above idle" $(((peak - idle) / 1024))
printf '%-52s %8d MiB\n' "RSS after" $((after / 1024))
printf '%-52s %8d\n' "failed uploads" "$failed"

#!/usr/bin/env bash
# The reference SPA in CI: install, generate its typed operations and trusted-documents
# manifest from schema.graphql, type-check (strict), build, then drive it in headless Chromium
# against a server that runs those trusted documents only.
#
#   .ci/browser/spa.sh target/debug/crm-server
#   SPA_DATABASE_URL=postgres://…/crm_spa .ci/browser/spa.sh target/debug/crm-server
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-target/debug/crm-server}"
API_PORT="${SPA_API_PORT:-18082}"
SPA_PORT="${SPA_PORT:-4173}"

if [ "${SPA_SKIP_BUILD:-0}" != 1 ]; then
  (cd examples/spa && npm ci --no-audit --no-fund --silent && npm run --silent codegen >/dev/null \
    && npm run --silent typecheck && npm run --silent build >/dev/null)
  (cd .ci/browser && npm ci --no-audit --no-fund --silent)
fi

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
# SQLite by default; SPA_DATABASE_URL: another (empty) database, e.g. PostgreSQL.
export DATABASE_URL="${SPA_DATABASE_URL:-sqlite://$tmp/crm.db?mode=rwc}"
"$BIN" seed --clients 40 --password spa-demo-password >/dev/null 2>&1
CRM_ADMIN_PASSWORD=spa-admin-password "$BIN" create-admin --email spa@crm.local >/dev/null
CRM_TRUSTED_DOCUMENTS=examples/spa/src/gql/persisted-documents.json CRM_TRUSTED_DOCUMENTS_MODE=only \
  CRM_DOCUMENTS_DIR="$tmp/documents" PORT=$API_PORT "$BIN" serve >"$tmp/server.log" 2>&1 &
pids+=($!)
(cd examples/spa && CRM_API="http://127.0.0.1:$API_PORT" exec node_modules/.bin/vite preview \
  --host 127.0.0.1 --port "$SPA_PORT" --strictPort >"$tmp/preview.log" 2>&1) &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$API_PORT/health" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$SPA_PORT/" >/dev/null 2>&1 && break
  sleep 0.2
done
if ! node .ci/browser/spa.mjs "http://127.0.0.1:$SPA_PORT" spa@crm.local spa-admin-password; then
  echo "--- server log" >&2; tail -30 "$tmp/server.log" >&2
  echo "--- preview log" >&2; tail -30 "$tmp/preview.log" >&2
  exit 1
fi

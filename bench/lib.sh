# Shared by bench/run.sh and bench/instructions.sh (sourced, with ROOT set to the checkout).

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

#!/usr/bin/env bash
# A scaled-out deployment on one plain Debian machine, without Docker: a PostgreSQL primary, a
# streaming replica (pg_basebackup), three crm-server instances (production mode) reading
# from the replica, and HAProxy in front, balancing on /ready.
#
#   scripts/cluster.sh up                 # build, start everything, print the URL and a token
#   scripts/cluster.sh status             # each instance's /ready, the replica's lag
#   scripts/cluster.sh restart-primary    # PostgreSQL's primary: fast restart
#   scripts/cluster.sh kill-instance 2    # SIGKILL an instance (1-3)
#   scripts/cluster.sh start-instance 2   # start it again
#   scripts/cluster.sh down               # stop everything and delete the cluster's directory
#
# Env: CLUSTER_DIR (/tmp/crm-cluster), CLUSTER_PORT (18100: HAProxy; the instances take the
# next three ports, PostgreSQL the primary 15432 and the replica 15433), BIN (a crm-server
# binary; default: built in release), PG_BIN (PostgreSQL's programs), and any crm-server
# setting (CRM_*) for the instances. Needs PostgreSQL (postgresql), HAProxy (haproxy), curl.
# Listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR="${CLUSTER_DIR:-/tmp/crm-cluster}"
LB_PORT="${CLUSTER_PORT:-18100}"
PRIMARY_PORT="${PRIMARY_PORT:-15432}"
REPLICA_PORT="${REPLICA_PORT:-15433}"
INSTANCES=(1 2 3)
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"

die() { echo "cluster: $*" >&2; exit 1; }
instance_port() { echo $((LB_PORT + $1)); }
# PostgreSQL refuses to run as root: its programs run as `postgres` then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

secrets() {
  # shellcheck disable=SC1091
  source "$DIR/secrets.env"
  export PGPASSWORD="$PG_PASSWORD"
  PRIMARY_URL="postgres://postgres:$PG_PASSWORD@127.0.0.1:$PRIMARY_PORT/crm"
  REPLICA_URL="postgres://postgres:$PG_PASSWORD@127.0.0.1:$REPLICA_PORT/crm"
}

start_instance() {
  local n=$1 port
  port=$(instance_port "$n")
  secrets
  env CRM_ENV=production HOST=127.0.0.1 PORT="$port" \
    DATABASE_URL="$PRIMARY_URL" DATABASE_REPLICA_URL="$REPLICA_URL" \
    CRM_JWT_SECRET="$JWT_SECRET" CRM_TOKEN_KEYS="$TOKEN_KEYS" \
    CRM_DOCUMENTS_DIR="$DIR/documents" CRM_SHUTDOWN_DRAIN_SECS="${CRM_SHUTDOWN_DRAIN_SECS:-2}" \
    CRM_TRUSTED_PROXIES=127.0.0.1 RUST_LOG="${RUST_LOG:-info}" CRM_LOG_FORMAT=json \
    "$BIN" serve >>"$DIR/instance-$n.log" 2>&1 &
  echo $! >"$DIR/instance-$n.pid"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "instance $n did not become ready (see $DIR/instance-$n.log)"
}

up() {
  [ -d "$DIR" ] && die "$DIR exists: scripts/cluster.sh down first"
  command -v haproxy >/dev/null || die "HAProxy not found (apt-get install haproxy)"
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL's programs not found (apt-get install postgresql)"
  if [ -z "${BIN:-}" ]; then
    cargo build --release -p crm-server --quiet
    BIN="$ROOT/target/release/crm-server"
  fi
  mkdir -p "$DIR/documents"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  {
    echo "PG_PASSWORD=$(openssl rand -hex 16)"
    echo "JWT_SECRET=$(openssl rand -hex 32)"
    echo "TOKEN_KEYS=k1:$(openssl rand -base64 32)"
    echo "BIN=$BIN"
  } >"$DIR/secrets.env"
  chmod 600 "$DIR/secrets.env"
  secrets
  echo ">> primary on $PRIMARY_PORT" >&2
  as_pg bash -c "echo '$PG_PASSWORD' > '$DIR/pwfile'"
  as_pg "$PG_BIN/initdb" -D "$DIR/primary" -U postgres --pwfile="$DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  as_pg rm -f "$DIR/pwfile"
  as_pg bash -c "cat >> '$DIR/primary/postgresql.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 5
hot_standby = on
EOF
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null
  as_pg "$PG_BIN/createdb" -h "$DIR" -p "$PRIMARY_PORT" -U postgres crm
  echo ">> replica on $REPLICA_PORT (pg_basebackup)" >&2
  as_pg env PGPASSWORD="$PG_PASSWORD" "$PG_BIN/pg_basebackup" -D "$DIR/replica" \
    -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres --wal-method=stream --write-recovery-conf \
    --checkpoint=fast
  as_pg sed -i "s/^port = .*/port = $REPLICA_PORT/" "$DIR/replica/postgresql.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/replica" -l "$DIR/replica.log" -w start >/dev/null
  echo ">> migrations, an admin and its API token" >&2
  env -u DATABASE_REPLICA_URL DATABASE_URL="$PRIMARY_URL" RUST_LOG=warn "$BIN" migrate >/dev/null
  CRM_ADMIN_PASSWORD="$(openssl rand -hex 12)" DATABASE_URL="$PRIMARY_URL" RUST_LOG=warn \
    "$BIN" create-admin --email cluster-admin@crm.local >/dev/null
  DATABASE_URL="$PRIMARY_URL" RUST_LOG=warn \
    "$BIN" api-token --email cluster-admin@crm.local --name cluster >"$DIR/token"
  for n in "${INSTANCES[@]}"; do
    echo ">> instance $n on $(instance_port "$n")" >&2
    start_instance "$n"
  done
  echo ">> HAProxy on $LB_PORT" >&2
  {
    cat <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option forwardfor
    option redispatch
    retries 2
    retry-on conn-failure empty-response
frontend crm
    bind 127.0.0.1:$LB_PORT
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
EOF
    for n in "${INSTANCES[@]}"; do
      echo "    server instance$n 127.0.0.1:$(instance_port "$n") check"
    done
  } >"$DIR/haproxy.cfg"
  haproxy -f "$DIR/haproxy.cfg" -D -p "$DIR/haproxy.pid"
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$LB_PORT/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "URL=http://127.0.0.1:$LB_PORT/graphql"
  echo "TOKEN=$(cat "$DIR/token")"
  echo "DATABASE_URL=$PRIMARY_URL"
}

status() {
  secrets
  for n in "${INSTANCES[@]}"; do
    printf 'instance %s (%s): %s\n' "$n" "$(instance_port "$n")" \
      "$(curl -sS -m 2 "http://127.0.0.1:$(instance_port "$n")/ready" 2>&1 || true)"
  done
  printf 'replica lag: %s\n' "$(psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d crm -qAtc \
    "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::numeric(10,3) || ' s since the last replayed commit'" 2>&1 || true)"
}

down() {
  [ -d "$DIR" ] || return 0
  for n in "${INSTANCES[@]}"; do
    [ -f "$DIR/instance-$n.pid" ] && kill "$(cat "$DIR/instance-$n.pid")" 2>/dev/null || true
  done
  [ -f "$DIR/haproxy.pid" ] && kill "$(cat "$DIR/haproxy.pid")" 2>/dev/null || true
  for cluster in replica primary; do
    [ -d "$DIR/$cluster" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/$cluster" -m fast -w stop >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  restart-primary) as_pg "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -m fast -w restart >/dev/null ;;
  kill-instance) kill -9 "$(cat "$DIR/instance-${2:?instance 1-3}.pid")" ;;
  start-instance) start_instance "${2:?instance 1-3}" ;;
  *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac

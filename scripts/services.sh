#!/usr/bin/env bash
# Starts, stops and reports the real services the tests need: a throwaway PostgreSQL 15 cluster
# and a RabbitMQ node, both bound to 127.0.0.1 with their data in a state directory.
#
#   scripts/services.sh up       start what is not running (idempotent), write $STATE/env
#   scripts/services.sh down     stop both and delete their data
#   scripts/services.sh status   one line per service
#   scripts/services.sh restart  stop the RabbitMQ node and start it again on the same port,
#                                keeping its data (durable queues and persistent messages)
#
# Settings (environment):
#   PLATFORM_SERVICES_DIR   state directory            (default: <repo>/.services)
#   PLATFORM_PG_PORT        PostgreSQL port            (default: first free from 55432)
#   PLATFORM_PG_REPLICA_PORT its streaming standby's   (default: first free from the primary's + 1)
#   PLATFORM_RABBIT_PORT    RabbitMQ AMQP port         (default: first free from 56720)
#   PLATFORM_SERVICES       which services to start    (default: "postgres rabbitmq")
#
# `up` writes $STATE/env with PLATFORM_POSTGRES, PLATFORM_POSTGRES_REPLICA (a streaming standby of
# it) and PLATFORM_RABBITMQ, which the tests read.
# A configured port that something else holds is an error; a default one moves to the next free.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${PLATFORM_SERVICES_DIR:-$ROOT/.services}
SERVICES=${PLATFORM_SERVICES:-postgres rabbitmq}
PG_BIN=${PLATFORM_PG_BIN:-/usr/lib/postgresql/15/bin}
RABBIT_BIN=/usr/lib/rabbitmq/bin

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { printf '%d.%03d s' $(( ($(now_ms) - $1) / 1000 )) $(( ($(now_ms) - $1) % 1000 )); }

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# pick_port NAME CONFIGURED DEFAULT -> prints a port that is free
pick_port() {
  local name=$1 configured=$2 port=$3
  if [ -n "$configured" ]; then
    port_in_use "$configured" && die "$name port $configured (configured) is already taken by another process; free it or choose another port"
    echo "$configured"; return
  fi
  local tries=0
  while port_in_use "$port"; do
    port=$((port + 1)); tries=$((tries + 1))
    [ $tries -lt 50 ] || die "$name: no free port in $(( port - 50 ))..$port"
  done
  echo "$port"
}

# ----------------------------------------------------------------------------- PostgreSQL
PG_DIR=$STATE/postgres
pg_port() { cat "$PG_DIR/port" 2>/dev/null || true; }
pg_running() {
  local p; p=$(pg_port)
  [ -n "$p" ] && [ -f "$PG_DIR/data/postmaster.pid" ] &&
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$p" -t 2 2>/dev/null
}

pg_up() {
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed at $PG_BIN (apt-get install postgresql-15)"
  if pg_running; then say "postgres already running on 127.0.0.1:$(pg_port)"; return; fi
  local t0; t0=$(now_ms)
  pg_stop_quiet
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR/sock"
  local port; port=$(pick_port postgres "${PLATFORM_PG_PORT:-}" 55432)
  echo "$port" > "$PG_DIR/port"
  local as=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$PG_DIR"; as=(runuser -u postgres --); fi
  "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  # fsync off: test data is throwaway; benchmarks report this.
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-k $PG_DIR/sock -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null 2>&1 || { tail -20 "$PG_DIR/server.log" >&2; die "postgres did not start"; }
  local i
  for i in $(seq 1 60); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" || die "postgres is not ready on 127.0.0.1:$port (see $PG_DIR/server.log)"
  say "postgres 15 up on 127.0.0.1:$port in $(elapsed "$t0")"
  pg_replica_up "$port"
}

# A streaming standby of the primary, for the read-replica tests (ProjectionConsistency.ReadingFrom,
# the replication lag gauge). Every database the tests create on the primary appears on it.
pg_replica_up() {
  local primary=$1 t0; t0=$(now_ms)
  local port; port=$(pick_port postgres-replica "${PLATFORM_PG_REPLICA_PORT:-}" $((primary + 1)))
  local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$PG_DIR/replica" -R -X stream --no-sync \
    >"$PG_DIR/basebackup.log" 2>&1 || { cat "$PG_DIR/basebackup.log" >&2; die "pg_basebackup of the standby failed"; }
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/replica" -l "$PG_DIR/replica.log" -w -t 30 \
    -o "-k $PG_DIR/sock -p $port -c listen_addresses=127.0.0.1 -c hot_standby=on -c max_connections=300 -c fsync=off" \
    start >/dev/null 2>&1 || { tail -20 "$PG_DIR/replica.log" >&2; die "the postgres standby did not start"; }
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || die "the postgres standby is not ready on 127.0.0.1:$port (see $PG_DIR/replica.log)"
  echo "$port" > "$PG_DIR/replica-port"
  say "postgres standby up on 127.0.0.1:$port in $(elapsed "$t0")"
}

pg_stop_quiet() {
  local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  if [ -f "$PG_DIR/replica/postmaster.pid" ]; then
    "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/replica" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
}

pg_down() { pg_stop_quiet; rm -rf "$PG_DIR"; say "postgres down"; }

# ----------------------------------------------------------------------------- RabbitMQ
RB_DIR=$STATE/rabbitmq
rabbit_env() {
  export HOME=$RB_DIR/home
  export RABBITMQ_NODE_PORT=$(cat "$RB_DIR/port" 2>/dev/null || echo 0)
  # One node name per port, so two checkouts can each run a node on the same epmd.
  export RABBITMQ_NODENAME=platform$RABBITMQ_NODE_PORT@localhost
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_DIST_PORT=$(cat "$RB_DIR/dist_port" 2>/dev/null || echo 0)
  export ERL_EPMD_PORT=$(cat "$RB_DIR/epmd_port" 2>/dev/null || echo 4369)
  export RABBITMQ_MNESIA_BASE=$RB_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RB_DIR/log
  export RABBITMQ_PID_FILE=$RB_DIR/rabbit.pid
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RB_DIR/enabled_plugins
  export RABBITMQ_CONFIG_FILE=$RB_DIR/rabbitmq
  export ERL_EPMD_ADDRESS=127.0.0.1
  # A node that dies writes its crash dump here, not into the directory the script ran from.
  export ERL_CRASH_DUMP=$RB_DIR/erl_crash.dump
  # Keep the Erlang distribution port on loopback too.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
rabbit_running() {
  [ -f "$RB_DIR/port" ] && [ -x "$RABBIT_BIN/rabbitmqctl" ] || return 1
  ( rabbit_env; timeout 20 "$RABBIT_BIN/rabbitmqctl" -q status >/dev/null 2>&1 )
}

rabbit_install() {
  [ -x "$RABBIT_BIN/rabbitmq-server" ] && return
  local t0; t0=$(now_ms)
  say "installing Debian's rabbitmq-server (apt-get)..."
  command -v apt-get >/dev/null || die "rabbitmq-server is missing and apt-get is not available"
  # The package must not start a broker of its own: there is no init system here, and any
  # default node would take port 5672.
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; added_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$STATE/apt.log" 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >>"$STATE/apt.log" 2>&1 \
    || { [ -n "$added_policy" ] && rm -f $policy; tail -20 "$STATE/apt.log" >&2; die "apt-get install rabbitmq-server failed (see $STATE/apt.log)"; }
  [ -n "$added_policy" ] && rm -f $policy
  say "rabbitmq-server installed in $(elapsed "$t0")"
}

rabbit_up() {
  mkdir -p "$STATE"
  rabbit_install
  if rabbit_running; then say "rabbitmq already running on 127.0.0.1:$(cat "$RB_DIR/port")"; return; fi
  local t0; t0=$(now_ms)
  rabbit_stop_quiet
  rm -rf "$RB_DIR"; mkdir -p "$RB_DIR/home" "$RB_DIR/mnesia" "$RB_DIR/log"
  pick_port rabbitmq "${PLATFORM_RABBIT_PORT:-}" 56720 > "$RB_DIR/port"
  pick_port "rabbitmq distribution" "" $(( $(cat "$RB_DIR/port") + 1000 )) > "$RB_DIR/dist_port"
  pick_port epmd "" 4369 > "$RB_DIR/epmd_port"
  # epmd on 4369 may belong to an earlier node of ours; reuse it rather than move.
  pgrep -x epmd >/dev/null && echo 4369 > "$RB_DIR/epmd_port"
  echo '[].' > "$RB_DIR/enabled_plugins"
  printf 'listeners.tcp.1 = 127.0.0.1:%s\n' "$(cat "$RB_DIR/port")" > "$RB_DIR/rabbitmq.conf"
  # Once more after a failed start: a clean-clone CI run once saw the node never come up (the
  # wait timed out after 60 s) where it normally takes 5 s, and the next run started it at once.
  rabbit_start || { tail -20 "$RB_DIR/start.log" >&2; say "rabbitmq did not start; trying once more"; rabbit_clear_failed; rabbit_start; } \
    || { tail -20 "$RB_DIR/start.log" >&2; die "rabbitmq did not start (logs in $RB_DIR/log)"; }
  say "rabbitmq up on 127.0.0.1:$(cat "$RB_DIR/port") in $(elapsed "$t0")"
}

# After a start that failed: the node, if any, with or without a pid file, and its data.
rabbit_clear_failed() {
  rabbit_stop_quiet
  # A node that never wrote its pid file: ours is the one whose Erlang home is this checkout's.
  pkill -9 -f -- "-home $RB_DIR/home " 2>/dev/null || true
  rm -rf "$RB_DIR/mnesia"; mkdir -p "$RB_DIR/mnesia"
}

rabbit_start() (
  rabbit_env
  head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$HOME/.erlang.cookie"; chmod 400 "$HOME/.erlang.cookie"
  rm -f "$RABBITMQ_PID_FILE"
  "$RABBIT_BIN/rabbitmq-server" -detached >>"$RB_DIR/start.log" 2>&1 || exit 1
  # `await_startup` straight away fails with "node not running": wait for the pid file first.
  timeout 90 "$RABBIT_BIN/rabbitmqctl" -q wait "$RABBITMQ_PID_FILE" --timeout 60 >>"$RB_DIR/start.log" 2>&1 &&
    timeout 60 "$RABBIT_BIN/rabbitmqctl" -q await_startup --timeout 60 >>"$RB_DIR/start.log" 2>&1
)

rabbit_stop_quiet() {
  [ -f "$RB_DIR/rabbit.pid" ] || return 0
  ( rabbit_env; timeout 30 "$RABBIT_BIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 ) || true
  local pid; pid=$(cat "$RB_DIR/rabbit.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  # epmd outlives the node. `epmd -kill` refuses while another node is registered, so this
  # never takes epmd away from a node of another checkout.
  local epmd_port; epmd_port=$(cat "$RB_DIR/epmd_port" 2>/dev/null || echo 4369)
  ( export ERL_EPMD_PORT=$epmd_port; epmd -kill >/dev/null 2>&1 ) || true
}

rabbit_down() { rabbit_stop_quiet; rm -rf "$RB_DIR"; say "rabbitmq down"; }

# A real stop of the node (not stop_app) and a start with the same name, port and mnesia
# directory, for tests of what survives a broker restart. Unlike rabbit_up it deletes nothing.
rabbit_restart() {
  [ -f "$RB_DIR/port" ] && [ -f "$RB_DIR/rabbit.pid" ] || die "no rabbitmq node in $RB_DIR to restart; run up first"
  local t0 port; t0=$(now_ms); port=$(cat "$RB_DIR/port")
  (
    rabbit_env
    timeout 60 "$RABBIT_BIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >>"$RB_DIR/start.log" 2>&1 || exit 1
    # A stale pid file would let `wait` below return for the old node.
    rm -f "$RABBITMQ_PID_FILE"
    port_in_use "$port" && { echo "port $port was taken while the node was stopped" >>"$RB_DIR/start.log"; exit 1; }
    "$RABBIT_BIN/rabbitmq-server" -detached >>"$RB_DIR/start.log" 2>&1 || exit 1
    # `wait` returns once the pid file is there and the rabbit application has started.
    timeout 90 "$RABBIT_BIN/rabbitmqctl" -q wait "$RABBITMQ_PID_FILE" --timeout 60 >>"$RB_DIR/start.log" 2>&1
  ) || { tail -20 "$RB_DIR/start.log" >&2; die "rabbitmq did not restart (logs in $RB_DIR/log)"; }
  say "rabbitmq restarted on 127.0.0.1:$port in $(elapsed "$t0")"
}

# ----------------------------------------------------------------------------- commands
write_env() {
  {
    if [ -f "$PG_DIR/port" ]; then
      echo "export PLATFORM_POSTGRES='Host=127.0.0.1;Port=$(pg_port);Username=postgres;Database=postgres'"
    fi
    if [ -f "$PG_DIR/replica-port" ]; then
      echo "export PLATFORM_POSTGRES_REPLICA='Host=127.0.0.1;Port=$(cat "$PG_DIR/replica-port");Username=postgres;Database=postgres'"
    fi
    if [ -f "$RB_DIR/port" ]; then
      echo "export PLATFORM_RABBITMQ='amqp://guest:guest@127.0.0.1:$(cat "$RB_DIR/port")/'"
    fi
  } > "$STATE/env"
}

want() { [[ " $SERVICES " == *" $1 "* ]]; }

case "${1:-}" in
  up)
    mkdir -p "$STATE"
    want postgres && pg_up
    want rabbitmq && rabbit_up
    write_env
    say "environment in $STATE/env"
    ;;
  down)
    want rabbitmq && rabbit_down
    want postgres && pg_down
    rm -f "$STATE/env"
    ;;
  status)
    if pg_running; then say "postgres running on 127.0.0.1:$(pg_port)"; else say "postgres stopped"; fi
    if rabbit_running; then say "rabbitmq running on 127.0.0.1:$(cat "$RB_DIR/port")"; else say "rabbitmq stopped"; fi
    ;;
  restart)
    want rabbitmq || die "restart restarts rabbitmq only; set PLATFORM_SERVICES=rabbitmq"
    rabbit_restart
    ;;
  env) cat "$STATE/env" ;;
  *) echo "usage: $0 up|down|status|restart|env" >&2; exit 2 ;;
esac

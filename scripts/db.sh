#!/usr/bin/env bash
# scripts/db.sh start|stop|status: Gatehouse's bundled MongoDB-protocol engine.
#
# FerretDB v1 (embedded in engine/, a small Go program) on a private PostgreSQL
# cluster, for development, tests, CI and benchmarks on machines without mongod.
# FerretDB listens on a Unix socket in the instance directory, behind the
# program's own wire-protocol proxy on the loopback port, which serializes
# writes per collection: FerretDB v1 alone loses concurrent updates to one
# document (engine/proxy.go).
#
#   start   builds the engine if needed (cached in .engine/bin), creates the
#           cluster on first use, starts PostgreSQL and the engine on loopback
#           ports, waits until both answer, and prints exactly one line on stdout:
#               MONGODB_URI=mongodb://127.0.0.1:PORT/
#           Already running: prints the same line. Exit 0, or 1 with a message.
#   stop    ends the processes this instance started (FerretDB by its recorded
#           PID, then PostgreSQL with pg_ctl stop -m fast) and waits for them.
#           Exit 0, also when nothing was running.
#   status  prints "running" and the MONGODB_URI= line (exit 0), or "stopped"
#           (exit 3).
#
# Progress and errors go to stderr; stdout carries only the lines above.
#
# Environment:
#   GATEHOUSE_DATA_DIR          data directory (default <repo>/data); one instance
#                               per directory, everything under $GATEHOUSE_DATA_DIR/engine/:
#                                 pg/              PostgreSQL cluster (owned by the postgres
#                                                  user when run as root)
#                                 run/             its unix socket
#                                 engine.sock      FerretDB's socket, behind the proxy (a
#                                                  loopback port instead when the path is
#                                                  too long for a socket address)
#                                 postgresql.log, engine.log, pg_ctl.out
#                                 engine.pid, engine.port, pg.port, uri
#                               Instances with different directories run side by side.
#   GATEHOUSE_DB_FSYNC=off      fsync, synchronous_commit and full_page_writes off
#                               (tests; applies when PostgreSQL starts). Default: on.
#   GATEHOUSE_ENGINE_LOG_LEVEL  FerretDB log level: debug|info|warn|error (default error;
#                               warn logs every error reply in full).
#   GATEHOUSE_DB_GIN_TWINS=off  no GIN twin indexes (see engine/postgresql.sql); only
#                               for measuring the baseline. Default: on.
#   PG_BIN                      PostgreSQL server binaries (default: newest
#                               /usr/lib/postgresql/*/bin, else `pg_config --bindir`).
#
# Database and users: the cluster superuser is `postgres`; FerretDB connects as
# the non-superuser role `ferretdb` to the database `ferretdb`, which it owns
# (each MongoDB database is a schema in it). Authentication is `trust`, on
# 127.0.0.1 and on a socket inside the instance directory only: the cluster is a
# private development/test store, never a production database.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENGINE_SRC=$REPO/engine
BIN_DIR=$REPO/.engine/bin
BIN=$BIN_DIR/gatehouse-engine

DATA_DIR=$(realpath -m "${GATEHOUSE_DATA_DIR:-$REPO/data}")
INSTANCE=$DATA_DIR/engine
PGDATA_DIR=$INSTANCE/pg
SOCKET_DIR=$INSTANCE/run
PG_LOG=$INSTANCE/postgresql.log
PG_CTL_OUT=$INSTANCE/pg_ctl.out
ENGINE_LOG=$INSTANCE/engine.log
ENGINE_SOCKET=$INSTANCE/engine.sock
ENGINE_PID_FILE=$INSTANCE/engine.pid
ENGINE_PORT_FILE=$INSTANCE/engine.port
PG_PORT_FILE=$INSTANCE/pg.port
URI_FILE=$INSTANCE/uri

PG_SUPERUSER=postgres
PG_ROLE=ferretdb
PG_DATABASE=ferretdb

WAIT_SECONDS=60

say() { printf 'db.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

usage() {
  echo "usage: scripts/db.sh start|stop|status" >&2
  exit 2
}

# --- helpers -----------------------------------------------------------------

is_root() { [[ $(id -u) -eq 0 ]]; }

# True when process $1 exists and is not a zombie (an exited child that its new
# parent has not reaped yet still answers kill -0).
pid_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ -n $stat && ${stat%% *} != Z ]]
}

# True when process $1 is alive and its command line contains $2.
pid_runs() {
  pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# Runs a PostgreSQL program: initdb, pg_ctl and postgres refuse to run as root,
# so as root they run as the postgres system user (from /, which it can read).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

find_pg_bin() {
  local dir
  if [[ -n ${PG_BIN:-} ]]; then
    [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || die "PG_BIN=$PG_BIN has no initdb/pg_ctl"
    echo "$PG_BIN"
    return
  fi
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $dir && -x $dir/initdb ]]; then
    echo "$dir"
    return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    if [[ -n $dir && -x $dir/initdb ]]; then
      echo "$dir"
      return
    fi
  fi
  die "PostgreSQL server binaries not found: apt-get install postgresql, or set MONGODB_URI"
}

# A free TCP port on 127.0.0.1 (the kernel's choice for port 0).
free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
  else
    die "need node or python3 to pick a free port"
  fi
}

# True when nothing listens on 127.0.0.1:$1.
port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The port recorded in file $1 if still free, else a new free one.
choose_port() {
  local recorded
  recorded=$(cat "$1" 2>/dev/null || true)
  if [[ $recorded =~ ^[0-9]+$ ]] && port_is_free "$recorded"; then
    echo "$recorded"
  else
    free_port
  fi
}

# --- the engine binary ---------------------------------------------------------

engine_stamp() {
  {
    go version
    (cd "$ENGINE_SRC" && cat go.mod go.sum ./*.go)
  } | sha256sum | cut -d' ' -f1
}

# Builds the engine unless the cached binary matches the sources and toolchain.
ensure_engine_binary() {
  if ! command -v go >/dev/null 2>&1; then
    if [[ -x $BIN ]]; then
      say "Go toolchain not found: using the engine built before without checking it is current"
      return
    fi
    die "Go toolchain not found (needed once to build the bundled engine): install Go >= 1.24, or set MONGODB_URI"
  fi
  mkdir -p "$BIN_DIR"
  exec 8>"$BIN_DIR/.build.lock"
  flock 8
  local stamp
  stamp=$(engine_stamp)
  if [[ -x $BIN && -f $BIN.stamp && $(cat "$BIN.stamp") == "$stamp" ]]; then
    exec 8>&-
    return
  fi
  if [[ -x $BIN ]]; then
    say "rebuilding the bundled engine (sources changed)…"
  else
    say "building the bundled engine (first time, one to two minutes)…"
  fi
  local started=$SECONDS
  if ! (cd "$ENGINE_SRC" && CGO_ENABLED=0 GOFLAGS=-mod=readonly \
    go build -trimpath -ldflags='-s -w' -o "$BIN.tmp" . 8>&- >&2); then
    rm -f "$BIN.tmp"
    die "building the bundled engine failed (see the Go output above)"
  fi
  mv -f "$BIN.tmp" "$BIN"
  echo "$stamp" >"$BIN.stamp"
  say "built $BIN in $((SECONDS - started)) s"
  exec 8>&-
}

# --- PostgreSQL ----------------------------------------------------------------

pg_pid() { head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true; }

# The postmaster recorded in postmaster.pid is alive and serves this cluster.
pg_running() {
  local pid
  pid=$(pg_pid)
  [[ $pid =~ ^[0-9]+$ ]] && pid_runs "$pid" "$PGDATA_DIR"
}

# As root, every directory above the cluster must be traversable (x) by the
# postgres user; grants o+x (not read) where it is missing.
make_reachable_for_postgres() {
  is_root || return 0
  chmod 0711 "$INSTANCE"
  local dir
  dir=$(dirname "$INSTANCE")
  while [[ $dir != / ]]; do
    if ! runuser -u postgres -- test -x "$dir"; then
      chmod o+x "$dir"
      say "granted others traverse permission (o+x) on $dir so the postgres user can reach the cluster"
    fi
    dir=$(dirname "$dir")
  done
}

prepare_instance_dirs() {
  mkdir -p "$INSTANCE"
  make_reachable_for_postgres
  mkdir -p "$PGDATA_DIR" "$SOCKET_DIR"
  touch "$PG_LOG"
  if is_root; then
    id postgres >/dev/null 2>&1 ||
      die "running as root needs the 'postgres' system user to run PostgreSQL (apt-get install postgresql creates it)"
    chown postgres: "$PGDATA_DIR" "$SOCKET_DIR" "$PG_LOG"
  fi
  chmod 0700 "$PGDATA_DIR" "$SOCKET_DIR"
}

init_cluster() {
  if [[ -f $PGDATA_DIR/PG_VERSION ]]; then
    local have want
    have=$(cat "$PGDATA_DIR/PG_VERSION")
    want=$("$PGBIN/pg_ctl" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
    [[ $have == "$want" ]] ||
      die "$PGDATA_DIR was created by PostgreSQL $have but $PGBIN is PostgreSQL $want: set PG_BIN to version $have's binaries, or remove $DATA_DIR/engine to start empty"
    return
  fi
  say "creating the PostgreSQL cluster in $PGDATA_DIR"
  if ! as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$PG_SUPERUSER" -A trust -E UTF8 --locale=C \
    --no-instructions >>"$PG_LOG" 2>&1; then
    die "initdb failed: see $PG_LOG"
  fi
  # Only loopback TCP and the socket inside the instance directory.
  as_pg tee "$PGDATA_DIR/pg_hba.conf" >/dev/null <<'EOF'
# Gatehouse bundled engine: private cluster, loopback only (see scripts/db.sh).
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
  as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<'EOF'

# --- Gatehouse bundled engine ---
# FerretDB's filters (_jsonb -> $1 @> $2) can use the GIN twin indexes only
# when planned with the parameter values (see engine/postgresql.sql).
plan_cache_mode = force_custom_plan
listen_addresses = '127.0.0.1'
log_min_messages = warning
# Port, socket directory and durability: rewritten by scripts/db.sh at each start.
include_if_exists = 'gatehouse.conf'
EOF
}

# Settings that may change from one start to the next.
write_start_conf() {
  local port=$1 socket_dir=$SOCKET_DIR
  # A unix socket path is limited to 107 bytes; a deep data directory gets TCP only.
  if ((${#SOCKET_DIR} + 20 > 107)); then
    socket_dir=
  fi
  {
    echo "# written by scripts/db.sh at start; do not edit"
    echo "port = $port"
    echo "unix_socket_directories = '$socket_dir'"
    if [[ ${GATEHOUSE_DB_FSYNC:-on} == off ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } | as_pg tee "$PGDATA_DIR/gatehouse.conf" >/dev/null
}

start_pg() {
  local port log_size
  # A postmaster.pid whose process is gone (or a zombie, or another program
  # that reuses the PID) is stale: postgres would refuse to start over it.
  if [[ -f $PGDATA_DIR/postmaster.pid ]]; then
    say "removing the stale $PGDATA_DIR/postmaster.pid (PostgreSQL was not stopped cleanly)"
    rm -f "$PGDATA_DIR/postmaster.pid"
  fi
  # Likewise the socket lock files: the socket directory is this instance's own.
  rm -f "$SOCKET_DIR"/.s.PGSQL.*
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port=$(choose_port "$PG_PORT_FILE")
    write_start_conf "$port"
    log_size=$(stat -c %s "$PG_LOG")
    # 8>&- 9>&-: the server must not inherit this script's lock descriptors.
    if as_pg "$PGBIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$WAIT_SECONDS" \
      >"$PG_CTL_OUT" 2>&1 8>&- 9>&-; then
      echo "$port" >"$PG_PORT_FILE"
      return 0
    fi
    # Backends of a killed postmaster still attached to its shared memory exit
    # within moments: wait and retry. Lost a race for the port: take another.
    # Anything else is fatal.
    if tail -c +"$((log_size + 1))" "$PG_LOG" | grep -q 'is still in use'; then
      sleep 1
    elif tail -c +"$((log_size + 1))" "$PG_LOG" | grep -q 'could not bind'; then
      rm -f "$PG_PORT_FILE"
    else
      break
    fi
  done
  cat "$PG_CTL_OUT" >&2 || true
  tail -n 5 "$PG_LOG" >&2 || true
  die "PostgreSQL did not start: see $PG_LOG"
}

stop_pg() {
  if pg_running; then
    local pid
    pid=$(pg_pid)
    say "stopping PostgreSQL (pid $pid)"
    PGBIN=$(find_pg_bin)
    as_pg "$PGBIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t "$WAIT_SECONDS" >"$PG_CTL_OUT" 2>&1 ||
      die "PostgreSQL (pid $pid) did not stop: $(tail -n 1 "$PG_CTL_OUT"); see $PG_LOG"
  fi
}

psql_super() {
  local db=$1
  shift
  local port
  port=$(cat "$PG_PORT_FILE")
  PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" -d "$db" "$@"
}

# Idempotent: the role and database FerretDB uses, and the GIN twin triggers.
setup_database() {
  psql_super postgres <<EOF >/dev/null || die "setting up the PostgreSQL database failed: see the error above"
SELECT 'CREATE ROLE $PG_ROLE LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') \gexec
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE') \gexec
EOF
  local twins=on
  [[ ${GATEHOUSE_DB_GIN_TWINS:-on} == off ]] && twins=off
  psql_super "$PG_DATABASE" -v gin_twins="$twins" -f "$ENGINE_SRC/postgresql.sql" >/dev/null ||
    die "installing the GIN twin triggers failed: see the error above"
}

# --- FerretDB ------------------------------------------------------------------

# The recorded engine PID, if that process is alive and is this instance's engine.
engine_pid() {
  local pid
  pid=$(cat "$ENGINE_PID_FILE" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] && pid_runs "$pid" "-uri-file $URI_FILE" || return 1
  echo "$pid"
}

# Sends {ping: 1} over the wire protocol; FerretDB answers ok only when its
# PostgreSQL connection works.
engine_ping() {
  local port=$1
  if command -v node >/dev/null 2>&1; then
    node - "$port" <<'EOF' 2>/dev/null
const net = require("net");
const port = Number(process.argv[2]);
const bson = (() => {
  const parts = [];
  const el = (type, name, value) => parts.push(Buffer.from([type]), Buffer.from(name + "\0"), value);
  const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
  el(0x10, "ping", i32(1));
  const db = Buffer.from("admin\0");
  el(0x02, "$db", Buffer.concat([i32(db.length), db]));
  const body = Buffer.concat(parts);
  return Buffer.concat([i32(body.length + 5), body, Buffer.from([0])]);
})();
const header = Buffer.alloc(16);
const msg = Buffer.concat([header, Buffer.alloc(4), Buffer.from([0]), bson]);
msg.writeInt32LE(msg.length, 0); msg.writeInt32LE(1, 4); msg.writeInt32LE(0, 8); msg.writeInt32LE(2013, 12);
const sock = net.connect(port, "127.0.0.1", () => sock.write(msg));
let got = Buffer.alloc(0);
sock.on("data", (d) => {
  got = Buffer.concat([got, d]);
  if (got.length >= 4 && got.length >= got.readInt32LE(0)) {
    // ok: 1.0 as a double element
    const okDouble = Buffer.concat([Buffer.from([0x01]), Buffer.from("ok\0"), Buffer.from([0, 0, 0, 0, 0, 0, 0xf0, 0x3f])]);
    process.exit(got.includes(okDouble) ? 0 : 1);
  }
});
sock.on("error", () => process.exit(1));
setTimeout(() => process.exit(1), 5000);
EOF
  elif port_is_free "$port"; then
    return 1
  fi
}

start_engine() {
  local pg_port port pid waited
  pg_port=$(cat "$PG_PORT_FILE")
  for _ in 1 2 3; do
    port=$(choose_port "$ENGINE_PORT_FILE")
    rm -f "$URI_FILE"
    # setsid: not in the caller's process group (a Ctrl-C there must not kill
    # it); all descriptors redirected so a caller reading our stdout gets EOF.
    # -backend-socket: the engine removes it first if no engine answers on it
    # (left by one that was killed).
    setsid "$BIN" \
      -listen-addr "127.0.0.1:$port" \
      -backend-socket "$ENGINE_SOCKET" \
      -postgresql-url "postgres://$PG_ROLE@127.0.0.1:$pg_port/$PG_DATABASE" \
      -log-level "${GATEHOUSE_ENGINE_LOG_LEVEL:-error}" \
      -uri-file "$URI_FILE" \
      </dev/null >>"$ENGINE_LOG" 2>&1 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$ENGINE_PID_FILE"
    waited=0
    while ((waited < WAIT_SECONDS * 10)); do
      if ! pid_alive "$pid"; then
        break
      fi
      if [[ -f $URI_FILE ]] && engine_ping "$port"; then
        echo "$port" >"$ENGINE_PORT_FILE"
        return 0
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    if pid_alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
      rm -f "$ENGINE_PID_FILE"
      tail -n 5 "$ENGINE_LOG" >&2 || true
      return 1
    fi
    rm -f "$ENGINE_PID_FILE"
    # Exited: lost a race for the port? Try another one.
    if ! grep -q 'address already in use' <(tail -n 3 "$ENGINE_LOG"); then
      break
    fi
    rm -f "$ENGINE_PORT_FILE"
  done
  tail -n 5 "$ENGINE_LOG" >&2 || true
  return 1
}

# Waits up to $2 seconds for process $1 to exit.
wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

stop_engine() {
  local pid
  if pid=$(engine_pid); then
    say "stopping FerretDB (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 15; then
      say "FerretDB (pid $pid) did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || die "FerretDB (pid $pid) did not exit"
    fi
  fi
  rm -f "$ENGINE_PID_FILE" "$URI_FILE"
}

print_uri() { echo "MONGODB_URI=mongodb://127.0.0.1:$(cat "$ENGINE_PORT_FILE")/"; }

is_running() {
  engine_pid >/dev/null && [[ -f $ENGINE_PORT_FILE ]] && pg_running
}

# --- commands --------------------------------------------------------------------

lock_instance() {
  mkdir -p "$INSTANCE"
  exec 9>"$INSTANCE/.lock"
  flock 9
}

cmd_start() {
  lock_instance
  PGBIN=$(find_pg_bin)
  if is_running; then
    print_uri
    return 0
  fi
  ensure_engine_binary
  prepare_instance_dirs
  init_cluster
  local started_pg=0
  if ! pg_running; then
    say "starting PostgreSQL"
    start_pg
    started_pg=1
  fi
  setup_database
  if ! engine_pid >/dev/null; then
    say "starting FerretDB"
    if ! start_engine; then
      ((started_pg)) && stop_pg
      die "FerretDB did not start: see $ENGINE_LOG"
    fi
  fi
  print_uri
}

cmd_stop() {
  lock_instance
  stop_engine
  stop_pg
  say "stopped"
}

cmd_status() {
  if is_running; then
    echo running
    print_uri
    return 0
  fi
  echo stopped
  return 3
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# A throw-away PostgreSQL server for the service's store tests (the CTest
# fixture encmol_postgres in tests/service/CMakeLists.txt starts and stops it).
# Trust authentication on 127.0.0.1 only, a free port, the unix socket in DIR;
# writes the connection URI to DIR/url. Never use it for real data.
#   scripts/pg_test_server.sh start DIR   # prints the URI
#   scripts/pg_test_server.sh stop DIR    # stops the server and removes DIR
# PG_BIN=/usr/lib/postgresql/NN/bin picks a version (default: the newest).
set -euo pipefail
command=${1:?usage: pg_test_server.sh start|stop DIR}
dir=${2:?usage: pg_test_server.sh start|stop DIR}
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    echo "$PG_BIN"
    return
  fi
  local newest
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
    echo "$newest"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    echo "pg_test_server.sh: no initdb found; install the PostgreSQL server" \
      "(Debian: apt-get install postgresql) or set PG_BIN" >&2
    exit 1
  fi
}

# initdb and postgres refuse to run as root: as root, run them as `postgres`.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "pg_test_server.sh: running as root needs the system user 'postgres'" >&2
    exit 1
  fi
  as_pg=(runuser -u postgres --)
fi

stop_server() {
  [ -d "$dir" ] || return 0
  local bin data
  bin=$(find_bin)
  data=$(cat "$dir/datadir" 2>/dev/null || echo "$dir/data")
  if [ -f "$data/postmaster.pid" ]; then
    "${as_pg[@]}" "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      "${as_pg[@]}" "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # A data directory outside DIR lives in a temporary directory of its own.
  case "$data" in
    "$dir"/*) ;;
    */encmol-pg.*/data) rm -rf "$(dirname "$data")" ;;
  esac
  rm -rf "$dir"
}

start_server() {
  local bin home data port log
  bin=$(find_bin)
  stop_server  # a server left over by an interrupted run
  mkdir -p "$dir"
  home=$dir
  if [ ${#as_pg[@]} -gt 0 ]; then
    chown postgres: "$dir"
    # The postgres user must reach DIR; under a private home it cannot.
    if ! "${as_pg[@]}" test -w "$dir"; then
      home=$(mktemp -d /tmp/encmol-pg.XXXXXX)
      chown postgres: "$home"
    fi
  fi
  data=$home/data
  log=$home/server.log
  echo "$data" >"$dir/datadir"
  if ! "${as_pg[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust --no-locale -E UTF8 \
    --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    echo "pg_test_server.sh: initdb failed" >&2
    exit 1
  fi
  # Loopback and the socket only; nothing else may connect.
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' |
    "${as_pg[@]}" tee "$data/pg_hba.conf" >/dev/null
  printf "%s\n" "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$home'" \
    "fsync = off" "shared_buffers = 32MB" "max_connections = 100" |
    "${as_pg[@]}" tee -a "$data/postgresql.conf" >/dev/null
  local started=0
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    # Skip a port something listens on; a race with another starter is caught below.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    if "${as_pg[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 30 start \
      >/dev/null 2>&1; then
      started=1
      break
    fi
  done
  if [ "$started" != 1 ]; then
    cat "$log" >&2 || true
    echo "pg_test_server.sh: the server did not start (log above)" >&2
    exit 1
  fi
  local ready=0
  for _ in $(seq 1 60); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
      ready=1
      break
    fi
    sleep 0.5
  done
  if [ "$ready" != 1 ]; then
    cat "$log" >&2 || true
    echo "pg_test_server.sh: the server does not accept connections after 30 s" >&2
    exit 1
  fi
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres encmol_test
  echo "postgresql://postgres@127.0.0.1:$port/encmol_test" >"$dir/url"
  cat "$dir/url"
}

case "$command" in
  start) start_server ;;
  stop) stop_server ;;
  *)
    echo "usage: pg_test_server.sh start|stop DIR" >&2
    exit 2
    ;;
esac

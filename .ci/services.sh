#!/usr/bin/env bash
# Makes sure the shared test servers are up, starting them if not:
#   Redis       127.0.0.1:6379
#   PostgreSQL  127.0.0.1:5432, database `test`, trust auth for 127.0.0.1
# Installs the Debian packages when a binary is missing, then waits until
# both answer. Safe to run again: a server that already answers is left alone.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
WAIT_SECONDS=${WAIT_SECONDS:-30}

install() {
  echo "services: installing $*"
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

# Polls a command until it succeeds, for at most WAIT_SECONDS.
wait_for() {
  local what=$1
  shift
  for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
    if "$@" >/dev/null 2>&1; then
      echo "services: $what is up"
      return 0
    fi
    sleep 0.1
  done
  echo "services: $what did not answer within ${WAIT_SECONDS}s" >&2
  return 1
}

# --- Redis -------------------------------------------------------------------
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || install redis-server

redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if ! redis_up; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for "Redis on 127.0.0.1:6379" redis_up

# --- PostgreSQL --------------------------------------------------------------
command -v pg_ctlcluster >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || install postgresql

pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_hba=/etc/postgresql/$pg_version/main/pg_hba.conf
psql_local() { su postgres -c "psql -XtAq $*"; }

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || echo "services: pg_ctlcluster start failed; waiting anyway" >&2
fi
wait_for "PostgreSQL on 127.0.0.1:5432" pg_up

# Tests connect as postgres without a password: trust TCP connections from this machine only.
if ! psql -XtAq -h 127.0.0.1 -U postgres -d postgres -w -c 'SELECT 1' >/dev/null 2>&1; then
  echo "services: trusting 127.0.0.1 in $pg_hba"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$pg_hba"
  psql_local "-c 'SELECT pg_reload_conf()'" >/dev/null
  wait_for "PostgreSQL trust auth" psql -XtAq -h 127.0.0.1 -U postgres -d postgres -w -c 'SELECT 1'
fi

if [ "$(psql -XtAq -h 127.0.0.1 -U postgres -d postgres -w -c "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  echo "services: creating database test"
  psql -XtAq -h 127.0.0.1 -U postgres -d postgres -w -c 'CREATE DATABASE test'
fi
wait_for "PostgreSQL database test" psql -XtAq -h 127.0.0.1 -U postgres -d test -w -c 'SELECT 1'

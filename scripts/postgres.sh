#!/usr/bin/env bash
# postgres.sh starts a private PostgreSQL cluster for Vigil's tests (the
# store's PostgreSQL dialect) and prints its connection URL on stdout.
#
# It is idempotent: it installs PostgreSQL from apt when missing, creates
# the cluster once (under $VIGIL_PG_DIR, default /tmp/vigil-postgres-PORT),
# starts it when it is not running, and makes sure the role and database
# "vigil" (password "vigil", allowed to create databases: each test makes
# its own) exist. The cluster listens on 127.0.0.1 and a unix socket in its
# data directory only. It trades durability for speed (fsync off): it
# holds nothing but test data.
#
#   scripts/postgres.sh        start (or reuse) and print the URL
#   scripts/postgres.sh stop   stop the cluster
#
# The store tests run it once per test binary unless VIGIL_TEST_POSTGRES
# already names a server.
set -euo pipefail

port="${VIGIL_PG_PORT:-55432}"
dir="${VIGIL_PG_DIR:-/tmp/vigil-postgres-$port}"
user=vigil
password=vigil

log() { echo "postgres.sh: $*" >&2; }

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi

bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
	log "installing postgresql"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >&2
	$sudo apt-get install -y -qq --no-install-recommends postgresql >&2
fi
bin="$(bindir)"

# The server refuses to run as root: as root, run it as the postgres user
# the package creates.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# One caller at a time sets the cluster up.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

if [ "${1:-}" = "stop" ]; then
	if [ -s "$dir/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2
	fi
	exit 0
fi

if [ ! -s "$dir/PG_VERSION" ]; then
	log "creating cluster in $dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres:postgres "$dir"
	fi
	chmod 700 "$dir"
	as_owner "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 || {
		cat "$dir.initdb.log" >&2
		exit 1
	}
	cat >>"$dir/postgresql.conf" <<EOF
# vigil test cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
EOF
fi

if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
	log "starting cluster on 127.0.0.1:$port"
	as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >&2 9>&- || {
		tail -n 50 "$dir/server.log" >&2 || true
		exit 1
	}
fi

psql() { as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(psql -c "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != "1" ]; then
	psql -c "CREATE ROLE $user LOGIN CREATEDB PASSWORD '$password'" >&2
fi
if [ "$(psql -c "SELECT 1 FROM pg_database WHERE datname = '$user'")" != "1" ]; then
	psql -c "CREATE DATABASE $user OWNER $user" >&2
fi

echo "postgres://$user:$password@127.0.0.1:$port/$user?sslmode=disable"

#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Starts the distribution's PostgreSQL cluster for the integration tests and prints its URL.
#
# For CI on Debian 12 with the `postgresql` package installed, run as root. Idempotent: it can
# run again on a machine where the cluster, the role or the database already exist.
# Only the URL goes to stdout, so callers can do:
#   export NEXUS_TEST_DATABASE_URL="$(tests/testkit/start-postgres.sh)"
set -eu

password="${NEXUS_TEST_DB_PASSWORD:-nexus-test-password}"
role=nexus
database=nexus_test

log() { printf 'start-postgres: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "run me as root (I start the cluster and run psql as the postgres user)"
    exit 1
fi

# The newest installed cluster, e.g. "15 main"; create one if the package did not.
cluster="$(pg_lsclusters --no-header 2>/dev/null | sort -k1,1n | tail -n 1 | awk '{print $1" "$2}')"
if [ -z "$cluster" ]; then
    version="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
    log "no cluster found; creating $version main"
    pg_createcluster "$version" main >&2
    cluster="$version main"
fi
set -- $cluster
version="$1"
name="$2"
port="$(pg_conftool "$version" "$name" show port 2>/dev/null | sed 's/.*= *//; s/[^0-9]//g')"
port="${port:-5432}"

if ! pg_ctlcluster "$version" "$name" status >/dev/null 2>&1; then
    log "starting cluster $version/$name"
    pg_ctlcluster "$version" "$name" start >&2
fi

tries=0
until pg_isready -q -h 127.0.0.1 -p "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        log "PostgreSQL did not answer on 127.0.0.1:$port within 30 s"
        exit 1
    fi
    sleep 0.5
done

psql_admin() {
    runuser -u postgres -- psql --no-psqlrc -q -v ON_ERROR_STOP=1 -p "$port" "$@"
}

# The password is passed as a psql variable, so :'password' quotes it as an SQL literal.
psql_admin -v password="$password" >&2 <<'SQL'
SELECT format('CREATE ROLE nexus LOGIN PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nexus') \gexec
SELECT format('ALTER ROLE nexus LOGIN PASSWORD %L', :'password') \gexec
SELECT 'CREATE DATABASE nexus_test OWNER nexus'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'nexus_test') \gexec
SQL

log "ready: database $database, role $role, port $port"
# Percent-encode a custom password unless it only has URL-safe characters.
encoded="$password"
if printf '%s' "$password" | grep -q '[^A-Za-z0-9._~-]'; then
    encoded="$(printf '%s' "$password" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g')"
fi
printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$role" "$encoded" "$port" "$database"

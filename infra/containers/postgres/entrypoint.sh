#!/bin/sh
# The official postgres image's contract, in short: on an empty data directory, create the
# cluster with POSTGRES_USER (password POSTGRES_PASSWORD, scram) and the database POSTGRES_DB;
# then run the command (postgres) in place of this script, so it gets the signals.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >"$password_file"
    initdb --username="${POSTGRES_USER:-postgres}" --pwfile="$password_file" --auth=scram-sha-256 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
        # A server on the socket only, for as long as it takes to create the database.
        pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start >/dev/null
        PGPASSWORD=$POSTGRES_PASSWORD psql --quiet --set=ON_ERROR_STOP=1 --username="${POSTGRES_USER:-postgres}" \
            --dbname=postgres --command="CREATE DATABASE \"$POSTGRES_DB\""
        pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop >/dev/null
    fi
fi
exec "$@"

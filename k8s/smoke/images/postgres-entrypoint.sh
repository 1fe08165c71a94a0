#!/bin/sh
# Initialises PGDATA on first start (trust authentication: a throw-away smoke database), then runs postgres.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}" "${PGPORT:=5432}" "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  runuser -u postgres -- initdb -D "$PGDATA" -U "$POSTGRES_USER" --auth=trust -E UTF8 --no-sync >/dev/null
  echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" \
    | runuser -u postgres -- postgres --single -D "$PGDATA" -j postgres >/dev/null
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -p "$PGPORT" -c listen_addresses='*' -c fsync=off

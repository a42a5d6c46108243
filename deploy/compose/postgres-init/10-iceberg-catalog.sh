#!/bin/sh
# Runs once, when the postgres-data volume is empty (the image's /docker-entrypoint-initdb.d).
# The Iceberg catalog gets its own role and database, so the platform's catalog password cannot
# read or change Dagster's run history, and Dagster's cannot touch the tables' metadata pointers.
set -eu
: "${CATALOG_POSTGRES_PASSWORD:?set CATALOG_POSTGRES_PASSWORD (make compose-env)}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=catalog_password="${CATALOG_POSTGRES_PASSWORD}" <<'SQL'
CREATE ROLE iceberg LOGIN PASSWORD :'catalog_password';
CREATE DATABASE iceberg_catalog OWNER iceberg;
REVOKE ALL ON DATABASE iceberg_catalog FROM PUBLIC;
REVOKE ALL ON DATABASE dagster FROM PUBLIC;
SQL

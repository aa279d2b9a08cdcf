#!/bin/sh
# The schema job of docker-compose.yml (temporalio/admin-tools): Temporal's own sql tool creates the
# databases and their schemas, as Temporal's samples-server compose does. Safe on every `up`:
# create-database and setup-schema leave an existing database and schema version alone, update-schema
# applies only what is new. test/support/temporal-cluster.ts runs the same for `npm run test:cluster`.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}"
DB_PORT=${DB_PORT:-5432}
SCHEMA_DIR=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
TEMPORAL_DATABASES=${TEMPORAL_DATABASES:-temporal temporal_visibility}

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done

for db in $TEMPORAL_DATABASES; do
  case "$db" in
    *visibility*) versioned="$SCHEMA_DIR/visibility/versioned" ;;
    *) versioned="$SCHEMA_DIR/temporal/versioned" ;;
  esac
  # SQL_PASSWORD comes from the environment
  tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $DB_PORT -u $POSTGRES_USER --db $db"
  $tool create-database
  $tool setup-schema -v 0.0
  $tool update-schema -d "$versioned"
done
echo "Temporal schemas are up to date: $TEMPORAL_DATABASES"

#!/bin/sh
# The setup job of docker-compose.yml (temporalio/admin-tools), once the server answers: registers the
# namespace (the sql setup does not) and the Forge search attributes, like `forge-jobs setup`. Idempotent:
# an existing namespace is left alone, and attributes that exist already are skipped by the server.
set -eu

TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${NAMESPACE_RETENTION:-30d}
: "${FORGE_SEARCH_ATTRIBUTES:?list of Name=Type}"

echo "waiting for Temporal at $TEMPORAL_ADDRESS..."
attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then echo "Temporal did not become healthy"; exit 1; fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
fi

# A new namespace takes a moment to be served everywhere: retry each attribute for a while.
for pair in $FORGE_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  attempt=0
  until temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --name "$name" --type "$type"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then echo "could not register search attribute $name"; exit 1; fi
    sleep 2
  done
done
temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE"
echo "namespace $NAMESPACE and the Forge search attributes are ready"

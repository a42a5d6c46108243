#!/usr/bin/env bash
# End to end: `dagster job execute` of bootstrap_platform against a fresh state directory, twice
# (the second run must reuse the store and change nothing), then stop the store.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
state=$(mktemp -d)
free_port() { $PY -c 'from tools.local_servers import free_port; print(free_port())'; }
# Every server on a free port: never a user's 9000/8181/15002 (the Spark steps start the Spark
# Connect server, the default PLATFORM_SPARK_MODE=connect; `cli down` in cleanup stops it).
export PLATFORM_STATE_DIR="$state" PLATFORM_S3_PORT=$(free_port) PLATFORM_CONSOLE_PORT=$(free_port) PLATFORM_REST_CATALOG_PORT=$(free_port) PLATFORM_SPARK_CONNECT_PORT=$(free_port)
# Assigned first: `export X="$(cmd)"` would hide a failure of cmd from `set -e`.
DAGSTER_HOME="$($PY -m platform_defs.cli dagster-home)"
export DAGSTER_HOME
cleanup() { $PY -m platform_defs.cli down >/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT

for attempt in first second; do
  log="$state/$attempt.log"
  start=$EPOCHREALTIME
  if ! .venv/bin/dagster job execute -m platform_defs.definitions -j bootstrap_platform \
      -c config/bootstrap.yaml >"$log" 2>&1; then
    cat "$log"; echo "e2e: $attempt bootstrap run failed" >&2; exit 1
  fi
  secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  if ! report=$($PY scripts/last_run_report.py bootstrap_platform 2); then
    cat "$log"; echo "e2e: $attempt run recorded as: $report" >&2; exit 1
  fi
  echo "e2e: $attempt run in ${secs}s: $report"
  if [ "$attempt" = second ] && [[ "$report" != *"store=reused"* ]]; then
    echo "e2e: the second run did not reuse the running store" >&2; exit 1
  fi
done
$PY -m platform_defs.cli status

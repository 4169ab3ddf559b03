#!/usr/bin/env bash
# Run under scripts/with-postgres (bench/run does): loads the catalogue benchmark into SQLite and
# PostGIS, keeps both, then measures the standard search over HTTP through every catalogue API
# against each store (bench/catalog_http.py), beside the bare engine and SQL figures.
set -euo pipefail
build=$1
work=$2
here=$(cd "$(dirname "$0")/.." && pwd)
keep="$work/catalogue-bench"
BENCH_CATALOG_KEEP="$keep" "$build/bench/bench_catalog"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve_and_measure() {  # label [extra serve flags...]
  local label=$1; shift
  local port; port=$(free_port)
  "$build/dataspace" serve --data "$keep" --listen "127.0.0.1:$port" --access-log off --log-level warn "$@" &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  /usr/bin/python3 "$here/bench/catalog_http.py" "http://127.0.0.1:$port" "$keep" "$label" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
echo
echo "== catalogue APIs over HTTP: standard search, end to end (same run, same databases)"
serve_and_measure sqlite
if [ -n "${DATASPACE_PG_URL:-}" ] && [ -f "$keep/sql-postgis.json" ]; then
  serve_and_measure postgis --catalog-url "$DATASPACE_PG_URL"
fi

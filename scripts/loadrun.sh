#!/usr/bin/env bash
# Loopback load run: requests per second of the quickstart's protected `/me` (JWT verified
# on every request) against its bare `/public`, on the same server in the same run.
#
#   scripts/loadrun.sh                 # 10 s per route, 1 wrk thread, 32 connections
#   DURATION=5s CONNECTIONS=64 PORT=3999 scripts/loadrun.sh
#
# Needs wrk (`apt-get install -y wrk`). Traffic goes to 127.0.0.1 only; the server started
# here is stopped by its PID when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-3999}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
BASE="http://127.0.0.1:${PORT}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

cargo build --release --example quickstart
TOKENGATE_BIND="127.0.0.1:${PORT}" ./target/release/examples/quickstart >/tmp/tokengate-loadrun-server.log 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
    curl -fs "${BASE}/public" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "${BASE}/public" >/dev/null

TOKEN=$(curl -fs -X POST "${BASE}/dev/token" -H 'content-type: application/json' \
    -d '{"sub":"load","scope":"orders:read","tenant_id":"acme","region":"eu","ttl_secs":3600}' \
    | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}" "${BASE}/me")" = 200

run() { # path [header]
    local out
    if [ $# -gt 1 ]; then
        out=$(timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$2" "${BASE}$1")
    else
        out=$(timeout 60 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "${BASE}$1")
    fi
    echo "$out" >&2
    if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx responses on $1" >&2; exit 1; fi
    echo "$out" | awk '/Requests\/sec/ {print $2}'
}

echo "== GET /public (no auth)" >&2
PUBLIC=$(run /public)
echo "== GET /me (JWT verified, ES256)" >&2
ME=$(run /me "Authorization: Bearer ${TOKEN}")

echo
echo "GET /public: ${PUBLIC} req/s"
echo "GET /me:     ${ME} req/s"
awk -v me="$ME" -v pub="$PUBLIC" 'BEGIN { printf "ratio /me : /public = %.3f\n", me / pub }'

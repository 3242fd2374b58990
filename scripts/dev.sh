#!/usr/bin/env bash
# `make dev`: FerretDB (data under ./var/ferretdb), Redis, the API server and a worker, in the
# foreground on embedded defaults. Ctrl-C stops them all. Existing MONGODB_URI / REDIS_URL win.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${BRIEFING_TOOLS_DIR:-$HOME/.cache/bangguseok/bin}"
mkdir -p var/ferretdb var/redis
pids=()
started_ports=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

MONGO_PORT="${DEV_MONGO_PORT:-27017}"
REDIS_PORT="${DEV_REDIS_PORT:-6379}"
if [ -z "${MONGODB_URI:-}" ]; then
  "$TOOLS/ferretdb" --handler=sqlite --sqlite-url="file:$PWD/var/ferretdb/?_txlock=immediate" --state-dir="$PWD/var/ferretdb" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --telemetry=disable --debug-addr=- --log-level=warn &
  pids+=($!)
  started_ports+=("$MONGO_PORT")
  export MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/briefing"
fi
if [ -z "${REDIS_URL:-}" ]; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/var/redis" --save 60 1 --appendonly no \
    --loglevel warning &
  pids+=($!)
  started_ports+=("$REDIS_PORT")
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
export BRIEFING_ENV="${BRIEFING_ENV:-dev}"
for port in "${started_ports[@]}"; do  # wait for what we started; the API waits for the rest
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
.venv/bin/python -m server.cli worker &
pids+=($!)
.venv/bin/python -m server.cli serve &
pids+=($!)
echo "Bangguseok Briefing: http://${BRIEFING_HOST:-127.0.0.1}:${BRIEFING_PORT:-8000}/graphql (GraphiQL in a browser). Ctrl-C stops everything."
wait -n "${pids[@]}"

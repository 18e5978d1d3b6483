#!/usr/bin/env bash
# The README's first command (`npm run demo`): on a fresh machine with no container registry,
# installs what kiln needs, makes the node:20 and node:20-slim base images locally if the store
# lacks them, builds examples/node-app (a two-stage Dockerfile) — the build ends with its size
# report: the final image layer by layer, and the builder stage it did not ship — runs it and
# shows its HTTP answer, then stops it (nothing is left running). Idempotent: a second run
# reuses the base images and the build cache and takes seconds. test/demo.test.ts runs it twice
# in a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
export KILN_ROOT=${KILN_ROOT:-/var/lib/kiln}
PORT=${PORT:-3000}
TAG=${TAG:-kiln-demo/node-app:latest}
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
kiln() { bin/kiln "$@"; }

say "dependencies (npm, Debian packages) and kiln itself"
bash scripts/ensure-deps.sh
# compile only when a source changed since the last compile (a second run needs no compiler)
stamp=dist/.kiln-build-stamp
if [ ! -f "$stamp" ] || [ ! -f dist/src/cli/main.js ] || [ -n "$(find src bin native scripts/bundle.mjs scripts/build-native.mjs tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -print -quit)" ]; then
  npm run -s build
  touch "$stamp"
fi

if ! kiln inspect node:20 >/dev/null 2>&1 || ! kiln inspect node:20-slim >/dev/null 2>&1; then
  say "base images node:20 and node:20-slim (built locally: no registry is reachable)"
  layout=${KILN_BASE_LAYOUT:-/var/cache/kiln/base-layout}
  ONLY="node-slim node" bash scripts/make-base-images.sh --oci-layout "$layout"
  kiln load -i "$layout"
fi

say "kiln build -t $TAG examples/node-app  (ends with what the multi-stage build saved: final image vs builder)"
t0=$(date +%s.%N)
kiln build --progress plain --size-report -t "$TAG" examples/node-app
t1=$(date +%s.%N)

say "kiln run $TAG  (serves HTTP on port $PORT)"
if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  echo "port $PORT is already in use: stop what serves it, or run PORT=3001 npm run demo" >&2; exit 1
fi
log=$(mktemp)
# bin/kiln directly (it execs node), not the kiln() function: $! must be kiln itself so the trap stops the container
bin/kiln run --rm -e PORT="$PORT" "$TAG" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  if answer=$(curl -fsS "http://127.0.0.1:$PORT/" 2>/dev/null); then break; fi
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; echo "the container exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "${answer:-}" ] || { cat "$log" >&2; echo "no HTTP answer on port $PORT" >&2; exit 1; }
echo "GET http://127.0.0.1:$PORT/ -> $answer"
echo "GET /healthz -> $(curl -fsS "http://127.0.0.1:$PORT/healthz")"

# stop the container (kiln run stops and deletes it on SIGTERM) and make sure the port is free
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
trap 'rm -f "$log"' EXIT
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null || break
  sleep 0.1
done
if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then echo "the app still answers on port $PORT after kiln run was stopped" >&2; exit 1; fi
echo "stopped the container; port $PORT is free again"
printf '\nbuild took %.1fs (run `npm run demo` again: everything comes from the cache)\n' "$(echo "$t1 - $t0" | bc)"

#!/usr/bin/env bash
# Run our daemons in the foreground on NSQ's default ports, like NSQ's quick start:
#   nsqlookupd (4160 TCP / 4161 HTTP)      if target/debug/nsqlookupd exists
#   nsqd       (4150 TCP / 4151 HTTP)      registering with nsqlookupd when it runs
#   nsqadmin   (4171 HTTP)                 if target/debug/nsqadmin exists
# Ctrl-C (or SIGTERM) stops all of them. Data lives in .cache/run-local/.
# BIN_DIR overrides where the binaries are taken from (e.g. BIN_DIR=bench/.build/bin).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${BIN_DIR:-$root/target/debug}
data="$root/.cache/run-local"
mkdir -p "$data/nsqd"

pids=()
stop() {
  trap - INT TERM EXIT
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

[ -x "$bin/nsqd" ] || { echo "run-local: $bin/nsqd not found (make build)" >&2; exit 1; }

nsqd_args=(--data-path="$data/nsqd")
if [ -x "$bin/nsqlookupd" ]; then
  echo "run-local: starting nsqlookupd (tcp 4160, http 4161)"
  "$bin/nsqlookupd" &
  pids+=($!)
  nsqd_args+=(--lookupd-tcp-address=127.0.0.1:4160)
fi

echo "run-local: starting nsqd (tcp 4150, http 4151), data in $data/nsqd"
"$bin/nsqd" "${nsqd_args[@]}" &
pids+=($!)

if [ -x "$bin/nsqadmin" ]; then
  echo "run-local: starting nsqadmin (http 4171)"
  if [ -x "$bin/nsqlookupd" ]; then
    "$bin/nsqadmin" --lookupd-http-address=127.0.0.1:4161 &
  else
    "$bin/nsqadmin" --nsqd-http-address=127.0.0.1:4151 &
  fi
  pids+=($!)
fi

echo "run-local: running (pids ${pids[*]}); Ctrl-C to stop"
# Exit as soon as any daemon exits; the EXIT trap stops the others.
wait -n "${pids[@]}"

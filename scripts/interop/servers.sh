#!/usr/bin/env bash
# Install, start and stop the third-party servers the interop tests drive (LiteLLM's proxy and
# llama.cpp's server), each on a loopback port, each in its own venv under .interop/.
#
#   scripts/interop/servers.sh start   # installs if needed, starts both, writes .interop/env
#   scripts/interop/servers.sh stop    # stops both by PID
#
# Each server has its own script (litellm.sh, llamacpp.sh) with `install`, `start` and `stop`;
# `start` must return only once the server answers (or fail within its time bound), and write
# `.interop/<name>.env` (KEY=VALUE lines for the tests) and `.interop/<name>.pid`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${SWITCHBOARD_INTEROP_DIR:-$ROOT/.interop}"
mkdir -p "$STATE"
export SWITCHBOARD_INTEROP_DIR="$STATE"
SERVERS="${SWITCHBOARD_INTEROP_SERVERS:-litellm llamacpp}"

case "${1:-}" in
  start)
    : > "$STATE/env"
    for s in $SERVERS; do
      bash "$HERE/$s.sh" install
      bash "$HERE/$s.sh" start
      cat "$STATE/$s.env" >> "$STATE/env"
    done
    ;;
  stop)
    for s in $SERVERS; do
      bash "$HERE/$s.sh" stop || true
    done
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# llama.cpp's server (llama-cpp-python[server]) for the interop tests: real inference, offline.
#
#   scripts/interop/llamacpp.sh install   # venv at $SWITCHBOARD_INTEROP_DIR/venv-llamacpp (once)
#   scripts/interop/llamacpp.sh start     # model + server; writes llamacpp.env and llamacpp.pid
#   scripts/interop/llamacpp.sh stop      # stops the server by PID (SIGTERM, then SIGKILL)
#
# No model is downloaded: `start` writes a tiny random-weight llama model in GGUF with
# make_tiny_gguf.py (seeded, so identical everywhere and fixed at temperature 0) and serves it with
# --embedding, so chat, legacy completions and embeddings come from one process. The API key is
# random per start and is written only to $SWITCHBOARD_INTEROP_DIR/llamacpp.env (gitignored).
#
# The first install compiles llama.cpp from source (about 25 minutes on 2 cores here); pip keeps the
# built wheel in its cache, so later installs into a fresh venv take seconds.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${SWITCHBOARD_INTEROP_DIR:-$ROOT/.interop}"
mkdir -p "$STATE"
# Bounds, in seconds, so CI never hangs on this script.
INSTALL_TIMEOUT="${SWITCHBOARD_LLAMACPP_INSTALL_TIMEOUT:-2400}"
START_TIMEOUT="${SWITCHBOARD_LLAMACPP_START_TIMEOUT:-120}"
# Pinned: a new release would mean another ~25-minute compile on a machine whose pip cache has
# this one.
LLAMACPP_SPEC="${SWITCHBOARD_LLAMACPP_SPEC:-llama-cpp-python[server]==0.3.36}"
N_CTX="${SWITCHBOARD_LLAMACPP_N_CTX:-4096}"
MODEL_ALIAS="switchboard-tiny"

# find_python (same Python rules as the app's venv) and log(). _setup.sh sets its own VENV (the
# app's venv): this script never touches that one, so its own venv has a distinct name.
# shellcheck source=../_setup.sh
source "$ROOT/scripts/_setup.sh"
LLAMA_VENV="$STATE/venv-llamacpp"
PY="$LLAMA_VENV/bin/python"
MODEL_FILE="$STATE/llamacpp-tiny.gguf"
PID_FILE="$STATE/llamacpp.pid"
ENV_FILE="$STATE/llamacpp.env"
LOG_FILE="$STATE/llamacpp.log"

installed() {
  [ -x "$PY" ] && [ -f "$LLAMA_VENV/.installed" ] \
    && "$PY" -c 'import llama_cpp.server.app, gguf, numpy' >/dev/null 2>&1
}

do_install() {
  if installed; then
    log "llama-cpp-python already installed in $LLAMA_VENV"
    return 0
  fi
  local py started
  py="$(find_python)" || { log "Python 3.12 or 3.13 is required for llama.cpp's venv"; exit 1; }
  started=$(date +%s)
  log "Creating $LLAMA_VENV with: $py"
  rm -rf "$LLAMA_VENV"
  env $py -m venv "$LLAMA_VENV"
  log "Installing $LLAMACPP_SPEC gguf numpy (the first time compiles llama.cpp: ~25 min on 2 cores; bounded to ${INSTALL_TIMEOUT}s)"
  timeout "$INSTALL_TIMEOUT" "$PY" -m pip install -q --disable-pip-version-check \
    "$LLAMACPP_SPEC" gguf==0.19.0 "numpy>=2,<3"
  touch "$LLAMA_VENV/.installed"
  log "llama-cpp-python installed in $(( $(date +%s) - started ))s: $("$PY" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
}

running_pid() {
  # The PID in the pid file when that process is still alive, else nothing.
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

do_stop() {
  local pid i
  if pid="$(running_pid)"; then
    log "Stopping llama.cpp server (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "llama.cpp server did not stop in 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PID_FILE" "$ENV_FILE"
}

do_start() {
  installed || { log "llama-cpp-python is not installed: run '$0 install' first"; exit 1; }
  do_stop
  if [ ! -s "$MODEL_FILE" ]; then
    log "Writing the tiny random-weight model to $MODEL_FILE"
    "$PY" "$HERE/make_tiny_gguf.py" "$MODEL_FILE" >&2
  fi
  local port key started pid
  port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  key="sk-llamacpp-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
  started=$(date +%s.%N)
  # Unbuffered, so the server's "Disconnected from client" lines reach the log as they happen
  # (the cancellation test reads them).
  PYTHONUNBUFFERED=1 nohup "$PY" -m llama_cpp.server \
    --model "$MODEL_FILE" --model_alias "$MODEL_ALIAS" \
    --host 127.0.0.1 --port "$port" --api_key "$key" \
    --embedding true --n_ctx "$N_CTX" --seed 0 --verbose false \
    >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "llama.cpp server starting on 127.0.0.1:$port (pid $pid, log $LOG_FILE)"
  # Wait (bounded) until /v1/models answers with the key; print the model id it reports.
  local model
  if ! model="$(SB_URL="http://127.0.0.1:$port" SB_KEY="$key" SB_PID="$pid" SB_TIMEOUT="$START_TIMEOUT" "$PY" - <<'EOF'
import json, os, sys, time, urllib.request
url, key, pid = os.environ["SB_URL"], os.environ["SB_KEY"], int(os.environ["SB_PID"])
deadline = time.monotonic() + float(os.environ["SB_TIMEOUT"])
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("the server exited during start-up")
    req = urllib.request.Request(url + "/v1/models", headers={"Authorization": "Bearer " + key})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            print(json.load(resp)["data"][0]["id"])
            sys.exit(0)
    except Exception:
        time.sleep(0.25)
sys.exit("no answer from /v1/models in time")
EOF
  )"; then
    log "llama.cpp server did not come up; the end of its log:"
    tail -n 30 "$LOG_FILE" >&2 || true
    do_stop
    exit 1
  fi
  {
    echo "SWITCHBOARD_LLAMACPP_URL=http://127.0.0.1:$port"
    echo "SWITCHBOARD_LLAMACPP_KEY=$key"
    echo "SWITCHBOARD_LLAMACPP_MODEL=$model"
    echo "SWITCHBOARD_LLAMACPP_N_EMBD=$(cd "$HERE" && PYTHONDONTWRITEBYTECODE=1 "$PY" -c 'import make_tiny_gguf as m; print(m.N_EMBD)')"
    echo "SWITCHBOARD_LLAMACPP_LOG=$LOG_FILE"
  } >"$ENV_FILE"
  chmod 600 "$ENV_FILE"
  log "llama.cpp server ready in $("$PY" -c "import time; print(f'{time.time() - $started:.1f}')")s: model $model"
}

case "${1:-}" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# LiteLLM's proxy for the interop tests: offline, on a loopback port, every model a mock.
#
#   scripts/interop/litellm.sh install   # venv at $SWITCHBOARD_INTEROP_DIR/venv-litellm (once)
#   scripts/interop/litellm.sh start     # config + image host + proxy; writes litellm.env/.pid
#   scripts/interop/litellm.sh stop      # stops both by PID (SIGTERM, then SIGKILL)
#
# The master key is random per start and is written only to $SWITCHBOARD_INTEROP_DIR/litellm.env
# (gitignored). The models (see litellm_config.yaml, rendered into the state directory):
#   mock-chat        chat/completions with a fixed mock_response (streams too)
#   mock-long        a ~17 kB mock reply (~5,700 streamed chunks): stopping mid-stream
#   mock-slow        a reply after mock_delay 30 s, before any header (timeouts, cancellation)
#   mock-ratelimit   always fails with LiteLLM's RateLimitError (HTTP 429)
#   mock-embed       embeddings (LiteLLM's mock returns ONE vector whatever the input count)
#   mock-image       image generation returning a URL on the loopback image host started here
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${SWITCHBOARD_INTEROP_DIR:-$ROOT/.interop}"
mkdir -p "$STATE"
# Bounds, in seconds, so CI never hangs on this script.
INSTALL_TIMEOUT="${SWITCHBOARD_LITELLM_INSTALL_TIMEOUT:-900}"
START_TIMEOUT="${SWITCHBOARD_LITELLM_START_TIMEOUT:-120}"
# Pinned: the tests assert this version's exact replies (error shapes, mock behaviour).
LITELLM_SPEC="${SWITCHBOARD_LITELLM_SPEC:-litellm[proxy]==1.106.2}"

# find_python (same Python rules as the app's venv) and log(). _setup.sh sets its own VENV (the
# app's venv): this script must never touch that one, so its own venv has a distinct name.
# shellcheck source=../_setup.sh
source "$ROOT/scripts/_setup.sh"
LITELLM_VENV="$STATE/venv-litellm"

installed() {
  # The stamp holds the spec it was installed from: a new pin reinstalls.
  [ -x "$LITELLM_VENV/bin/litellm" ] && [ "$(cat "$LITELLM_VENV/.installed" 2>/dev/null)" = "$LITELLM_SPEC" ] \
    && "$LITELLM_VENV/bin/python" -c 'import importlib.metadata as m; m.version("litellm"); m.version("fastapi")' \
      >/dev/null 2>&1
}

do_install() {
  if installed; then
    log "LiteLLM already installed in $LITELLM_VENV"
    return 0
  fi
  local py started
  py="$(find_python)" || { log "Python 3.12 or 3.13 is required for LiteLLM's venv"; exit 1; }
  started=$(date +%s)
  log "Creating $LITELLM_VENV with: $py"
  rm -rf "$LITELLM_VENV"
  env $py -m venv "$LITELLM_VENV"
  log "Installing $LITELLM_SPEC (takes a few minutes; bounded to ${INSTALL_TIMEOUT}s)"
  timeout "$INSTALL_TIMEOUT" "$LITELLM_VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "$LITELLM_SPEC"
  printf '%s' "$LITELLM_SPEC" > "$LITELLM_VENV/.installed"
  log "LiteLLM installed in $(( $(date +%s) - started ))s: $("$LITELLM_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')"
}

PID_FILE="$STATE/litellm.pid"
HOST_PID_FILE="$STATE/litellm-images.pid"
ENV_FILE="$STATE/litellm.env"
LOG_FILE="$STATE/litellm.log"
CONFIG="$STATE/litellm_config.yaml"

stop_pid_file() {
  # SIGTERM, up to ~10 s for a clean exit, then SIGKILL. Only the PID this script started.
  local file="$1" pid i
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "PID $pid did not stop after SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

do_stop() {
  stop_pid_file "$PID_FILE"
  stop_pid_file "$HOST_PID_FILE"
  rm -f "$ENV_FILE" "$STATE/litellm-images.port"
}

free_port() {
  "$LITELLM_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

do_start() {
  installed || { log "LiteLLM is not installed: run $0 install"; exit 1; }
  do_stop  # a leftover from an earlier run would hold the state files
  local started py port key image_port i
  started=$(date +%s)
  py="$LITELLM_VENV/bin/python"

  # 1. The loopback image host (LiteLLM's image mock only ever returns a URL).
  rm -f "$STATE/litellm-images.port"
  "$py" "$HERE/image_host.py" "$STATE" >>"$STATE/litellm-images.log" 2>&1 &
  echo $! > "$HOST_PID_FILE"
  for i in $(seq 1 50); do
    [ -s "$STATE/litellm-images.port" ] && break
    kill -0 "$(cat "$HOST_PID_FILE")" 2>/dev/null || { log "image host died: see $STATE/litellm-images.log"; exit 1; }
    sleep 0.1
  done
  [ -s "$STATE/litellm-images.port" ] || { log "image host did not start"; do_stop; exit 1; }
  image_port="$(cat "$STATE/litellm-images.port")"

  # 2. The config, rendered from the template (no secret in it).
  "$py" - "$HERE/litellm_config.yaml" "$CONFIG" "http://127.0.0.1:${image_port}/mock.png" <<'PY'
import sys
template, target, image_url = sys.argv[1:4]
text = open(template, encoding="utf-8").read()
long_text = " ".join(f"word{i}" for i in range(2000))  # ~17 kB, plain ASCII: YAML-safe
text = text.replace("@IMAGE_URL@", image_url).replace("@LONG_TEXT@", long_text)
open(target, "w", encoding="utf-8").write(text)
PY

  # 3. The proxy, offline: local price map, no telemetry, no update checks, a random master key.
  port="$(free_port)"
  key="sk-$("$py" -c 'import secrets; print(secrets.token_hex(24))')"
  (
    cd "$STATE"
    umask 077
    exec env \
      LITELLM_MASTER_KEY="$key" \
      LITELLM_LOCAL_MODEL_COST_MAP=True \
      LITELLM_TELEMETRY=False \
      LITELLM_DONT_SHOW_FEEDBACK_BOX=True \
      LITELLM_LOG=ERROR \
      DISABLE_SCHEMA_UPDATE=True \
      DO_NOT_TRACK=1 \
      NO_PROXY='*' no_proxy='*' \
      "$LITELLM_VENV/bin/litellm" --config "$CONFIG" --host 127.0.0.1 --port "$port" \
      >"$LOG_FILE" 2>&1
  ) &
  echo $! > "$PID_FILE"

  # 4. Wait (bounded) until it answers.
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until "$py" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/health/liveliness"
with urllib.request.urlopen(url, timeout=2) as r:
    raise SystemExit(0 if r.status == 200 else 1)
PY
  do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      log "LiteLLM exited during start-up; last lines of $LOG_FILE:"
      tail -n 30 "$LOG_FILE" >&2 || true
      do_stop
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "LiteLLM did not answer within ${START_TIMEOUT}s; last lines of $LOG_FILE:"
      tail -n 30 "$LOG_FILE" >&2 || true
      do_stop
      exit 1
    fi
    sleep 0.5
  done

  umask 077
  {
    echo "SWITCHBOARD_LITELLM_URL=http://127.0.0.1:${port}"
    echo "SWITCHBOARD_LITELLM_KEY=${key}"
    echo "SWITCHBOARD_LITELLM_IMAGE_URL=http://127.0.0.1:${image_port}/mock.png"
  } > "$ENV_FILE"
  log "LiteLLM proxy on http://127.0.0.1:${port} (PID $(cat "$PID_FILE")), started in $(( $(date +%s) - started ))s"
}

case "${1:-}" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac

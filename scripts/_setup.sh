# Shared set-up for scripts/run.sh and scripts/test.sh (sourced, not run).
# Installs the Debian libraries Qt needs when it can (root on Debian/Ubuntu), otherwise prints the
# exact command; builds .venv with Python 3.12 or 3.13 and installs the project into it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SWITCHBOARD_VENV:-$ROOT/.venv}"

# Qt's xcb/offscreen platforms, QtMultimedia (libpulse0), fonts; the headless keychain for tests.
DEB_PACKAGES_RUN="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 \
libxcb-render-util0 libxcb-image0 libnss3 libasound2 libpulse0 fonts-dejavu-core"
# appstream, desktop-file-utils: tests/packaging validates the desktop entry and metainfo.
DEB_PACKAGES_TEST="gnome-keyring dbus dbus-x11 xvfb appstream desktop-file-utils"

log() { printf '[switchboard] %s\n' "$*" >&2; }

install_system_packages() {
  local wanted="$1" missing=""
  command -v dpkg-query >/dev/null 2>&1 || { log "Not Debian/Ubuntu: install Qt's runtime libraries (EGL, xkbcommon, fontconfig, PulseAudio client) with your package manager."; return 0; }
  for p in $wanted; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "Installing system packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    log "Missing system packages:$missing"
    log "Install them with:  sudo apt-get install -y$missing"
  fi
}

find_python() {
  # PySide6 6.12 aborts on 3.11 after ~2,000 signal emissions; qasync breaks on 3.14.
  local c
  for c in "${SWITCHBOARD_PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; raise SystemExit(not ((3,12) <= sys.version_info[:2] < (3,14)))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local v
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23]\.' | sort -rV); do
      if PYENV_VERSION="$v" python3 -c 'import sys; raise SystemExit(not ((3,12) <= sys.version_info[:2] < (3,14)))' 2>/dev/null; then
        echo "PYENV_VERSION=$v python3"; return 0
      fi
    done
  fi
  return 1
}

make_venv() {
  local extras="$1" py
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; raise SystemExit(not ((3,12) <= sys.version_info[:2] < (3,14)))' 2>/dev/null; then
    py="$(find_python)" || { log "Python 3.12 or 3.13 is required (PySide6 6.12 aborts on 3.11; qasync breaks on 3.14). Install one, e.g. 'sudo apt-get install python3.12 python3.12-venv' or 'pyenv install 3.13'."; exit 1; }
    log "Creating $VENV with: $py"
    rm -rf "$VENV"
    env $py -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras-$(cat "$ROOT/pyproject.toml" | cksum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ]; then
    log "Installing Switchboard$([ -n "$extras" ] && echo " with [$extras]") into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT${extras:+[$extras]}"
    touch "$stamp"
  fi
}

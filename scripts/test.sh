#!/usr/bin/env bash
# Install what the tests need (once) and run the whole suite: the import contract, then pytest
# inside a D-Bus session with an unlocked GNOME Keyring so the real OS keychain is exercised.
# Arguments go to pytest, e.g. scripts/test.sh tests/core -k sse
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
install_system_packages "$DEB_PACKAGES_RUN $DEB_PACKAGES_TEST"
make_venv "test"
cd "$ROOT"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export PYTHONDONTWRITEBYTECODE=1
log "Checking the import contract (app.core never imports Qt)"
"$VENV/bin/lint-imports" --config pyproject.toml
if command -v dbus-run-session >/dev/null 2>&1 && command -v gnome-keyring-daemon >/dev/null 2>&1; then
  # The keychain tools are here, so the real-keychain tests must run, not skip.
  export SWITCHBOARD_REQUIRE_KEYCHAIN=1
fi

# Interop: LiteLLM's proxy and llama.cpp's server on loopback ports (installed into their own venvs
# under .interop/, started and health-checked within bounded times, stopped by PID on exit).
# SWITCHBOARD_SKIP_INTEROP=1 leaves them out for a quick local run (those tests then skip).
if [ "${SWITCHBOARD_SKIP_INTEROP:-0}" != "1" ]; then
  export SWITCHBOARD_INTEROP_DIR="${SWITCHBOARD_INTEROP_DIR:-$ROOT/.interop}"
  trap 'bash "$ROOT/scripts/interop/servers.sh" stop >/dev/null 2>&1 || true' EXIT
  log "Starting the interop servers (LiteLLM proxy, llama.cpp server)"
  bash "$ROOT/scripts/interop/servers.sh" start
  set -a
  # shellcheck disable=SC1091
  . "$SWITCHBOARD_INTEROP_DIR/env"
  set +a
  # The servers are up, so the interop tests must run, not skip.
  export SWITCHBOARD_REQUIRE_INTEROP=1
fi

# The Linux bundle (PyInstaller, one folder) built from this tree, then its frozen --version and
# --self-test; tests/packaging then checks that bundle too. Cached in .bundle-cache/ (build venv,
# pip cache, PyInstaller work dir). SWITCHBOARD_SKIP_BUNDLE=1 leaves it out of a quick local run.
if [ "${SWITCHBOARD_SKIP_BUNDLE:-0}" != "1" ] && [ "$(uname -s)" = "Linux" ]; then
  log "Building the Linux bundle and running its frozen --version and --self-test"
  bundle_started=$(date +%s)
  bash "$ROOT/scripts/bundle.sh" --check
  log "Bundle built and self-tested in $(( $(date +%s) - bundle_started )) s"
  export SWITCHBOARD_REQUIRE_BUNDLE=1
fi

log "Running the test suite"
status=0
bash "$ROOT/scripts/with-keyring.sh" "$VENV/bin/python" -m pytest -p no:cacheprovider "$@" || status=$?
if [ "$status" = "5" ]; then
  log "pytest ran no tests: treating that as a failure"
fi
exit "$status"

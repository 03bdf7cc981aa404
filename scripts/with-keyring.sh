#!/usr/bin/env bash
# Run a command with a real, unlocked Secret Service keychain, headless (CI, containers, SSH).
#
#   bash scripts/with-keyring.sh /tmp/venv/bin/python -m pytest tests/core/test_keychain_real.py -v
#
# Starts a private D-Bus session (dbus-run-session) and a gnome-keyring-daemon in it, unlocked
# with a throwaway password, so Python's `keyring` picks the SecretService backend. The keyring
# files live in a temporary directory (removed afterwards), never in the user's own keyrings.
# Set SWITCHBOARD_KEYRING_DIR to keep them somewhere else. When dbus-run-session or
# gnome-keyring-daemon is missing, prints the apt-get command that installs them and runs the
# command without a keychain (keychain tests then skip with a reason).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
    echo "with-keyring: dbus-run-session or gnome-keyring-daemon not found; install them with:" >&2
    echo "    sudo apt-get install -y dbus dbus-x11 gnome-keyring" >&2
    echo "with-keyring: running the command without a keychain." >&2
    exec "$@"
fi

keyring_dir="${SWITCHBOARD_KEYRING_DIR:-}"
cleanup_dir=""
if [ -z "$keyring_dir" ]; then
    keyring_dir="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-keyring.XXXXXX")"
    cleanup_dir="$keyring_dir"
fi
mkdir -p "$keyring_dir/keyrings" "$keyring_dir/run"
chmod 700 "$keyring_dir" "$keyring_dir/run"

status=0
SWITCHBOARD_KEYRING_DIR="$keyring_dir" dbus-run-session -- bash -c '
    set -euo pipefail
    # gnome-keyring-daemon keeps its keyrings under $XDG_DATA_HOME/keyrings and its control
    # socket under $XDG_RUNTIME_DIR: only the daemon gets the private directories; the command
    # keeps the caller'"'"'s environment. --unlock creates the "login" keyring with this
    # password when it does not exist yet.
    ctl="$(echo -n pw | XDG_DATA_HOME="$SWITCHBOARD_KEYRING_DIR" \
        XDG_RUNTIME_DIR="$SWITCHBOARD_KEYRING_DIR/run" \
        gnome-keyring-daemon --unlock --components=secrets)"
    # It prints GNOME_KEYRING_CONTROL=...; export what it printed.
    while IFS= read -r line; do
        case "$line" in
            *=*) export "$line" ;;
        esac
    done <<< "$ctl"
    # --unlock returns before the daemon owns its D-Bus name: wait for it (at most ~5 s), so
    # the command finds the Secret Service and the daemon can be stopped afterwards.
    for _ in $(seq 50); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
            | grep -q "boolean true"; then
            break
        fi
        sleep 0.1
    done
    # Stop the daemon we started when the command ends: it may otherwise outlive the bus.
    stop_daemon() {
        local pid
        pid="$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets \
            2>/dev/null | awk '"'"'/uint32/ {print $2}'"'"')" || true
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
        fi
    }
    trap stop_daemon EXIT
    "$@"
' with-keyring "$@" || status=$?

if [ -n "$cleanup_dir" ]; then
    rm -rf -- "$cleanup_dir"
fi
exit "$status"

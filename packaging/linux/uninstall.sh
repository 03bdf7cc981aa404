#!/usr/bin/env bash
# Remove what install.sh put under $PREFIX (default ~/.local): exactly the files it listed in
# $PREFIX/lib/switchboard/.installed, then the app folder itself. Chats, settings and the log
# (the data folder, ~/.local/share/Switchboard) are kept: delete that folder yourself if wanted.
set -euo pipefail

PREFIX="${PREFIX:-$HOME/.local}"
LIB="$PREFIX/lib/switchboard"
QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1

if [ ! -f "$LIB/.installed" ]; then
  echo "uninstall.sh: no Switchboard installed by install.sh under $PREFIX" >&2
  exit 1
fi
while IFS= read -r path; do
  case "$path" in
    "$PREFIX"/*) rm -f -- "$path" ;;  # never anything outside the prefix
  esac
done < "$LIB/.installed"
rm -rf -- "$LIB"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$PREFIX/share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" 2>/dev/null || true
[ "$QUIET" = "1" ] || echo "Switchboard was removed from $PREFIX (your data folder was kept)."

#!/usr/bin/env bash
# Install Switchboard from this unpacked tarball into your own prefix (no root needed):
#
#   ./install.sh                 # into ~/.local
#   PREFIX=/opt/me ./install.sh  # elsewhere
#
# Puts the app in $PREFIX/lib/switchboard, a `switchboard` symlink in $PREFIX/bin, the desktop
# entry, the AppStream metainfo and the icons under $PREFIX/share. Every file it adds is listed
# in $PREFIX/lib/switchboard/.installed, which $PREFIX/lib/switchboard/uninstall.sh removes again.
# Your chats and settings live in the data folder (~/.local/share/Switchboard) and are not touched.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
APP_ID="io.github.switchboard.Switchboard"
LIB="$PREFIX/lib/switchboard"
BIN="$PREFIX/bin/switchboard"
SHARE="$PREFIX/share"

[ -x "$HERE/switchboard/switchboard" ] || { echo "install.sh: run it from the unpacked tarball (no switchboard/switchboard here)" >&2; exit 1; }

if [ -e "$LIB" ] && [ ! -f "$LIB/.installed" ]; then
  echo "install.sh: $LIB exists but was not made by this script; move it away first." >&2
  exit 1
fi
if [ -x "$LIB/uninstall.sh" ]; then
  PREFIX="$PREFIX" "$LIB/uninstall.sh" --quiet  # an upgrade: the old files go first
fi

mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$SHARE/applications" "$SHARE/metainfo"
manifest="$(mktemp)"
cp -a "$HERE/switchboard" "$LIB"
cp "$HERE/uninstall.sh" "$LIB/uninstall.sh"
ln -sfn "$LIB/switchboard" "$BIN"
echo "$BIN" >> "$manifest"

# Desktop sessions often lack ~/.local/bin on PATH: point the entry at the program itself.
desktop="$SHARE/applications/$APP_ID.desktop"
sed -e "s#^Exec=switchboard#Exec=$LIB/switchboard#" -e "s#^TryExec=switchboard#TryExec=$LIB/switchboard#" \
  "$HERE/$APP_ID.desktop" > "$desktop"
echo "$desktop" >> "$manifest"
cp "$HERE/$APP_ID.metainfo.xml" "$SHARE/metainfo/$APP_ID.metainfo.xml"
echo "$SHARE/metainfo/$APP_ID.metainfo.xml" >> "$manifest"

(cd "$HERE/icons" && find . -type f) | while read -r icon; do
  target="$SHARE/icons/hicolor/${icon#./}"
  mkdir -p "$(dirname "$target")"
  cp "$HERE/icons/$icon" "$target"
  echo "$target" >> "$manifest"
done
mv "$manifest" "$LIB/.installed"

# Refresh the menus' caches when the tools are there (they are optional).
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" 2>/dev/null || true

echo "Switchboard is installed in $LIB."
echo "Start it from your applications menu or with: $BIN"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "($PREFIX/bin is not on your PATH.)" ;; esac
echo "To remove it: $LIB/uninstall.sh"

#!/usr/bin/env bash
# Make a compressed, drag-to-Applications .dmg from the built app (macOS only, hdiutil):
#
#   bash packaging/macos/make_dmg.sh dist/Switchboard.app dist/Switchboard-0.1.0.dmg
#
# scripts/bundle.sh calls this after PyInstaller on macOS. Signing and notarisation are not
# done here (they need a Developer ID): an unsigned app opens with right-click -> Open.
set -euo pipefail

APP="${1:?usage: make_dmg.sh path/to/Switchboard.app out.dmg}"
OUT="${2:?usage: make_dmg.sh path/to/Switchboard.app out.dmg}"
[ -d "$APP/Contents/MacOS" ] || { echo "make_dmg.sh: $APP is not an .app bundle" >&2; exit 1; }
command -v hdiutil >/dev/null 2>&1 || { echo "make_dmg.sh: hdiutil not found (macOS only)" >&2; exit 1; }

stage="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-dmg.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp -R "$APP" "$stage/"
ln -s /Applications "$stage/Applications"  # the drag target
rm -f "$OUT"
hdiutil create -volname "Switchboard" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$OUT"
echo "make_dmg.sh: $OUT"

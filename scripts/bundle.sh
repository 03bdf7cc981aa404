#!/usr/bin/env bash
# Build the Switchboard bundle for this OS into dist/ (one command, a fresh clone is enough):
#
#   bash scripts/bundle.sh            # build
#   bash scripts/bundle.sh --check    # build, then run the frozen --version and --self-test
#
# Linux:   dist/switchboard/ (the one-folder app) and dist/switchboard-<version>-linux-<arch>.tar.gz
#          (the folder + packaging/linux/install.sh, uninstall.sh, desktop entry, metainfo, icons).
# macOS:   dist/Switchboard.app, then dist/Switchboard-<version>.dmg (packaging/macos/make_dmg.sh).
# Windows: dist/switchboard/; then compile packaging/windows/switchboard.iss with Inno Setup.
#
# Everything reusable lives in .bundle-cache/ (gitignored): the build venv, pip's cache,
# PyInstaller's work dir and its binary cache. Deleting it only makes the next build slower.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"

CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
CACHE="${SWITCHBOARD_BUNDLE_CACHE:-$ROOT/.bundle-cache}"
mkdir -p "$CACHE"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$CACHE/pip}"
export PYINSTALLER_CONFIG_DIR="$CACHE/pyinstaller-config"
# Its own venv: the bundle gets the run-time dependencies and the build tools, never the tests'.
VENV="${SWITCHBOARD_BUNDLE_VENV:-$CACHE/venv}"
make_venv "bundle"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY="$VENV/Scripts/python.exe"  # Git Bash on Windows

VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("'"$ROOT"'/pyproject.toml", "rb"))["project"]["version"])')"
GEN="$ROOT/build/bundle-gen"
export SWITCHBOARD_BUNDLE_GEN="$GEN"
rm -rf "$GEN"
mkdir -p "$GEN"
log "Switchboard $VERSION: icons and licence list"
QT_QPA_PLATFORM=offscreen "$PY" "$ROOT/packaging/make_icons.py" "$GEN" >&2
"$PY" "$ROOT/packaging/licences.py" "$GEN/licenses.json" >&2

log "PyInstaller (work dir $CACHE/work)"
started=$(date +%s)
(cd "$ROOT" && "$PY" -m PyInstaller --noconfirm --log-level WARN \
  --workpath "$CACHE/work" --distpath "$ROOT/dist" pyinstaller.spec)
log "PyInstaller took $(( $(date +%s) - started )) s"

case "$(uname -s)" in
  Linux)
    arch="$(uname -m)"
    stage="$GEN/switchboard-$VERSION-linux-$arch"
    rm -rf "$stage"
    mkdir -p "$stage"
    cp -a "$ROOT/dist/switchboard" "$stage/switchboard"
    cp "$ROOT/packaging/linux/install.sh" "$ROOT/packaging/linux/uninstall.sh" "$stage/"
    cp "$ROOT/packaging/linux/io.github.switchboard.Switchboard.desktop" \
       "$ROOT/packaging/linux/io.github.switchboard.Switchboard.metainfo.xml" "$stage/"
    cp -a "$GEN/hicolor" "$stage/icons"
    tarball="$ROOT/dist/switchboard-$VERSION-linux-$arch.tar.gz"
    tar -C "$GEN" -czf "$tarball" "$(basename "$stage")"
    log "Tarball: $tarball ($(du -h "$tarball" | cut -f1))"
    ;;
  Darwin)
    bash "$ROOT/packaging/macos/make_dmg.sh" "$ROOT/dist/Switchboard.app" \
      "$ROOT/dist/Switchboard-$VERSION.dmg"
    ;;
  MINGW*|MSYS*|CYGWIN*)
    log "Now compile the installer: iscc /DAppVersion=$VERSION packaging\\windows\\switchboard.iss"
    ;;
esac
log "Bundle: $ROOT/dist/switchboard ($(du -sh "$ROOT/dist/switchboard" | cut -f1))"

if [ "$CHECK" = "1" ]; then
  exe="$ROOT/dist/switchboard/switchboard"
  [ -x "$exe" ] || exe="$ROOT/dist/switchboard/switchboard.exe"
  log "Frozen --version and --self-test"
  "$exe" --version
  QT_QPA_PLATFORM=offscreen "$exe" --self-test
fi

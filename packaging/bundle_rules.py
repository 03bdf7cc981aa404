"""What pyinstaller.spec leaves out of the frozen bundle, as data and one `keep()` rule, so the
packaging tests check the same lists the build uses (tests/packaging/test_bundle_rules.py).

PyInstaller collects what the app imports plus every library those binaries need; on top of that
this drops what the app is proven not to load:
- Python modules no code path of the app imports (`EXCLUDES`): test runners, build tools, the
  Pillow codecs for fonts/colour profiles/Tk (the app only opens, thumbnails and writes
  PNG/JPEG/WebP/GIF), the numpy submodules neither the app nor usearch imports;
- Qt plugins other than the desktop ones (`KEEP_PLUGINS`), a few image formats, translations;
- Qt libraries only the dropped plugins link (`DROP_LIBS`), found with `needed_libraries()`:
  every library a kept plugin or library names in its ELF `DT_NEEDED` stays (the FFmpeg media
  plugin links Qt Quick/Qml/OpenGL, so those stay although the app never imports them), and
  `prune_unlinked_qt_libraries()` then drops each library of the Qt wheel no kept file links;
- on Linux, the DWARF debug info some wheels ship (`strip_debug_info()`): numkong's 45 MB
  library is 41 MB of it, usearch's 7 of 10 MB, and Pillow and libpython carry some.

The frozen `--self-test` then loads what is left: the offscreen platform, SVG icons, a chat
stream, Pillow's decoders and WebP encoder, numpy + usearch (the note step), and a real video
decoded by QtMultimedia's FFmpeg backend (the playback step).

Only the standard library is imported: PyInstaller runs this inside its spec.
"""

from __future__ import annotations

import mmap
import struct
import sys
from pathlib import Path

# Python modules nothing in the app imports at run time but that a dependency mentions.
EXCLUDES = [
    "tkinter", "_tkinter", "test", "unittest", "pydoc_data", "lib2to3", "idlelib",
    "pytest", "_pytest", "pytestqt", "setuptools", "pkg_resources", "pip", "IPython",
    # Pillow's AVIF codec (~5 MB with libavif): providers return PNG/JPEG/WebP; without it
    # Pillow just reports AVIF unsupported.
    "PIL._avif",
    # Pillow's text rendering (FreeType, HarfBuzz, Brotli: ~3 MB), colour management (LittleCMS),
    # Tk and Qt bridges, maths/morphology and screen grabs: the app opens images, makes WebP
    # thumbnails and checks sizes; none of these is reached from Image.open/save/thumbnail.
    "PIL.ImageFont", "PIL._imagingft", "PIL.ImageCms", "PIL._imagingcms", "PIL.ImageTk",
    "PIL._imagingtk", "PIL.ImageQt", "PIL.ImageMath", "PIL._imagingmath", "PIL.ImageMorph",
    "PIL._imagingmorph", "PIL.ImageGrab", "PIL.ImageShow",
    # numpy's lazily imported submodules (numpy/__init__.py's __getattr__): app.core.notes and
    # usearch's index/search use arrays, dtypes and linalg.norm only.
    "numpy.random", "numpy.fft", "numpy.polynomial", "numpy.ma", "numpy.f2py", "numpy.testing",
    "numpy.distutils", "numpy._pyinstaller", "numpy.conftest",
    # sqlite3's command line (it brings `code`, readline, libreadline and libtinfo), pydoc (only
    # numpy.info() uses it) and the pure-Python decimal (only used when _decimal is missing).
    "sqlite3.__main__", "pydoc", "_pydecimal",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore", "PySide6.QtPdf",
    "PySide6.QtOpenGL", "PySide6.QtDBus", "PySide6.QtUiTools", "PySide6.QtDesigner",
    # httpx's command-line tool (click, rich): `import httpx` tries it and falls back cleanly.
    "httpx._main",
]
if sys.platform != "darwin":
    # keyring imports every backend when it starts; the macOS one runs ctypes.util.find_library
    # (ldconfig/gcc subprocesses, ~50 ms before the keychain is known) even on Linux and
    # Windows. Without it, keyring's own `except Exception` skips that backend.
    EXCLUDES.append("keyring.backends.macOS.api")

# Qt plugins kept, by "<type>/<file stem>" prefix (anything else under plugins/ is dropped):
# the desktop platforms and their themes/input methods, the image formats chat and the gallery
# show, SVG icons, and (only if QtMultimedia is imported) its FFmpeg backend.
KEEP_PLUGINS = (
    "platforms/libqxcb", "platforms/libqwayland", "platforms/libqoffscreen", "platforms/libqminimal.",
    "platforms/qwindows", "platforms/libqcocoa", "platforms/qoffscreen", "platforms/qminimal",
    # Not the GTK3 theme: it would bring the build machine's whole GTK stack (gtk, gdk, pango,
    # cairo, atk) into the bundle; the XDG portal theme gives native file dialogs without it.
    "platformthemes/libqxdgdesktopportal", "platformthemes/qxdgdesktopportal",
    "platforminputcontexts/libcompose", "platforminputcontexts/libibus",
    "xcbglintegrations/", "wayland-shell-integration/", "wayland-decoration-client/",
    "wayland-graphics-integration-client/", "imageformats/", "iconengines/", "styles/",
    "multimedia/",
)
DROP_IMAGEFORMATS = ("tga", "tiff", "wbmp", "pdf", "icns")
# Libraries only the dropped plugins load (Qt's own, and the GTK stack of the GTK3 theme).
# Not Qt6Quick/Qt6Qml*/Qt6OpenGL: the FFmpeg media plugin links them (test_bundle_rules.py).
DROP_LIBS = (
    "libgtk-3.", "libgdk-3.", "libgdk_pixbuf-2.0.", "libatk-1.0.", "libatk-bridge-2.0.",
    "libatspi.", "libcairo-gobject.", "libcairo.", "libpango-1.0.", "libpangocairo-1.0.",
    "libpangoft2-1.0.", "libepoxy.", "libpixman-1.", "libthai.", "libdatrie.",
    "Qt6EglFSDeviceIntegration", "Qt6EglFsKmsSupport", "Qt6EglFsKmsGbmSupport", "Qt6VirtualKeyboard",
    "Qt6WaylandCompositor", "Qt6Pdf", "Qt6VncSupport",
)


def keep(dest: str) -> bool:
    """Whether a file collected at `dest` (its path inside the bundle) goes into the bundle."""
    path = dest.replace("\\", "/")
    if "/Qt/translations/" in path or "/translations/qt" in path:
        return False
    marker = "/Qt/plugins/" if "/Qt/plugins/" in path else ("/plugins/" if "PySide6/plugins/" in path else None)
    if marker:
        rel = path.split(marker, 1)[1]
        if not rel.startswith(KEEP_PLUGINS):
            return False
        if rel.startswith("imageformats/") and any(f"q{fmt}" in rel for fmt in DROP_IMAGEFORMATS):
            return False
    name = path.rsplit("/", 1)[-1]
    return not any(lib in name for lib in DROP_LIBS)


def _read(path: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (libraries are large; only their headers are read)."""
    with open(path, "rb") as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            return b""


def _elf_sections(data: bytes | mmap.mmap) -> list[tuple[str, int, int, int, int, int]]:
    """(name, type, offset, size, link, entsize) of each section of a 64-bit little-endian ELF
    file; [] for anything else."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if not shoff or shoff + shnum * shentsize > len(data):
        return []
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = raw[shstrndx][4] if shstrndx < len(raw) else 0
    sections = []
    for name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in raw:
        end = data.find(b"\0", names_at + name)
        label = data[names_at + name : end].decode("ascii", "replace") if names_at else ""
        sections.append((label, kind, offset, size, link, entsize))
    return sections


def debug_info_size(path: Path) -> int:
    """Bytes of DWARF (`.debug_*` sections) in an ELF file: what `strip --strip-debug` removes."""
    return sum(size for name, _kind, _off, size, _link, _ent in _elf_sections(_read(path))
               if name.startswith(".debug_"))


def strip_debug_info(
    entries: list[tuple[str, str, str]], cache: Path, strip: str = "strip"
) -> tuple[list[tuple[str, str, str]], int]:
    """PyInstaller (dest, source, typecode) entries with each ELF file that carries DWARF swapped
    for a `strip --strip-debug` copy in `cache` (made once per source version); returns the new
    entries and the bytes saved. Only those files are touched: strip rewrites the whole file,
    and on Qt's FFmpeg libraries (already stripped) that broke their program headers."""
    import hashlib
    import shutil
    import subprocess

    out: list[tuple[str, str, str]] = []
    saved = 0
    for dest, source, kind in entries:
        src = Path(source)
        try:
            debug = debug_info_size(src) if src.is_file() else 0
        except (OSError, struct.error, IndexError):
            debug = 0
        if debug == 0:
            out.append((dest, source, kind))
            continue
        stat = src.stat()
        key = hashlib.sha256(f"{src.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        target = cache / key.hexdigest()[:16] / src.name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            subprocess.run([strip, "--strip-debug", "-o", str(partial), str(src)], check=True)
            shutil.copymode(src, partial)
            partial.replace(target)
        saved += stat.st_size - target.stat().st_size
        out.append((dest, str(target), kind))
    return out, saved


def prune_unlinked_qt_libraries(
    entries: list[tuple[str, str, str]],
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Drop the libraries in PySide6/Qt/lib/ that no other kept file links: PyInstaller
    collects the libraries of every plugin it looked at, and keep() then dropped some plugins
    (the virtual keyboard's brings Qt Quick). Qt loads the libraries of its wheel only through
    DT_NEEDED (plugins are dlopen()ed, and they are never pruned here), so an unlinked one is
    dead weight. Returns (kept entries, pruned destination paths)."""
    def is_qt_lib(dest: str) -> bool:
        path = dest.replace("\\", "/")
        return "/Qt/lib/" in path

    needs: dict[str, set[str]] = {}
    elf: set[str] = set()  # only ELF files are ever pruned (never a macOS framework or a DLL)
    for dest, source, _kind in entries:
        try:
            with open(source, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    elf.add(dest)
            needs[dest] = set(needed_libraries(Path(source)))
        except (OSError, struct.error, IndexError, ValueError):
            needs[dest] = set()
    kept = {dest for dest, _source, _kind in entries}
    while True:
        linked = {name for dest in kept for name in needs[dest]}
        unlinked = {
            dest for dest in kept & elf
            if is_qt_lib(dest) and dest.replace("\\", "/").rsplit("/", 1)[-1] not in linked
        }
        if not unlinked:
            break
        kept -= unlinked
    pruned = [dest for dest, _source, _kind in entries if dest not in kept]
    return [entry for entry in entries if entry[0] in kept], pruned


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED names of a 64-bit little-endian ELF file ([] for anything else): what the
    dynamic loader must find before the library loads."""
    data = _read(path)
    sections = _elf_sections(data)
    needed: list[str] = []
    for _name, kind, offset, size, link, entsize in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        str_off = sections[link][2]
        for at in range(offset, offset + size, entsize or 16):
            tag, value = struct.unpack_from("<qQ", data, at)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                end = data.find(b"\0", str_off + value)
                needed.append(data[str_off + value : end].decode())
    return needed

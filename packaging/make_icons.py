"""Render the app icon's SVG (resources/icons/) into the files each platform wants.

    python packaging/make_icons.py OUT_DIR

Writes OUT_DIR/hicolor/<N>x<N>/apps/<app id>.png for the freedesktop sizes (Qt's SVG renderer,
offscreen), OUT_DIR/<app id>.ico (Windows: 16-256 px in one file) and OUT_DIR/<app id>.icns
(macOS) with Pillow. Run at build time by scripts/bundle.sh; nothing generated is committed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.switchboard.Switchboard"
SVG = ROOT / "resources" / "icons" / f"{APP_ID}.svg"
# The hicolor theme's usual application sizes, and 1024 for the macOS icon.
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int) -> bytes:
    """The SVG rendered at size x size, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from io import BytesIO

    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    out = Path(argv[1])
    app = QGuiApplication.instance() or QGuiApplication([])
    for size in PNG_SIZES:
        target = out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(render(size))
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(SVG.read_bytes())
    big = Image.open(BytesIO(render(1024))).convert("RGBA")
    big.save(out / f"{APP_ID}.ico", sizes=[(s, s) for s in ICO_SIZES])
    big.save(out / f"{APP_ID}.icns")
    big.resize((256, 256), Image.Resampling.LANCZOS).save(out / f"{APP_ID}.png")
    del app
    print(f"icons: {len(PNG_SIZES)} PNG sizes, .ico and .icns -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

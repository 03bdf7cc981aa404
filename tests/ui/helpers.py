"""Helpers shared by UI tests (imported by conftest and test modules; never a test module itself)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Where screenshot tests save their PNGs (gitignored; looked at before calling UI work done).
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

__all__ = ["SHOTS", "applied_theme", "find_leaks", "pixel_stddev", "save_grab"]


def find_leaks(app: Any, timers: Iterable[Any], *, clean_up: bool) -> list[str]:
    """What a finished UI test left behind: visible top-level widgets and running QTimers.

    Deferred deletes are delivered first, so a window closed with `deleteLater()` is not a leak.
    With `clean_up`, whatever leaked is closed/stopped so the next test starts clean.
    """
    from PySide6.QtCore import QCoreApplication, QEvent
    from shiboken6 import isValid

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    # Collect cycles now, on the GUI thread: left to chance, the cyclic GC may run later on a
    # worker thread (the database's) and destroy QObjects there, crashing a later test.
    gc.collect()
    leaked = [w for w in app.topLevelWidgets() if isValid(w) and w.isVisible()]
    running = [t for t in timers if isValid(t) and t.isActive()]
    problems: list[str] = []
    if leaked:
        problems.append(
            "left top-level widgets open: "
            + ", ".join(
                f"{type(w).__name__}({w.objectName() or w.windowTitle()!r})" for w in leaked
            )
        )
    if running:
        problems.append(
            "left QTimers running: "
            + ", ".join(
                f"{t.objectName() or 'timer'} (parent {type(t.parent()).__name__})" for t in running
            )
        )
    if clean_up:
        for w in leaked:
            w.close()
            w.deleteLater()
        for t in running:
            t.stop()
    return problems


def pixel_stddev(image: Any, step: int = 7) -> float:
    """Standard deviation of grey levels over a grid of pixels of a QImage (0 for a blank one)."""
    values: list[int] = []
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            c = image.pixelColor(x, y)
            values.append((c.red() * 30 + c.green() * 59 + c.blue() * 11) // 100)
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


@contextmanager
def applied_theme(qapp: Any, mode: str, *, follow: bool = True) -> Iterator[str]:
    """Apply the app's theme `mode` for a screenshot, then put back the style, palette and sheet
    (and stop following the system scheme, which a following manager listens to)."""
    from PySide6.QtGui import QGuiApplication

    from app.ui.theme import ThemeManager

    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    manager = ThemeManager(qapp, mode) if follow else ThemeManager(qapp, mode, follow=False)
    try:
        yield mode
    finally:
        if follow:
            QGuiApplication.styleHints().colorSchemeChanged.disconnect(manager._on_scheme_changed)
        manager.deleteLater()
        qapp.setStyleSheet(sheet)
        qapp.setPalette(palette)
        qapp.setStyle(style)


def save_grab(
    widget: Any, out: Path, name: str, *, min_bytes: int, process_events: bool = True
) -> Path:
    """Grab `widget` to out/name.png and check it is not blank by its size. Inside a coroutine
    pass `process_events=False`: processEvents() would run the qasync loop's callbacks
    re-entrantly, inside the running task."""
    from PySide6.QtWidgets import QApplication

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    if process_events:
        QApplication.processEvents()
    image = widget.grab().toImage()
    assert image.save(str(path), "PNG")
    assert path.stat().st_size > min_bytes, f"{name} looks blank"
    return path

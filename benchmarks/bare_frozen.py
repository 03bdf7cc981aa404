"""The frozen baseline: a bare PySide6 window with four empty tabs, frozen by the same
PyInstaller, spec options and wheels as the app (benchmarks/bundle.py builds it).

Self-contained (no `app` import), so its bundle is PySide6's own floor. Prints
`painted 0 rss <bytes> at <epoch>` after its first paint, then quits, like the app's
`--quit-after-paint`. benchmarks/bare_window.py runs the same window unfrozen, with the app's
own RSS reading.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QWidget


def _rss() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 1


class _PaintWatcher(QObject):
    def __init__(self, app: QApplication, rss: Callable[[], int]) -> None:
        super().__init__()
        self._app = app
        self._rss = rss
        self._at = 0.0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Paint and not self._at:
            self._at = time.time()
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        print(f"painted 0 rss {self._rss()} at {self._at:.6f}", flush=True)
        self._app.quit()


def main(rss: Callable[[], int] = _rss) -> int:
    """Show the bare window; report `rss()` after its first paint, then quit."""
    app = QApplication(sys.argv)
    window = QMainWindow()
    tabs = QTabWidget()
    for name in ("Chat", "Images", "Notes", "Videos"):
        tabs.addTab(QWidget(), name)
    window.setCentralWidget(tabs)
    window.resize(1100, 720)
    watcher = _PaintWatcher(app, rss)
    window.installEventFilter(watcher)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

"""The baseline: a bare PySide6 window with four empty tabs, started like the app.

Prints `painted 0 rss <bytes> at <epoch>` after its first paint, then quits, exactly as
`python -m app --quit-after-paint` does, so both are measured the same way.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QWidget

from app.diagnostics import current_rss


class _PaintWatcher(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self._app = app
        self._done = False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.Paint and not self._done:
            self._done = True
            self._at = time.time()
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        print(f"painted 0 rss {current_rss()} at {self._at:.6f}", flush=True)
        self._app.quit()


def main() -> int:
    app = QApplication(sys.argv)
    window = QMainWindow()
    tabs = QTabWidget()
    for name in ("Chat", "Images", "Notes", "Videos"):
        tabs.addTab(QWidget(), name)
    window.setCentralWidget(tabs)
    window.resize(1100, 720)
    watcher = _PaintWatcher(app)
    window.installEventFilter(watcher)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())

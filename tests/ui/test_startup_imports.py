"""The first paint must not wait for the services: the window shell is shown before qasync,
SQLite, the keychain, httpx, markdown or the chat tab are imported (see app.main.run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from app.main import _show_shell
from app.ui.theme import ThemeManager

app = QApplication([])
ThemeManager(app, "system", follow=False)
data = Path(sys.argv[1])
window, first_paint = _show_shell(app, QSettings(str(data / "ui.ini"), QSettings.Format.IniFormat), data / "log")
heavy = ["asyncio", "qasync", "sqlite3", "httpx", "keyring", "markdown", "pygments",
         "app.core.client", "app.core.store.db", "app.ui.chat.chat_tab", "logging.handlers"]
print(json.dumps({"painted": "at" in first_paint, "visible": window.isVisible(),
                  "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_window_shell_paints_before_any_service_is_imported(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["painted"] and report["visible"]
    assert report["loaded"] == []

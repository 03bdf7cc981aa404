"""The first paint must not wait for the services: the GUI thread shows the window shell before
it imports qasync, SQLite, the keychain, httpx, markdown or the chat tab (see app.main.run).
Meanwhile the warm-imports thread may load the services' pure-Python modules (app.warm_imports):
that is work done beside the paint, not before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys, threading
from pathlib import Path

# Which modules the GUI thread itself loads (a finder is asked only for a module's first import).
gui_loaded = []
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is threading.main_thread():
            gui_loaded.append(name)
        return None
sys.meta_path.insert(0, Recorder())

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
                  "loaded": [m for m in heavy if m in gui_loaded],
                  "sees_gui": "app.main" in gui_loaded,
                  "warm": [m for m in heavy if m in sys.modules and m not in gui_loaded]}))
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
    # The recorder does see the GUI thread's imports (the probe's own `from app.main ...`).
    assert report["sees_gui"]


WARM_PROBE = r"""
import json, sys
from app import warm_imports
warm_imports.start().join(120)
print(json.dumps({"qt": sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6"))),
                  "missing": [m for m in warm_imports.MODULES if m not in sys.modules]}))
"""


def test_warm_imports_load_the_services_without_touching_qt(tmp_path: Path) -> None:
    """PySide6 builds its types lazily and not thread-safely, so the warm-imports thread must
    never import Qt; and every module it lists must exist (a renamed module would make it
    silently useless)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", WARM_PROBE], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["qt"] == []
    assert report["missing"] == []

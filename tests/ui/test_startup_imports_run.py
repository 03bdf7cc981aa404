"""The whole start path up to the first paint (`app.main.run`: arguments, data folder, the
single-instance lock, QApplication, the shell) loads nothing the shell does not need: the
instance server, the failure window, the log set-up and the services come after the paint.
(The warm-imports thread may load the services' pure-Python modules beside the paint; only the
GUI thread's own imports are counted here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, os, sys, threading

gui_loaded = []
class Recorder:  # a finder is asked only for a module's first import
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is threading.main_thread():
            gui_loaded.append(name)
        return None
sys.meta_path.insert(0, Recorder())
import app.main as main

shown = main._show_shell

def report(*args, **kwargs):
    window, first_paint = shown(*args, **kwargs)
    late = ["PySide6.QtNetwork", "app.ui.single_instance", "app.ui.startup_failure",
            "app.log_setup", "logging.handlers", "asyncio", "sqlite3", "app.core.store.db",
            "hashlib", "dataclasses"]
    print("REPORT " + json.dumps({"painted": "at" in first_paint,
                                  "loaded": [m for m in late if m in gui_loaded],
                                  "sees_gui": "app.ui.main_window" in gui_loaded,
                                  "locked": os.path.exists(sys.argv[1] + "/switchboard.lock")}),
          flush=True)
    raise SystemExit(0)

main._show_shell = report
main.run(["--data-dir", sys.argv[1], "--no-detect"])
"""


def test_nothing_new_is_imported_before_the_first_paint_of_a_normal_start(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("REPORT ")]
    assert lines, result.stderr
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["painted"]
    assert report["loaded"] == []
    assert report["sees_gui"]  # the recorder does see the GUI thread's imports
    # The lock was taken before the paint (a second start must not paint at all).
    assert report["locked"]

"""The whole start path up to the first paint (`app.main.run`: arguments, data folder, the
single-instance lock, QApplication, the shell) loads nothing the shell does not need: the
instance server, the failure window, the log set-up and the services come after the paint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, os, sys
import app.main as main

shown = main._show_shell

def report(*args, **kwargs):
    window, first_paint = shown(*args, **kwargs)
    late = ["PySide6.QtNetwork", "app.ui.single_instance", "app.ui.startup_failure",
            "app.log_setup", "logging.handlers", "asyncio", "sqlite3", "app.core.store.db",
            "hashlib", "dataclasses"]
    print("REPORT " + json.dumps({"painted": "at" in first_paint,
                                  "loaded": [m for m in late if m in sys.modules],
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
    # The lock was taken before the paint (a second start must not paint at all).
    assert report["locked"]

"""The frozen bundle keeps shiboken's compiled support code between starts, as `python -m app`
does (app/codegen_cache.py, packaging/rth_pyside_code_cache.py): PyInstaller's PySide6 hook
imports PySide6 before the entry script, so without the app's own runtime hook nothing was kept."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app.codegen_cache import CodeCache
from tests.packaging.helpers import BUNDLE, require_bundle


def _start(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUNDLE), "--data-dir", str(data), "--no-detect", "--quit-after-paint"],
        capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen",
                 PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring"),
    )


def test_the_frozen_app_keeps_pysides_compiled_code_between_starts(tmp_path: Path) -> None:
    require_bundle()
    data = tmp_path / "data"
    first = _start(data)
    assert first.returncode == 0 and first.stdout.startswith("painted "), first.stderr
    kept = sorted((data / "cache").glob("pyside-code.*.marshal"))
    assert len(kept) == 1, sorted(p.name for p in (data / "cache").glob("*"))
    # shiboken's support modules (signature loader, parser, layout, ...)
    assert len(CodeCache(kept[0]).codes) >= 10
    stamp = kept[0].stat().st_mtime_ns
    second = _start(data)
    assert second.returncode == 0 and second.stdout.startswith("painted "), second.stderr
    assert kept[0].stat().st_mtime_ns == stamp  # all of it was found: nothing new to write

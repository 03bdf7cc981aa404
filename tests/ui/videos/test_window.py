"""The Videos tab in the main window: it replaces the placeholder, is built on first show,
prefills from an image, closes in the staged shutdown, and QtMultimedia waits for a play."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.ui.videos.helpers import signal_once

ROOT = Path(__file__).resolve().parents[3]

PROBE = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from app.main import _show_shell
app = QApplication([])
data = Path(sys.argv[1])
window, first_paint = _show_shell(app, QSettings(str(data / "ui.ini"), QSettings.Format.IniFormat), data / "log")
heavy = ["PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "app.ui.videos.videos_tab",
         "app.ui.videos.player", "app.core.services.videos"]
print(json.dumps({"tab": type(window.videos_tab).__name__,
                  "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_shell_paints_without_qtmultimedia_or_the_videos_tab(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"tab": "VideosHost", "loaded": []}


def test_videos_tab_in_the_window(window: Any, arun: Any, tmp_path: Path) -> None:
    from app.ui.videos.host import VideosHost

    host = window.videos_tab
    assert isinstance(host, VideosHost)
    assert window.tabs.tabText(window.tabs.indexOf(host)) == "Vi&deos"
    assert host.service is not None and host.tab is None  # attached, not yet built
    image = tmp_path / "start.png"
    image.write_bytes(b"png")
    window.show()

    async def open_tab() -> None:
        window.make_video_from_image(str(image))
        if host.tab is None:
            await signal_once(host.tabBuilt)

    arun(open_tab())
    assert window.tabs.currentWidget() is host
    assert host.tab.form.image_radio.isChecked()
    assert host.tab.form.image_edit.text() == str(image)
    assert "PySide6.QtMultimedia" not in sys.modules or host.tab.player is None


def test_completion_is_announced_before_the_tab_is_opened(
    make_window: Any, real_ctx: Any, arun: Any
) -> None:
    from app.core.services.videos import VideoSubmitRequest

    window = make_window()
    host = window.videos_tab
    host.is_focused = lambda: False
    host.tray_available = lambda: False
    said: list[str] = []
    real_ctx.events.statusMessage.connect(said.append)
    assert host.tab is None and host.service is real_ctx.videos

    async def go() -> None:
        job_id = await real_ctx.videos.submit(
            VideoSubmitRequest(profile_id="demo-openai", prompt="a comet over a quiet town")
        )
        view = await real_ctx.videos.wait(job_id)
        assert view is not None and view.state == "completed", view and view.error

    arun(go(), timeout=30)
    assert host.tab is None
    assert "Video ready: a comet over a quiet town" in said
    assert host.notifier.sent == ["Video ready: a comet over a quiet town"]

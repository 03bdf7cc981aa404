"""Screenshots of the Videos tab (the form beside a realistic queue, and the player), light and
dark, saved to artifacts/screenshots/ (gitignored) to be looked at; each must not be blank."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.videos.records import VideoDraft
from tests.ui.helpers import applied_theme
from tests.ui.videos.helpers import MULTIMEDIA_NOISE, FakePort, signal_once, until

pytestmark = pytest.mark.qt_log_ignore(*MULTIMEDIA_NOISE, extend=True)

OUT = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


def _stddev(image: QImage, step: int = 7) -> float:
    values = [
        image.pixelColor(x, y).lightness()
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
    ]
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def _save(widget: QWidget, name: str, *, from_screen: bool = False) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    if from_screen and QApplication.platformName() == "xcb":
        # The video is drawn by the platform (RHI), which widget.grab() does not capture.
        screen = widget.screen()
        image = screen.grabWindow(widget.winId()).toImage()
    else:
        image = widget.grab().toImage()
    assert image.save(str(path), "PNG")
    assert _stddev(image) > 8, f"{name} looks blank"
    return path


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    with applied_theme(qapp, request.param, follow=False) as mode:
        yield mode


def test_videos_tab_screens(theme: str, make_tab: Any, arun: Any, tmp_path: Path) -> None:
    from app.core.demo.video import demo_video

    demo = demo_video()
    video = tmp_path / "demo.mp4"
    video.write_bytes(demo.data)
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(demo.poster)
    port = FakePort(now=10_000.0)
    tab = make_tab(port, clock=lambda: port.now + 95)
    tab.resize(1280, 800)
    tab.show()
    d = VideoDraft
    port.add(
        d(
            "tasks",
            "veo-fast",
            "A paper boat drifting across a still pond at dawn, mist",
            shape="LANDSCAPE",
        ),
        "completed",
        video_path=str(video),
        poster_path=str(poster),
    )
    port.add(
        d("gw", "sora-2", "Slow dolly shot through a neon-lit alley in the rain, reflections"),
        "failed",
        error="The provider refused this prompt (content policy): moderation_blocked.",
    )
    port.add(
        d("gem", "veo-3.0", "Time-lapse of clouds rolling over snowy mountains"),
        "completed",
        video_path=str(video),
    )  # no poster: a frame is grabbed
    port.add(
        d("gw", "sora-2", "A corgi surfing a small wave, golden hour, handheld camera"),
        "interrupted",
        error="The app stopped while this request was being sent; it was not sent again.",
    )
    port.add(
        d("tasks", "veo-fast", "Macro shot of ink blooming in water"), "running", raw="WARMING_UP"
    )
    port.add(
        d("gem", "veo-3.0", "An old tram climbing a hill in Lisbon, tourists waving"),
        "running",
        raw="PROCESSING",
        progress=0.62,
    )
    port.add(
        d("gw", "sora-2", "A hummingbird hovering at a red flower, slow motion"),
        "running",
        raw="queued",
    )
    port.add(d("gw", "sora-2", "Fireworks over a harbour, reflections on the water"), "submitting")
    tab.form.profile_combo.setCurrentIndex(tab.form.profile_combo.findData("gem"))
    tab.form.prompt.setPlainText(
        "A fox trotting through fresh snow in a birch forest, morning light"
    )

    async def posters() -> None:
        await until(tab.model, lambda: tab.model.rowCount() == 8)
        rows = [r for r in tab.model.rows() if r.finished_ok]
        for r in rows:
            tab.posters.get(r)
        while any(tab.posters.get(r) is None for r in rows):
            await signal_once(tab.posters.posterReady, timeout=15)

    arun(posters(), timeout=30)
    tab.panel.select(tab.model.rows()[-1].job_id)
    tab.panel.select(tab.model.rows()[1].job_id)
    _save(tab, f"videos-queue-{theme}")
    _save(tab.form, f"videos-form-{theme}")

    async def play() -> None:
        first = tab.model.rows()[-1]
        tab.panel.select(first.job_id)
        tab.play(first)
        player = tab.player
        while player.player.position() < 300:
            await signal_once(player.player.positionChanged, timeout=10)
        player.player.pause()

    arun(play(), timeout=20)
    _save(tab, f"videos-player-{theme}", from_screen=True)

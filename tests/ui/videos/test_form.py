"""The submit form: profiles that make videos, the dialect's own words, kinds, prefill, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.errors import ConfigError
from app.ui.videos.records import IMAGE_TO_VIDEO, TEXT_TO_VIDEO
from tests.ui.videos.helpers import FakePort, signal_once


def test_only_video_profiles_and_their_fields(make_tab: Any) -> None:
    form = make_tab(FakePort()).form
    ids = [form.profile_combo.itemData(i) for i in range(form.profile_combo.count())]
    assert ids == ["gw", "tasks", "gem"]  # "Chat only" makes no videos
    form.profile_combo.setCurrentIndex(ids.index("gw"))
    assert form.shape_combo.accessibleName() == "Size"
    assert form.shape_combo.itemText(0) == "1280x720"
    assert [form.duration_combo.itemText(i) for i in range(form.duration_combo.count())] == [
        "4",
        "8",
        "12",
    ]
    assert not form.form.isRowVisible(form.resolution_combo)
    assert form.model_combo.currentText() == "sora-2"
    form.profile_combo.setCurrentIndex(ids.index("tasks"))
    assert form.shape_combo.accessibleName() == "Aspect ratio"
    assert "LANDSCAPE" in [form.shape_combo.itemText(i) for i in range(form.shape_combo.count())]
    assert not form.form.isRowVisible(form.duration_combo)
    form.profile_combo.setCurrentIndex(ids.index("gem"))
    assert form.form.isRowVisible(form.resolution_combo)
    assert form.shape_combo.itemText(0) == "16:9"
    form.resolution_combo.setCurrentText("1080p")
    form.duration_combo.setCurrentText("6")
    form.prompt.setPlainText("  waves at night ")
    d = form.draft()
    assert (d.profile_id, d.model, d.prompt, d.shape, d.seconds, d.resolution, d.kind) == (
        "gem",
        "veo-3.0",
        "waves at night",
        "16:9",
        6,
        "1080p",
        TEXT_TO_VIDEO,
    )


def test_no_video_profile_says_so(make_tab: Any) -> None:
    tab = make_tab(FakePort(), profiles=list)
    tab.show()
    assert tab.form.no_video_label.isVisible()
    assert not tab.form.submit_button.isEnabled()


def test_image_to_video_needs_an_image_and_prefill_sets_it(make_tab: Any, tmp_path: Path) -> None:
    tab = make_tab(FakePort())
    form = tab.form
    tab.show()
    form.prompt.setPlainText("the cat blinks")
    assert form.submit_button.isEnabled()
    form.image_radio.setChecked(True)
    assert form.image_row.isVisible()
    assert not form.submit_button.isEnabled()
    assert "start image" in form.submit_button.toolTip()
    image = tmp_path / "cat.png"
    image.write_bytes(b"png")
    tab.prefill_image(str(image))
    assert form.submit_button.isEnabled()
    d = form.draft()
    assert d.kind == IMAGE_TO_VIDEO and d.image_path == str(image)
    form.text_radio.setChecked(True)
    assert form.draft().image_path == ""


def test_submit_sends_the_draft_and_shows_a_known_error(make_tab: Any, arun: Any) -> None:
    port = FakePort()
    tab = make_tab(port)
    tab.show()
    tab.form.prompt.setPlainText("a red balloon")
    port.fail_submit = ConfigError("This profile has no video model; choose one in Settings.")

    async def refused() -> None:
        assert await tab.submit.submit(tab.form.draft()) is None

    arun(refused())
    assert "no video model" in tab.form.error_label.text()
    assert tab.model.rowCount() == 0
    port.fail_submit = None

    async def accepted() -> int:
        tab.form.submit_button.click()
        (job_id,) = await signal_once(tab.submit.submitted)
        return job_id

    job_id = arun(accepted())
    assert tab.form.error_label.text() == ""
    assert tab.model.row_for(job_id).status == "submitting"
    assert tab.panel.current_row().job_id == job_id
    assert port.calls[-1][1].prompt == "a red balloon"


def test_the_services_words_replace_the_fallback(make_tab: Any, arun: Any) -> None:
    from app.ui.videos.records import DialectOptions

    port = FakePort()
    port.told["tasks"] = DialectOptions(
        "tasks", "Aspect ratio", ("WIDE", "TALL"), durations=("5", "10")
    )
    tab = make_tab(port)
    form = tab.form
    form.profile_combo.setCurrentIndex(form.profile_combo.findData("tasks"))
    arun(tab.submit.load_options("tasks"))
    assert [form.shape_combo.itemText(i) for i in range(form.shape_combo.count())] == [
        "WIDE",
        "TALL",
    ]
    assert form.form.isRowVisible(form.duration_combo)
    form.prompt.setPlainText("x")
    form.duration_combo.setCurrentText("10")
    assert form.draft().seconds == 10 and form.draft().shape == "WIDE"

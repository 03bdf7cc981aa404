"""The Videos tab against the real VideoService and the loopback demo server, in each dialect:
submit from the form, watch the job to the end, the poster (the provider's thumbnail, or a
frame grabbed with QVideoSink), and remove with its file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.videos.helpers import MULTIMEDIA_NOISE, signal_once, until

pytestmark = pytest.mark.qt_log_ignore(*MULTIMEDIA_NOISE, extend=True)


def _submit(tab: Any, profile_id: str, prompt: str) -> None:
    form = tab.form
    form.profile_combo.setCurrentIndex(form.profile_combo.findData(profile_id))
    form.prompt.setPlainText(prompt)
    assert form.submit_button.isEnabled(), form.problem()
    form.submit_button.click()


@pytest.mark.parametrize(
    ("profile_id", "field"),
    [("demo-melancholy", "Aspect ratio"), ("demo-openai", "Size"), ("demo-gemini", "Aspect ratio")],
    ids=["tasks", "openai", "veo"],
)
def test_submit_runs_to_completed_with_file_and_poster(
    real_tab: Any, arun: Any, profile_id: str, field: str
) -> None:
    tab = real_tab
    tab.show()
    form = tab.form
    form.profile_combo.setCurrentIndex(form.profile_combo.findData(profile_id))
    assert form.shape_combo.accessibleName() == field
    shape = form.shape_combo.itemText(form.shape_combo.count() - 1)
    form.shape_combo.setCurrentText(shape)

    async def go() -> Any:
        _submit(tab, profile_id, f"a paper boat on a pond ({profile_id})")
        (job_id,) = await signal_once(tab.submit.submitted)
        await until(
            tab.model, lambda: (r := tab.model.row_for(job_id)) is not None and not r.active
        )
        row = tab.model.row_for(job_id)
        assert row.state == "completed", row.error
        assert Path(row.video_path).is_file()
        assert row.draft.shape == shape  # sent and recorded in the dialect's own word
        # The poster: asked for by painting, ready later (off the paint path).
        if tab.posters.get(row) is None:
            while True:
                (ready,) = await signal_once(tab.posters.posterReady, timeout=15)
                if ready == job_id:
                    break
        pix = tab.posters.get(row)
        assert pix is not None and not pix.isNull() and pix.width() > 10
        return row

    row = arun(go(), timeout=40)
    assert tab.panel.count_label.text() == "1 job"
    assert row.draft.profile_id == profile_id


def test_remove_after_confirmation_deletes_the_file(real_tab: Any, arun: Any) -> None:
    tab = real_tab
    asked: list[str] = []

    async def confirm(title: str, text: str, yes: str) -> bool:
        asked.append(text)
        return True

    tab.effects.confirm = confirm
    tab.show()

    async def go() -> None:
        _submit(tab, "demo-openai", "a lighthouse at dusk")
        (job_id,) = await signal_once(tab.submit.submitted)
        await until(
            tab.model,
            lambda: (r := tab.model.row_for(job_id)) is not None and r.state == "completed",
        )
        path = Path(tab.model.row_for(job_id).video_path)
        assert path.is_file()
        tab.panel.select(job_id)
        await tab.queue.remove(tab.model.row_for(job_id))
        assert tab.model.row_for(job_id) is None
        assert not path.exists()
        assert tab.port.service is not None and await tab.port.service.get(job_id) is None

    arun(go(), timeout=30)
    assert asked and "delete its video file" in asked[0]


def test_cancel_at_the_provider_says_what_happened(
    real_tab: Any, arun: Any, demo_server: Any
) -> None:
    demo_server.video_seconds = 3600  # it would run for an hour
    said: list[str] = []
    real_tab.effects.status = said.append
    tab = real_tab
    tab.show()

    async def go() -> int:
        _submit(tab, "demo-openai", "an hour-long sunset")
        (job_id,) = await signal_once(tab.submit.submitted)
        await until(
            tab.model, lambda: (r := tab.model.row_for(job_id)) is not None and r.state == "running"
        )
        tab.panel.select(job_id)
        assert tab.panel.buttons["cancel"].isEnabled()
        await tab.queue.cancel(tab.model.row_for(job_id))
        await until(tab.model, lambda: tab.model.row_for(job_id).state == "cancelled")
        return job_id

    job_id = arun(go(), timeout=30)
    assert tab.model.row_for(job_id).status == "cancelled"
    assert said and said[-1]  # the service's sentence (cancelled at the provider, or not)
    tab.panel.select(job_id)
    assert tab.panel.buttons["retry"].isEnabled() and not tab.panel.buttons["cancel"].isEnabled()


def test_form_words_come_from_the_service(real_tab: Any, arun: Any) -> None:
    from app.core.services.videos import VideoFormOptions

    form = real_tab.form
    for profile_id, dialect in (
        ("demo-melancholy", "tasks"),
        ("demo-openai", "openai"),
        ("demo-gemini", "veo"),
    ):
        form.profile_combo.setCurrentIndex(form.profile_combo.findData(profile_id))
        arun(real_tab.submit.load_options(profile_id))
        service_opts: VideoFormOptions = arun(real_tab.port.service.form_options(profile_id))
        opts = form.options()
        assert opts is not None and opts.name == dialect
        shapes = [form.shape_combo.itemText(i) for i in range(form.shape_combo.count())]
        assert tuple(shapes) == (service_opts.sizes or service_opts.aspect_ratios)
        durations = [form.duration_combo.itemText(i) for i in range(form.duration_combo.count())]
        assert durations == [str(d) for d in service_opts.durations]

"""The generate form and its generations, against the real service and loopback demo server:
models from /models, sizes in the profile's notation, several jobs at once with progress and
Cancel, the provider's own failure beside the form with what to do next, Retry download."""

from __future__ import annotations

import time
from typing import Any

from app.core.demo.faults import FaultRule
from app.ui.async_bridge import signal_future
from app.ui.images.generate_form import FormSettings
from app.ui.images.job_list import elapsed_text, next_step
from tests.ui.images.helpers import generate, press_job_button, until


def select_profile(tab: Any, profile_id: str) -> None:
    combo = tab.form.profile_combo
    combo.setCurrentIndex(combo.findData(profile_id))


def test_models_come_from_the_provider_and_sizes_use_its_notation(tab: Any, arun: Any) -> None:
    async def scenario() -> None:
        loaded = signal_future(tab.generate.modelsLoaded)
        select_profile(tab, "demo-siliconlike")
        profile_id, models = await loaded
        assert profile_id == "demo-siliconlike"
        assert "demo-image" in models

    arun(scenario())
    form = tab.form
    assert form.model_combo.currentText() == "demo-image"  # the profile's default
    assert form.size_combo.currentText() == "1024*1024"
    assert form.seed_box.isVisibleTo(form) and form.negative_edit.isVisibleTo(form)
    select_profile(tab, "demo-gemini")
    assert not form.quality_combo.isVisibleTo(form) and not form.negative_edit.isVisibleTo(form)
    select_profile(tab, "demo-openai")
    assert form.size_combo.currentText() == "1024x1024"


def test_the_form_sends_every_field_and_stays_usable(tab: Any, demo_server: Any, arun: Any) -> None:
    tab.show()
    select_profile(tab, "demo-siliconlike")
    form = tab.form
    form.apply(
        FormSettings(
            profile_id="demo-siliconlike",
            model="demo-image",
            prompt="a tiny robot",
            n=2,
            size="256x256",
            seed=7,
            negative_prompt="blur",
        )
    )
    assert form.size_combo.currentText() == "256*256"

    async def scenario() -> None:
        started = signal_future(tab.generate.jobStarted)
        form.generate_button.click()
        job_id = await started
        # The form stays usable while it runs: edit and start a second one at once.
        assert form.generate_button.isEnabled() and form.prompt_edit.isEnabled()
        form.prompt_edit.setPlainText("a second robot")
        started2 = signal_future(tab.generate.jobStarted)
        form.generate_button.click()
        job2 = await started2
        assert job2 != job_id
        await tab.service.wait(job_id)
        await tab.service.wait(job2)
        await until(tab.model.rowsInserted, lambda: tab.model.rowCount() == 4)

    arun(scenario(), timeout=20)
    bodies = [r.json for r in demo_server.requests.find("images/generations", method="POST")]
    first = next(b for b in bodies if b["prompt"] == "a tiny robot")
    assert first["size"] == "256*256" and first["n"] == 2 and first["seed"] == 7
    assert first["negative_prompt"] == "blur"
    prompts = [it.prompt for it in tab.model.items()]
    assert sorted(prompts) == ["a second robot"] * 2 + ["a tiny robot"] * 2
    # Batches stay together.
    assert prompts[0] == prompts[1] and prompts[2] == prompts[3]


def test_running_jobs_show_progress_elapsed_and_cancel(
    tab: Any, demo_server: Any, arun: Any
) -> None:
    demo_server.faults.add(FaultRule(path_contains="images/generations", delay_s=5.0))
    tab.show()

    async def scenario() -> None:
        select_profile(tab, "demo-openai")
        tab.form.prompt_edit.setPlainText("slow one")
        started = signal_future(tab.generate.jobStarted)
        tab.form.generate_button.click()
        job_id = await started
        job = tab.job_list.job(job_id)
        assert job is not None and job.state in ("submitting", "running")
        assert tab.job_list.actions(job_id) == ["cancel"]
        assert tab.job_list.view.delegate.geometry(
            job, tab.job_list.view.row_option(job_id)
        ).bar is not None
        assert elapsed_text(job, time.time()).startswith("0:0")
        finished = signal_future(tab.generate.jobFinished)
        press_job_button(tab.job_list, job_id, "cancel")
        assert await finished == (job_id, "cancelled")
        assert tab.job_list.job(job_id) is not None
        assert tab.job_list.actions(job_id) == ["rerun", "dismiss"]

    arun(scenario(), timeout=10)


def test_a_refusal_is_shown_beside_the_form_with_what_to_do(
    tab: Any, demo_server: Any, arun: Any
) -> None:
    demo_server.faults.add(
        FaultRule(
            path_contains="images/generations",
            status=400,
            body={
                "error": {
                    "message": "Your request was rejected by the safety system.",
                    "type": "invalid_request_error",
                    "code": "content_policy_violation",
                }
            },
        )
    )
    tab.show()

    async def scenario() -> int:
        finished = signal_future(tab.generate.jobFinished)
        select_profile(tab, "demo-openai")
        tab.form.prompt_edit.setPlainText("something refused")
        tab.form.generate_button.click()
        job_id, state = await finished
        assert state == "failed"
        return job_id

    job_id = arun(scenario(), timeout=10)
    job = tab.job_list.job(job_id)
    assert job is not None
    assert "rejected by the safety system" in job.error
    assert "Reword the prompt" in next_step(job.error, job.state)
    geometry = tab.job_list.view.delegate.geometry(job, tab.job_list.view.row_option(job_id))
    assert geometry.error is not None and geometry.next is not None  # both are drawn
    assert tab.job_list.actions(job_id) == ["rerun", "dismiss"]  # no Retry download
    press_job_button(tab.job_list, job_id, "dismiss")
    assert tab.job_list.job(job_id) is None


def test_a_failed_download_offers_retry_which_saves_the_rest(
    tab: Any, demo_server: Any, arun: Any
) -> None:
    demo_server.faults.add(FaultRule(path_contains="/files/", method="GET", times=1, status=404))
    tab.show()

    async def scenario() -> None:
        finished = signal_future(tab.generate.jobFinished)
        select_profile(tab, "demo-openai")
        tab.form.format_combo.setCurrentIndex(tab.form.format_combo.findData("url"))
        tab.form.prompt_edit.setPlainText("two green hills")
        tab.form.n_spin.setValue(2)
        tab.form.generate_button.click()
        job_id, state = await finished
        assert state == "failed"
        job = tab.job_list.job(job_id)
        assert job is not None and "retry" in tab.job_list.actions(job_id)
        assert "1 of 2 images were saved" in job.error
        assert "Retry the download" in next_step(
            job.error, job.state, can_retry_download=job.can_retry_download
        )
        press_job_button(tab.job_list, job_id, "retry")
        await until(tab.model.rowsInserted, lambda: tab.model.rowCount() == 2)
        await tab.service.wait(job_id)

    arun(scenario(), timeout=15)
    assert [it.batch_index for it in tab.model.items()] == [0, 1]


def test_generate_in_each_image_dialect(tab: Any, arun: Any) -> None:
    tab.show()

    async def scenario() -> None:
        for profile_id in ("demo-openai", "demo-siliconlike", "demo-gemini"):
            await generate(tab, f"a boat via {profile_id}", profile_id=profile_id)
        await until(tab.model.rowsInserted, lambda: tab.model.rowCount() == 3)

    arun(scenario(), timeout=20)
    assert {it.profile_id for it in tab.model.items()} == {
        "demo-openai",
        "demo-siliconlike",
        "demo-gemini",
    }

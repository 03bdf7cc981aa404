"""Helpers for the Images tab tests: awaiting signals and conditions without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import SignalInstance

from app.ui.async_bridge import signal_future


async def until(
    signal: SignalInstance, condition: Callable[[], bool], timeout: float = 8.0
) -> None:
    """Await emissions of `signal` until `condition()` holds (checked first)."""

    async def loop() -> None:
        while not condition():
            await signal_future(signal)

    await asyncio.wait_for(loop(), timeout)


async def generate(tab: Any, prompt: str, *, profile_id: str = "demo-openai", n: int = 1) -> int:
    """Fill the form and press Generate; return the job id once it finished."""
    form = tab.form
    i = form.profile_combo.findData(profile_id)
    assert i >= 0, profile_id
    form.profile_combo.setCurrentIndex(i)
    form.prompt_edit.setPlainText(prompt)
    form.n_spin.setValue(n)
    started = signal_future(tab.generate.jobStarted)
    form.generate_button.click()
    job_id: int = await started
    await tab.service.wait(job_id)
    return job_id


async def seed_images(
    service: Any, count: int, *, profile_id: str = "demo-openai", prompt: str = "seeded"
) -> list[int]:
    """`count` images generated through the real service (n per job <= 4)."""
    from app.core.services.images import ImageGenerationRequest

    ids: list[int] = []
    left = count
    k = 0
    while left > 0:
        n = min(4, left)
        job_id = await service.generate(ImageGenerationRequest(profile_id, f"{prompt} {k}", n=n))
        job = await service.wait(job_id)
        assert job is not None and job.state == "completed", job and job.error
        ids.extend(im.id for im in await service.batch(job_id))
        left -= n
        k += 1
    return ids


def press_job_button(job_list: Any, job_id: int, action: str) -> None:
    """Click the drawn button `action` of a job's row, as a user would (the list must be shown).

    Pending repaints and re-layouts are flushed first so the row is where it is drawn."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    job_list.model.flush()
    view = job_list.view
    view.doItemsLayout()
    rect = view.button_rect(job_id, action)
    assert rect is not None, (action, job_list.actions(job_id))
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )

"""Screenshots of the Images tab, light and dark: the form with a running and a failed
generation beside it, the gallery with many images, the detail view, and an empty state.
Saved to artifacts/screenshots/images-*.png (gitignored) for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from app.core.demo.faults import FaultRule
from app.ui.async_bridge import signal_future
from tests.ui.helpers import applied_theme, save_grab
from tests.ui.images.helpers import seed_images, until

OUT = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    with applied_theme(qapp, request.param) as mode:
        yield mode


def save(tab: Any, name: str) -> Path:
    return save_grab(tab, OUT, name, min_bytes=10_000)


def test_screenshots(theme: str, tab: Any, image_service: Any, demo_server: Any, arun: Any) -> None:
    tab.resize(1400, 900)
    tab.show()

    async def scenario() -> None:
        await until(tab.gallery_ctl.emptyChanged, lambda: tab.pages.currentWidget() is tab.empty)

    arun(scenario())
    save(tab, f"images-empty-{theme}")

    arun(seed_images(image_service, 40, prompt="a watercolour lighthouse on a cliff"), timeout=60)
    arun(
        seed_images(
            image_service, 3, profile_id="demo-siliconlike", prompt="mountain lake at dawn"
        ),
        timeout=30,
    )

    async def gallery() -> None:
        tab.gallery_ctl.set_query(tab.filters.query())
        await until(tab.model.pageLoaded, lambda: tab.model.rowCount() == 43)
        await tab.gallery_ctl.load_facets()
        await tab.gallery_ctl.star(tab.model.item(1).id, True)
        tab.gallery.refresh_wanted()
        await until(tab.loader.idle, lambda: tab.loader.pending() == 0)
        # A failed generation (the provider's refusal) and a running one beside the form.
        demo_server.faults.add(
            FaultRule(
                path_contains="images/generations",
                status=400,
                times=1,
                body={
                    "error": {
                        "message": "Your request was rejected by the safety system.",
                        "type": "invalid_request_error",
                        "code": "content_policy_violation",
                    }
                },
            )
        )
        finished = signal_future(tab.generate.jobFinished)
        tab.form.prompt_edit.setPlainText("a forbidden thing")
        tab.form.generate_button.click()
        await finished
        demo_server.faults.add(FaultRule(path_contains="images/generations", delay_s=30.0))
        started = signal_future(tab.generate.jobStarted)
        tab.form.prompt_edit.setPlainText("a slow harbour at night, oil painting")
        tab.form.n_spin.setValue(4)
        tab.form.generate_button.click()
        await started

    arun(gallery(), timeout=30)
    tab.gallery.setCurrentIndex(tab.model.index(0))
    save(tab, f"images-gallery-{theme}")

    async def detail() -> None:
        shown = signal_future(tab.detailShown)
        tab.gallery.openRequested.emit(tab.model.item(1).id)
        await shown

    arun(detail())
    save(tab, f"images-detail-{theme}")
    for job_id in tab.job_list.jobs():
        if "cancel" in tab.job_list.actions(job_id):
            tab.job_list.cancelRequested.emit(job_id)

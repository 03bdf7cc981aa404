"""The generations list on its own (no service): rows drawn by a delegate, progress painted,
repaints coalesced per frame, the drawn buttons clicked, and every action by keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.images.job_list import ACTION_TEXT, JOB_ROLE, JobList, JobView
from tests.ui.images.helpers import press_job_button

NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jobs(qtbot: Any, clock: Clock) -> Iterator[JobList]:
    widget = JobList(clock)
    qtbot.addWidget(widget)
    widget.resize(360, 520)
    widget.show()
    yield widget
    widget.stop()


def running(job_id: int, **kw: Any) -> JobView:
    fields: dict[str, Any] = {"state": "running", "prompt": f"prompt {job_id}", "created_at": NOW}
    fields.update(kw)
    return JobView(job_id, **fields)


def settle(jobs: JobList) -> None:
    jobs.model.flush()
    jobs.view.doItemsLayout()
    QApplication.processEvents()


def test_progress_is_painted_in_the_row(jobs: JobList) -> None:
    jobs.update_job(running(1, progress=0.5, progress_text="1 of 2 images", wanted=2, saved=1))
    settle(jobs)
    view = jobs.view
    job = jobs.job(1)
    assert job is not None
    bar = view.delegate.geometry(job, view.row_option(1)).bar
    assert bar is not None and bar.width() > 40
    image = view.viewport().grab().toImage()
    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    y = bar.center().y()

    def near(c: QColor, ref: QColor) -> bool:
        return (
            abs(c.red() - ref.red()) + abs(c.green() - ref.green()) + abs(c.blue() - ref.blue())
            < 40
        )

    filled = image.pixelColor(bar.left() + bar.width() // 4, y)
    empty = image.pixelColor(bar.left() + bar.width() * 3 // 4, y)
    assert near(filled, highlight), filled.name()
    assert not near(empty, highlight), empty.name()


def test_state_elapsed_and_buttons_are_in_the_rows_accessible_text(
    jobs: JobList, clock: Clock
) -> None:
    jobs.update_job(running(1, progress_text="Generating…", wanted=4, saved=1))
    clock.now = NOW + 65
    text = jobs.model.data(jobs.model.index(0), Qt.ItemDataRole.AccessibleTextRole)
    assert "prompt 1" in text and "1/4" in text
    assert "running for 1:05" in text
    assert "Buttons: Cancel" in text


def test_updates_repaint_at_most_once_per_frame(jobs: JobList, qtbot: Any) -> None:
    jobs.update_job(running(1))
    jobs.update_job(running(2))
    settle(jobs)
    changed: list[int] = []
    jobs.model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    flushes = jobs.model.flushes
    for step in range(50):
        jobs.update_job(running(1, progress=step / 50))
        jobs.update_job(running(2, progress=step / 50))
    assert changed == []  # nothing announced yet: the record is current, the repaint waits
    assert jobs.job(1).progress == 49 / 50  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: jobs.model.flushes > flushes, timeout=1000)
    assert jobs.model.flushes == flushes + 1
    assert sorted(changed) == [0, 1]  # one dataChanged per changed row


def test_clicking_the_drawn_buttons(jobs: JobList, qtbot: Any) -> None:
    jobs.update_job(running(1))
    jobs.update_job(
        JobView(
            2,
            "failed",
            "two hills",
            NOW,
            error="1 of 2 images were saved; HTTP 404.",
            can_retry_download=True,
        )
    )
    settle(jobs)
    assert jobs.actions(1) == ["cancel"]
    assert jobs.actions(2) == ["retry", "rerun", "dismiss"]
    with qtbot.waitSignal(jobs.cancelRequested) as cancel:
        press_job_button(jobs, 1, "cancel")
    assert cancel.args == [1]
    with qtbot.waitSignal(jobs.retryDownloadRequested) as retry:
        press_job_button(jobs, 2, "retry")
    assert retry.args == [2]
    with qtbot.waitSignal(jobs.rerunRequested) as rerun:
        press_job_button(jobs, 2, "rerun")
    assert rerun.args == [2]
    with qtbot.waitSignal(jobs.dismissRequested):
        press_job_button(jobs, 2, "dismiss")
    assert jobs.job(2) is None and jobs.job(1) is not None
    # A click beside the buttons (on the prompt) triggers nothing.
    fired: list[int] = []
    jobs.cancelRequested.connect(fired.append)
    rect = jobs.view.visualRect(jobs.model.index(0))
    QTest.mouseClick(
        jobs.view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        rect.topLeft() + QPoint(12, 10),
    )
    assert fired == []


def test_every_action_by_keyboard(jobs: JobList, qtbot: Any) -> None:
    jobs.update_job(JobView(2, "failed", "refused", NOW, error="rejected by the safety system"))
    jobs.update_job(running(1))  # newest on top: row 0
    settle(jobs)
    view = jobs.view
    view.setFocus()
    view.setCurrentIndex(jobs.model.index(0))
    # Delete cancels a running job.
    with qtbot.waitSignal(jobs.cancelRequested) as cancel:
        QTest.keyClick(view, Qt.Key.Key_Delete)
    assert cancel.args == [1]
    # Down to the failed job: Space presses its first button (Run again); Right moves to Dismiss.
    QTest.keyClick(view, Qt.Key.Key_Down)
    assert view.current_job() is not None and view.current_job().id == 2  # type: ignore[union-attr]
    with qtbot.waitSignal(jobs.rerunRequested) as rerun:
        QTest.keyClick(view, Qt.Key.Key_Space)
    assert rerun.args == [2]
    QTest.keyClick(view, Qt.Key.Key_Right)
    with qtbot.waitSignal(jobs.dismissRequested):
        QTest.keyClick(view, Qt.Key.Key_Return)
    assert jobs.job(2) is None


def test_the_context_menu_key_lists_the_jobs_actions(jobs: JobList, qtbot: Any) -> None:
    jobs.update_job(JobView(3, "failed", "hills", NOW, error="expired", can_retry_download=True))
    settle(jobs)
    view = jobs.view
    view.setCurrentIndex(jobs.model.index(0))
    pos = QPoint(5, 5)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, pos, view.mapToGlobal(pos))
    QApplication.sendEvent(view, event)
    menu = view.menu
    assert menu is not None
    texts = [a.text() for a in menu.actions()]
    assert texts == [ACTION_TEXT["retry"], ACTION_TEXT["rerun"], ACTION_TEXT["dismiss"]]
    with qtbot.waitSignal(jobs.retryDownloadRequested) as retry:
        menu.actions()[0].trigger()
    assert retry.args == [3]
    menu.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_a_job_finishing_changes_its_row_shape(jobs: JobList) -> None:
    jobs.update_job(running(1))
    settle(jobs)
    index = jobs.model.index(0)
    active_height = jobs.view.visualRect(index).height()
    jobs.update_job(
        JobView(1, "failed", "prompt 1", NOW, error="The provider refused this request. " * 3)
    )
    settle(jobs)
    assert jobs.view.visualRect(index).height() > active_height  # the error card is taller
    assert index.data(JOB_ROLE).state == "failed"

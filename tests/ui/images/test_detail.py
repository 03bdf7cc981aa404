"""The detail view: the image fitted and zoomable, prompt, revised prompt and parameters
read-only, and every action (copy, save, reveal, open, use settings, re-run, send to chat, star,
delete with undo), with the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.async_bridge import signal_future
from tests.ui.images.helpers import generate, until


@pytest.fixture(autouse=True)
def clear_clipboard() -> Iterator[None]:
    """The clipboard owns what was copied; leaving image data there crashes Qt at exit."""
    yield
    QGuiApplication.clipboard().clear()


def open_first(tab: Any, arun: Any, *, n: int = 2, prompt: str = "a red fox in the snow") -> Any:
    tab.show()

    async def scenario() -> Any:
        await generate(tab, prompt, n=n)
        await until(tab.model.rowsInserted, lambda: tab.model.rowCount() == n)
        item = tab.model.item(0)
        shown = signal_future(tab.detailShown)
        tab.gallery.openRequested.emit(item.id)
        await shown
        return item

    return arun(scenario(), timeout=15)


def test_detail_shows_prompt_revised_prompt_and_parameters_read_only(tab: Any, arun: Any) -> None:
    item = open_first(tab, arun)
    d = tab.detail
    assert tab.pages.currentWidget() is d
    assert d.prompt_text.toPlainText() == "a red fox in the snow"
    assert d.prompt_text.isReadOnly() and d.revised_text.isReadOnly()
    assert d.revised_text.toPlainText() == "A demo rendering of: a red fox in the snow"
    params = {
        d.params_form.itemAt(r, d.params_form.ItemRole.LabelRole)
        .widget()
        .text(): d.params_form.itemAt(r, d.params_form.ItemRole.FieldRole).widget().text()
        for r in range(d.params_form.rowCount())
    }
    assert params["Model"] == "demo-image" and params["Size"] == "1024x1024"
    assert "Image 1 of 2" in d.batch_label.text()
    assert not d.viewer.pixmap().isNull()
    # Looking never writes to the form.
    tab.form.prompt_edit.setPlainText("my draft")
    tab.detail_ctl.step(+1)
    assert tab.form.prompt_edit.toPlainText() == "my draft"
    assert item.id != 0


def test_zoom_fit_100_percent_and_wheel(tab: Any, arun: Any) -> None:
    open_first(tab, arun)
    viewer = tab.detail.viewer
    tab.resize(1000, 600)
    QApplication.processEvents()
    viewer.fit()
    fitted = viewer.zoom()
    assert 0 < fitted < 1.0  # 1024 px in a smaller view
    tab.detail.actual_button.click()
    assert viewer.zoom() == 1.0 and not viewer.fit_mode
    assert tab.detail.zoom_label.text() == "100 %"
    pos = QPointF(viewer.viewport().rect().center())
    event = QWheelEvent(
        pos,
        viewer.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewer.viewport(), event)
    assert viewer.zoom() > 1.0
    QTest.keyClick(tab.detail, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert viewer.fit_mode and abs(viewer.zoom() - fitted) < 0.01


def test_actions_copy_open_reveal_save_use_settings_send(
    tab: Any, arun: Any, tmp_path: Path
) -> None:
    item = open_first(tab, arun)
    d = tab.detail
    d.copy_prompt_button.click()
    assert QGuiApplication.clipboard().text() == "a red fox in the snow"
    QTest.keyClick(d, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasImage() and [u.toLocalFile() for u in mime.urls()] == [str(item.path)]
    d.open_button.click()
    d.reveal_button.click()
    assert [u.toLocalFile() for u in tab.opened_urls] == [
        str(item.path),
        str(Path(item.path).parent),
    ]

    target = tmp_path / "fox.png"

    async def save() -> None:
        saved = signal_future(tab.detail_ctl.saved)
        await tab.detail_ctl.save_to(target)
        assert await saved == str(target)

    arun(save())
    assert target.read_bytes() == Path(item.path).read_bytes()

    tab.form.prompt_edit.setPlainText("my draft")
    d.use_button.click()
    assert tab.form.prompt_edit.toPlainText() == "a red fox in the snow"
    assert tab.form.n_spin.value() == 2

    sent: list[str] = []
    tab.sendToChatRequested.connect(sent.append)
    d.send_button.click()
    assert sent == [str(item.path)]


def test_rerun_keeps_the_old_images_and_adds_new_ones(tab: Any, arun: Any) -> None:
    open_first(tab, arun, n=1, prompt="a lighthouse")

    async def scenario() -> None:
        started = signal_future(tab.generate.jobStarted)
        tab.detail.rerun_button.click()
        job_id = await started
        await tab.service.wait(job_id)
        await until(tab.model.rowsInserted, lambda: tab.model.rowCount() == 2)

    arun(scenario(), timeout=15)
    assert [it.prompt for it in tab.model.items()] == ["a lighthouse", "a lighthouse"]


def test_star_delete_undo_and_arrows_in_the_detail_view(tab: Any, arun: Any) -> None:
    first = open_first(tab, arun, n=3)
    d = tab.detail

    async def star() -> None:
        d.star_button.click()
        await until(tab.model.dataChanged, lambda: tab.model.item(0).starred)

    arun(star())
    assert d.star_button.isChecked() and d.star_button.text() == "Starred"

    async def move() -> None:
        shown = signal_future(tab.detailShown)
        QTest.keyClick(d, Qt.Key.Key_Right)
        assert await shown == tab.model.item(1).id
        shown = signal_future(tab.detailShown)
        QTest.keyClick(d, Qt.Key.Key_Left)
        assert await shown == first.id

    arun(move())

    async def delete() -> None:
        shown = signal_future(tab.detailShown)
        QTest.keyClick(d, Qt.Key.Key_Delete)
        await shown  # the next image takes its place

    arun(delete())
    assert tab.model.row_of(first.id) == -1 and tab.undo_bar.isVisible()
    assert tab.detail_ctl.record is not None and tab.detail_ctl.record.id != first.id

    async def undo() -> None:
        tab.undo_button.click()
        await until(tab.model.rowsInserted, lambda: tab.model.row_of(first.id) == 0)

    arun(undo())
    assert tab.model.item(0).starred

"""Settings → Providers, first-use polish: Stream replies, a form that does not move, no default
button, the key's show/hide toggle, the "testing…" state and wording, the preset list on first run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QPushButton

from app.core.errors import AuthenticationError, NotFoundError
from app.core.providers import KeySource
from app.ui.settings_dialog import SettingsDialog, describe_error, describe_report


@pytest.fixture
def make_dialog(app_ctx: Any, arun: Callable[..., Any]) -> Iterator[Callable[[], SettingsDialog]]:
    made: list[SettingsDialog] = []

    def make() -> SettingsDialog:
        async def build() -> SettingsDialog:
            dlg = SettingsDialog(app_ctx)
            await dlg.refresh()
            return dlg

        dlg = arun(build())
        dlg.resize(980, 700)
        dlg.show()
        made.append(dlg)
        return dlg

    yield make
    for dlg in made:
        arun(dlg.aclose())
        dlg.close()
        dlg.deleteLater()


@pytest.fixture
def dialog(make_dialog: Callable[[], SettingsDialog]) -> SettingsDialog:
    return make_dialog()


def test_stream_replies_switch_is_on_by_default_and_saved(
    dialog: SettingsDialog, app_ctx: Any, arun: Callable[..., Any], make_dialog: Any
) -> None:
    profile = dialog.add_from_preset("ollama")
    form = dialog.form
    assert profile.stream is True and form.stream_check.isChecked()
    form.stream_check.click()
    assert dialog.current_profile() is not None and dialog.current_profile().stream is False  # type: ignore[union-attr]
    assert arun(dialog.save())
    saved = app_ctx.profile(profile.id)
    assert saved is not None and saved.stream is False
    again = make_dialog()
    again.select_profile(profile.id)
    assert not again.form.stream_check.isChecked()


def _y_of(widget: Any, form: Any) -> int:
    return int(widget.mapTo(form, QPoint(0, 0)).y())


def test_validation_lines_do_not_move_the_fields(dialog: SettingsDialog, qtbot: Any) -> None:
    dialog.add_from_preset("custom")
    form = dialog.form
    form.base_url_edit.setText("https://api.example.com/v1")
    dialog._on_form_changed()
    assert form.key_edit.isVisible()
    before = {w: _y_of(w, form) for w in (form.name_edit, form.base_url_edit, form.key_edit)}
    height = form.validation_label.height()
    # Problems appear (one, then more than the reserved lines), then vanish again.
    for problems in (["Give the profile a name."], [f"Problem {i}." for i in range(6)], []):
        form.set_validation(problems)
        form.layout().activate()
        assert form.validation_label.height() == height
        assert {w: _y_of(w, form) for w in before} == before
    form.set_validation([f"Problem {i}." for i in range(6)])
    assert "more" in form.validation_label.text()  # summarised, not cut off
    assert "Problem 5." in form.validation_label.toolTip()


def test_enter_in_a_field_does_not_save(dialog: SettingsDialog, qtbot: Any) -> None:
    dialog.add_from_preset("ollama")
    saved: list[bool] = []
    dialog.saved.connect(lambda: saved.append(True))
    assert not dialog.save_button.isDefault() and not dialog.save_button.autoDefault()
    assert not any(b.isDefault() or b.autoDefault() for b in dialog.findChildren(QPushButton))
    dialog.form.name_edit.setFocus()
    qtbot.keyClick(dialog.form.name_edit, Qt.Key.Key_Return)
    qtbot.keyClick(dialog.form.name_edit, Qt.Key.Key_Enter)
    qtbot.keyClick(dialog.form.name_edit, Qt.Key.Key_Space)
    assert saved == [] and dialog.dirty and dialog.isVisible()


def test_show_hide_toggle_for_the_typed_key(dialog: SettingsDialog, qtbot: Any) -> None:
    dialog.add_from_preset("openai")
    form = dialog.form
    qtbot.keyClicks(form.key_edit, "sk-typed")
    assert form.key_edit.echoMode() == QLineEdit.EchoMode.Password
    form.show_key_button.click()
    assert form.key_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert form.show_key_button.text() == "Hide"
    form.show_key_button.click()
    assert form.key_edit.echoMode() == QLineEdit.EchoMode.Password
    form.show_key_button.click()
    # Another profile shown: masked again.
    dialog.add_from_preset("custom")
    assert form.key_edit.echoMode() == QLineEdit.EchoMode.Password


def test_wrong_key_is_reported_as_a_wrong_key(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any
) -> None:
    from app.core.demo.server import DemoServer

    server = DemoServer(host="127.0.0.1", port=0, token_rate=0, api_key="sk-right-key-123456")
    server.start()
    try:
        dialog.add_from_preset("custom")
        form = dialog.form
        form.name_edit.setText("Keyed")
        form.base_url_edit.setText(server.base_url("openai"))
        form.set_key_source(KeySource.SESSION)
        dialog._on_form_changed()
        qtbot.keyClicks(form.key_edit, "sk-wrong-key-000000")
        form.retries_spin.setValue(0)
        dialog.clock = lambda: datetime(2026, 3, 4, 9, 5)
        report = arun(dialog.test_connection(), timeout=30)
    finally:
        server.stop()
    assert report is not None and report.error is not None
    text = form.test_result.text()
    assert text.startswith("Last tested 09:05: Wrong API key"), text
    assert "not found" not in text.lower()
    assert "sk-wrong-key-000000" not in text


def test_wording_of_errors_and_notes() -> None:
    assert describe_error(AuthenticationError(status=403)).startswith("Wrong API key")
    # A 401 that reached the client as "not found" (e.g. a probe of another path) is still a key.
    assert describe_error(NotFoundError(status=401)).startswith("Wrong API key")
    assert "not know this model" in describe_error(NotFoundError(status=404))

    @dataclass
    class Report:
        ok: bool = True
        latency_ms: float = 12.0
        models: list[Any] = field(default_factory=list)
        error: Any = None
        note: str = ""

    text, ok, models = describe_report(Report(note="no model list; a test reply worked in 12 ms"))
    assert ok and models == []
    assert "no model list; a test reply worked in 12 ms" in text
    assert "listed no models" not in text
    text, ok, _ = describe_report(Report())
    assert text.startswith("Connected in 12 ms") and "listed no models" in text


def test_last_result_kept_per_profile(dialog: SettingsDialog) -> None:
    a = dialog.add_from_preset("ollama")
    dialog.clock = lambda: datetime(2026, 3, 4, 14, 2)
    dialog._show_test_result(a.id, "Connected.", True)
    b = dialog.add_from_preset("lmstudio")
    assert not dialog.form.test_result.text().startswith("Last tested")
    dialog.select_profile(a.id)
    assert dialog.form.test_result.text() == "Last tested 14:02: Connected."
    assert b.id not in dialog._last_test


def test_empty_settings_open_on_the_preset_list(dialog: SettingsDialog, qtbot: Any) -> None:
    assert dialog.list.count() == 0
    assert dialog.empty_panel.isVisible() and not dialog.form_scroll.isVisible()
    assert dialog.preset_list.count() > 3
    dialog.show_presets()
    labels = [dialog.preset_list.item(i).text() for i in range(dialog.preset_list.count())]
    target = next(i for i, t in enumerate(labels) if "Ollama" in t)
    dialog.preset_list.setCurrentRow(target)
    dialog.add_preset_button.click()
    assert dialog.list.count() == 1
    assert "Ollama" in dialog.current_profile().name  # type: ignore[union-attr]
    assert dialog.form_scroll.isVisible() and not dialog.empty_panel.isVisible()


def test_first_run_add_provider_opens_the_preset_list(
    window: Any, arun: Callable[..., Any], qtbot: Any
) -> None:
    window.show()
    assert window.chat_stack.currentWidget() is window.first_run
    window.first_run.add_button.click()
    dlg = window._settings_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.empty_panel.isVisible() and dlg.preset_list.count() > 3
    assert dlg.preset_list.currentItem() is not None  # Enter adds the highlighted preset
    arun(dlg.aclose())
    dlg.close()


def test_screenshot_of_the_first_run_settings(dialog: SettingsDialog) -> None:
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    image = dialog.grab().toImage()
    assert not image.isNull() and image.width() >= 900
    assert image.save(str(out / "settings-first-run-presets.png"), "PNG")
    dialog.add_from_preset("custom")
    dialog.form.set_validation(["Give the profile a name.", "Enter the base URL.", "A third."])
    assert dialog.grab().toImage().save(str(out / "settings-validation.png"), "PNG")


def test_no_keychain_wording_in_the_dialog(app_ctx: Any, make_dialog: Any) -> None:
    from keyring.backends import fail

    from app.core.secrets import SecretStore

    app_ctx.secrets = SecretStore("switchboard-test", keyring_backend=fail.Keyring(), environ={})
    dlg = make_dialog()
    assert "keychain" not in dlg.io_note.text()  # no claim that keys "stay in the keychain"
    assert not dlg.banner.isHidden()


def test_show_presets_with_profiles_pops_the_add_menu(dialog: SettingsDialog, qtbot: Any) -> None:
    dialog.add_from_preset("ollama")
    dialog.show_presets()
    assert dialog.add_menu.isVisible()
    labels = [a.text() for a in dialog.add_menu.actions()]
    assert "OpenAI" in labels and "Custom" in labels
    dialog.add_menu.hide()

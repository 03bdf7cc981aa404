"""Settings → Providers: presets, editing, duplicate/delete, validation, keys, test, import/export."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QMessageBox,
    QWidget,
)

from app.core.providers import KeySource
from app.ui.async_bridge import signal_future
from app.ui.settings_dialog import SettingsDialog


@pytest.fixture
def make_dialog(app_ctx: Any, arun: Callable[..., Any]) -> Iterator[Callable[[], SettingsDialog]]:
    made: list[SettingsDialog] = []

    def make() -> SettingsDialog:
        async def build() -> SettingsDialog:
            dlg = SettingsDialog(app_ctx)
            await dlg.refresh()
            return dlg

        dlg = arun(build())
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


def _type(qtbot: Any, widget: QWidget, text: str, *, clear: bool = True) -> None:
    if clear:
        widget.selectAll()  # type: ignore[attr-defined]
        qtbot.keyClick(widget, Qt.Key.Key_Delete)
    qtbot.keyClicks(widget, text)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_add_melancholy_preset_has_trailing_slash_and_user_agent(
    dialog: SettingsDialog, app_ctx: Any, arun: Callable[..., Any]
) -> None:
    profile = dialog.add_from_preset("melancholy")
    form = dialog.form
    assert form.trailing_slash_check.isChecked()
    headers = dict(form.headers_table.items())
    assert headers.get("User-Agent")
    assert form.base_url_edit.text().endswith("/api/v1")
    assert dialog.list.count() == 1

    async def save() -> bool:
        changed = signal_future(app_ctx.events.profilesChanged)
        ok = await dialog.save()
        await changed
        return ok

    assert arun(save()) is True
    assert [p.id for p in app_ctx.profile_list] == [profile.id]
    assert app_ctx.active_profile_id == profile.id
    data = json.loads((app_ctx.data_dir / "profiles.json").read_text())
    saved = data["profiles"][0]
    assert saved["trailing_slash"] is True and "User-Agent" in saved["extra_headers"]
    assert data["active_id"] == profile.id


def test_edit_updates_list_and_saves(
    dialog: SettingsDialog, app_ctx: Any, arun: Callable[..., Any], qtbot: Any
) -> None:
    dialog.add_from_preset("custom")
    form = dialog.form
    _type(qtbot, form.name_edit, "My server")
    _type(qtbot, form.base_url_edit, "http://127.0.0.1:9/v1")
    form.read_timeout_spin.setValue(42)
    form.model_combos["chat"].setEditText("my-model")
    assert dialog.list.item(0).text().startswith("My server")
    assert dialog.dirty
    assert arun(dialog.save())
    p = app_ctx.profile_list[0]
    assert (p.name, p.base_url, p.read_timeout, p.model_for("chat")) == (
        "My server",
        "http://127.0.0.1:9/v1",
        42.0,
        "my-model",
    )
    assert not dialog.dirty


def test_validation_is_shown_and_blocks_save(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any, app_ctx: Any
) -> None:
    dialog.add_from_preset("custom")
    form = dialog.form
    _type(qtbot, form.name_edit, "Broken")
    _type(qtbot, form.base_url_edit, "ftp://example.com")
    assert form.problems_shown()
    assert "http://" in form.validation_label.full_text()
    form.headers_table.add_row("Authorization", "Bearer sk-abcdefghijklmnop")
    assert "credentials" in form.validation_label.full_text()
    assert arun(dialog.save()) is False
    assert "problems" in dialog.message_label.text()
    assert app_ctx.profile_list == []


def test_duplicate_and_delete_with_confirmation(
    dialog: SettingsDialog, arun: Callable[..., Any], app_ctx: Any
) -> None:
    original = dialog.add_from_preset("openai")
    copy_ = dialog.duplicate_current()
    assert copy_ is not None and copy_.id != original.id
    assert copy_.name == "OpenAI (copy)"
    assert dialog.list.count() == 2

    async def answer(button_text: str) -> bool:
        task = asyncio.ensure_future(dialog.delete_current())
        await asyncio.sleep(0)  # let the task open its question
        box = dialog.findChild(QMessageBox, "confirmBox")
        assert box is not None and box.isVisible()
        assert "OpenAI (copy)" in box.text()
        [button] = [b for b in box.buttons() if b.text() == button_text]
        button.click()
        return await task

    assert arun(answer("Cancel")) is False
    assert dialog.list.count() == 2
    assert arun(answer("Delete")) is True
    assert [p.id for p in dialog.profiles()] == [original.id]
    assert arun(dialog.save())
    assert [p.id for p in app_ctx.profile_list] == [original.id]


def test_set_active_marks_and_emits(
    dialog: SettingsDialog, arun: Callable[..., Any], app_ctx: Any
) -> None:
    first = dialog.add_from_preset("openai")
    second = dialog.add_from_preset("groq")
    assert arun(dialog.save())
    assert app_ctx.active_profile_id == first.id
    dialog.select_profile(second.id)
    dialog.set_current_active()
    assert "active" in dialog.list.item(1).text()

    async def save() -> str:
        changed = signal_future(app_ctx.events.activeProfileChanged)
        await dialog.save()
        return await changed

    assert arun(save()) == second.id
    assert app_ctx.active_profile_id == second.id


def test_key_goes_to_keychain_never_to_profiles_json(
    dialog: SettingsDialog,
    arun: Callable[..., Any],
    qtbot: Any,
    app_ctx: Any,
    keyring_backend: Any,
    tmp_path: Path,
) -> None:
    secret = "sk-test-1234567890abcdefSECRET"
    profile = dialog.add_from_preset("openai")
    form = dialog.form
    assert form.key_source() == KeySource.KEYCHAIN
    assert not form.key_edit.isHidden()
    assert form.key_edit.echoMode() == form.key_edit.EchoMode.Password
    qtbot.keyClicks(form.key_edit, secret)
    assert arun(dialog.save())

    assert keyring_backend.passwords[("switchboard-test", profile.id)] == secret
    text = (app_ctx.data_dir / "profiles.json").read_text()
    assert secret not in text and "SECRET" not in text
    # the stored key is never shown back
    assert form.key_edit.isHidden() and form.key_edit.text() == ""
    assert not form.stored_row.isHidden()
    assert "stored in the keychain" in form.key_stored_label.text()
    # export never carries it either
    out = tmp_path / "export.json"
    arun(dialog.export_to(out))
    assert secret not in out.read_text()
    assert "never include API keys" in " ".join(
        w.text() for w in dialog.findChildren(type(dialog.message_label))
    )

    # a fresh dialog knows a key is stored, without revealing it
    other = SettingsDialog(app_ctx)
    try:
        arun(other.refresh())
        assert not other.form.stored_row.isHidden()
        assert secret not in other.form.key_edit.text()
        other.form.remove_key_button.click()
        assert arun(other.save())
        assert ("switchboard-test", profile.id) not in keyring_backend.passwords
    finally:
        arun(other.aclose())
        other.deleteLater()


def test_test_connection_against_demo_server_lists_models(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any, demo_server: Any
) -> None:
    dialog.add_from_preset("custom")
    form = dialog.form
    _type(qtbot, form.name_edit, "Loopback demo")
    _type(qtbot, form.base_url_edit, demo_server.base_url("openai"))
    form.set_key_source(KeySource.NONE)
    dialog.clock = lambda: datetime(2026, 3, 4, 14, 2)

    async def run_test() -> Any:
        done = signal_future(dialog.testFinished)
        form.test_button.click()
        # The "testing…" state: button disabled, a spinner and Cancel while it runs.
        assert not form.test_button.isEnabled() and form.test_busy
        assert not form.test_progress.isHidden()
        assert not form.cancel_test_button.isHidden()
        assert "Testing" in form.test_result.text()
        return await done

    report = arun(run_test())
    assert report.error is None
    text = form.test_result.text()
    assert text.startswith("Last tested 14:02: Connected") and "demo-chat" in text
    assert form.test_progress.isHidden() and form.test_button.isEnabled()
    chat_combo = form.model_combos["chat"]
    assert chat_combo.findText("demo-chat") >= 0


def test_test_connection_to_dead_port_says_connect_error(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any
) -> None:
    dialog.add_from_preset("custom")
    form = dialog.form
    _type(qtbot, form.name_edit, "Nothing there")
    _type(qtbot, form.base_url_edit, f"http://127.0.0.1:{_free_port()}/v1")
    form.set_key_source(KeySource.NONE)
    form.retries_spin.setValue(0)
    report = arun(dialog.test_connection(), timeout=30)
    assert report is not None and report.error is not None
    text = form.test_result.text()
    assert text.startswith("Last tested ") and "Could not connect to 127.0.0.1:" in text
    assert "Check the base URL" in text


def test_cancel_test_connection(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any, demo_server: Any
) -> None:
    dialog.add_from_preset("custom")
    _type(qtbot, dialog.form.base_url_edit, demo_server.base_url("openai"))
    dialog.form.set_key_source(KeySource.NONE)

    async def start_and_cancel() -> None:
        dialog.start_test()
        task = dialog._test_task
        assert task is not None
        dialog.form.cancel_test_button.click()
        await asyncio.gather(task, return_exceptions=True)

    arun(start_and_cancel())
    assert dialog.form.test_button.isEnabled()
    assert dialog.form.test_result.text() == "Test cancelled."
    assert dialog.form.test_progress.isHidden() and dialog.form.cancel_test_button.isHidden()


def test_import_export_round_trip(
    make_dialog: Callable[[], SettingsDialog],
    arun: Callable[..., Any],
    app_ctx: Any,
    tmp_path: Path,
) -> None:
    first = make_dialog()
    a = first.add_from_preset("melancholy")
    b = first.add_from_preset("ollama")
    assert arun(first.save())
    out = tmp_path / "profiles-export.json"
    assert arun(first.export_to(out)) == 2
    exported = json.loads(out.read_text())
    assert [p["name"] for p in exported["profiles"]] == [a.name, b.name]

    second = make_dialog()
    imported = arun(second.import_from(out))
    assert [p.name for p in imported] == [a.name, b.name]
    assert {p.id for p in imported}.isdisjoint({a.id, b.id})
    assert imported[0].trailing_slash and "User-Agent" in imported[0].extra_headers
    assert arun(second.save())
    assert len(app_ctx.profile_list) == 4


def test_keychain_unavailable_banner_offers_alternatives(
    app_ctx: Any, make_dialog: Callable[[], SettingsDialog]
) -> None:
    from keyring.backends import fail

    from app.core.secrets import SecretStore

    app_ctx.secrets = SecretStore("switchboard-test", keyring_backend=fail.Keyring(), environ={})
    dlg = make_dialog()
    assert not dlg.banner.isHidden()
    assert "No system keychain" in dlg.banner_label.text()
    profile = dlg.add_from_preset("openai")
    # presets that want the keychain fall back to a session key when there is none
    assert dlg.form.key_source() == KeySource.SESSION
    dlg.use_env_button.click()
    assert dlg.form.key_source() == KeySource.ENV
    assert dlg.current_profile().key_source == KeySource.ENV  # type: ignore[union-attr]
    assert profile.id == dlg.current_profile().id  # type: ignore[union-attr]


def test_focus_chain_has_accessible_names(dialog: SettingsDialog, qtbot: Any) -> None:
    dialog.add_from_preset("openai")
    dialog.activateWindow()
    seen: list[QWidget] = []
    names: list[str] = [dialog.list.accessibleName()]
    w: QWidget = dialog.list
    for _ in range(400):
        w = w.nextInFocusChain()
        if w is dialog.list:
            break
        if w in seen:
            continue
        seen.append(w)
        if not w.isVisibleTo(dialog) or not w.isEnabled():
            continue
        if not (w.focusPolicy() & Qt.FocusPolicy.TabFocus):
            continue
        named = w
        parent = w.parentWidget()
        # the line edit inside an editable combo or a spin box is named through its owner
        if parent is not None and isinstance(parent, (QComboBox, QAbstractSpinBox)):
            named = parent
        assert named.accessibleName(), (
            f"{type(w).__name__} {w.objectName()!r} has no accessible name"
        )
        names.append(named.accessibleName())
    # the order follows the layout: list, its buttons, then the form top to bottom, then Save
    order = [
        n
        for n in names
        if n
        in (
            "Provider profiles",
            "Add a provider from a preset",
            "Profile name",
            "Base URL",
            "Where the API key is kept",
            "API key",
            "Test connection",
            "Proxy URL",
            "Save provider settings",
        )
    ]
    assert order == [
        "Provider profiles",
        "Add a provider from a preset",
        "Profile name",
        "Base URL",
        "Where the API key is kept",
        "API key",
        "Test connection",
        "Proxy URL",
        "Save provider settings",
    ]


def test_test_connection_without_a_model_list_tries_one_reply(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any, demo_server: Any
) -> None:
    """A provider with no `/models` (404): the test sends a 1-token chat to the default model."""
    from app.core.demo.faults import FaultRule

    demo_server.faults.add(FaultRule(path_contains="/models", status=404))
    dialog.add_from_preset("custom")
    form = dialog.form
    _type(qtbot, form.name_edit, "No model list")
    _type(qtbot, form.base_url_edit, demo_server.base_url("openai"))
    form.set_key_source(KeySource.NONE)
    form.model_combos["chat"].setEditText("demo-chat")

    async def run_test() -> Any:
        done = signal_future(dialog.testFinished)
        form.test_button.click()
        return await done

    report = arun(run_test())
    assert report.error is None
    text = form.test_result.text()
    assert "no model list; a test reply worked in" in text and "not found" not in text.lower()
    tried = demo_server.requests.find("chat/completions")
    assert tried and tried[-1].json.get("max_tokens") == 1


def test_test_connection_with_a_wrong_key_says_wrong_key_not_not_found(
    dialog: SettingsDialog, arun: Callable[..., Any], qtbot: Any, demo_server: Any
) -> None:
    from app.core.demo.faults import FaultRule

    demo_server.faults.add(FaultRule(path_contains="/models", status=404))
    demo_server.faults.add(
        FaultRule(
            path_contains="chat/completions",
            status=401,
            body={"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
        )
    )
    dialog.add_from_preset("custom")
    form = dialog.form
    _type(qtbot, form.name_edit, "Wrong key")
    _type(qtbot, form.base_url_edit, demo_server.base_url("openai"))
    form.set_key_source(KeySource.NONE)
    form.model_combos["chat"].setEditText("demo-chat")

    async def run_test() -> Any:
        done = signal_future(dialog.testFinished)
        form.test_button.click()
        return await done

    report = arun(run_test())
    assert report.error is not None
    text = form.test_result.text()
    assert "Wrong API key" in text and "not found" not in text.lower()

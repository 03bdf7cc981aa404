"""Per-thread settings, personas and completion threads against a real DemoServer.

What reached the server is read from `demo.requests` (the JSON bodies as received).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.protocol.types import ChatMessage
from app.core.providers import Dialect
from app.core.services.context_window import estimate_messages
from app.ui.async_bridge import signal_future
from app.ui.chat import ChatTab
from app.ui.chat.personas import PersonaDialog
from app.ui.chat.thread_settings import (
    COMPLETION_LABEL,
    COMPLETION_TOOLTIP,
    GEMINI_NO_COMPLETIONS,
    parse_stop,
)
from app.ui.context import AppContext
from tests.ui.chat.helpers import chat_bodies, make_ready_tab, send_and_wait


@pytest.fixture
def tab(qtbot: QtBot, app_ctx: AppContext, arun: Callable[..., Any]) -> Iterator[ChatTab]:
    """A shown ChatTab, closed (staged) by this fixture.

    Not `qtbot.addWidget`: pytest-qt closes and `deleteLater()`s registered widgets *before*
    fixture teardown, so the deferred delete could land in the middle of `aclose()`.
    """
    widget = arun(make_ready_tab(app_ctx))
    widget.resize(1200, 760)
    widget.show()
    yield widget
    arun(widget.aclose())
    widget.close()
    widget.deleteLater()






def test_panel_toggles_with_button_and_ctrl_shift_s(tab: ChatTab, qtbot: QtBot) -> None:
    ts = tab.thread_settings
    assert not ts.panel.isVisible()
    ts.toggle_button.click()
    assert ts.panel.isVisible() and ts.toggle_button.isChecked()
    assert ts.panel.profile_combo.currentData() == "demo-openai"
    assert ts.panel.model_combo.currentText() == "demo-chat"
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not ts.panel.isVisible() and not ts.toggle_button.isChecked()
    assert tab.composer.edit.hasFocus()


def test_panel_is_built_on_first_open_showing_the_open_thread(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    """The start-up builds neither the panel nor the completion view; a thread opened before
    the panel exists is shown in it (prompt, kind) once the panel is built."""
    ts = tab.thread_settings
    assert ts._panel is None and ts._completion_view is None
    assert tab.splitter.count() == 2
    arun(send_and_wait(tab, "Hi"))
    thread_id = tab.current_thread_id or 0
    arun(app_ctx.threads.update_thread_settings(thread_id, system_prompt="You answer like a pirate."))
    tab.start_new_thread()
    arun(tab.open_thread(thread_id))
    assert ts._panel is None and "pirate" in tab.composer.mode_label.text()

    ts.toggle_button.click()
    assert ts.panel.isVisible() and tab.splitter.count() == 3
    assert ts.panel.system_edit.toPlainText() == "You answer like a pirate."
    assert ts.panel.kind_label.text() == "Chat thread"
    assert ts.panel.profile_combo.currentData() == "demo-openai"
    assert ts.panel.model_combo.currentText() == "demo-chat"
    assert ts.personas.isVisibleTo(ts.panel)


def test_only_the_parameters_set_are_sent_and_stored(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    ts = tab.thread_settings
    ts.set_panel_visible(True)
    form = ts.panel.params_form
    form.rows["temperature"].check.setChecked(True)
    form.rows["temperature"].spin.setValue(0.3)
    form.rows["max_tokens"].check.setChecked(True)
    form.rows["max_tokens"].spin.setValue(64)
    form.rows["seed"].check.setChecked(True)
    form.rows["seed"].spin.setValue(7)
    form.stop_edit.setPlainText("END, STOP\n\\n\\n")

    reply_id = arun(send_and_wait(tab, "Hello there"))
    body = chat_bodies(app_ctx)[-1]
    assert body["temperature"] == pytest.approx(0.3)
    assert body["max_tokens"] == 64 and body["seed"] == 7
    assert body["stop"] == ["END", "STOP", "\n\n"]
    for unset in ("top_p", "top_k", "n", "presence_penalty", "frequency_penalty"):
        assert unset not in body
    stored = arun(app_ctx.threads.get_message(reply_id))
    assert stored is not None and stored.params is not None
    assert stored.params.temperature == pytest.approx(0.3) and stored.params.top_p is None
    thread = arun(app_ctx.threads.get_thread(tab.current_thread_id or 0))
    assert thread is not None and thread.params.max_tokens == 64 and thread.params.seed == 7

    # Unset temperature again: the next request no longer carries it, and it is saved.
    form.rows["temperature"].check.setChecked(False)
    arun(ts.flush())
    thread = arun(app_ctx.threads.get_thread(tab.current_thread_id or 0))
    assert thread is not None and thread.params.temperature is None and thread.params.max_tokens == 64
    arun(send_and_wait(tab, "Again"))
    body = chat_bodies(app_ctx)[-1]
    assert "temperature" not in body and body["max_tokens"] == 64

    form.reset_button.click()
    arun(send_and_wait(tab, "And now nothing"))
    body = chat_bodies(app_ctx)[-1]
    assert not {"temperature", "max_tokens", "seed", "stop"} & set(body)


def test_stop_sequences_are_capped_at_four_with_a_visible_note(tab: ChatTab) -> None:
    assert parse_stop("a, b\nc\n\n d ,e") == ["a", "b", "c", "d", "e"]
    ts = tab.thread_settings
    ts.set_panel_visible(True)
    form = ts.panel.params_form
    form.stop_edit.setPlainText("a,b,c,d,e")
    assert form.stop_error.isVisible() and "only the first 4" in form.stop_error.text()
    assert form.params().stop == ["a", "b", "c", "d"]
    form.stop_edit.setPlainText("")
    assert not form.stop_error.isVisible() and form.params().stop is None


def test_switching_profile_mid_thread_records_the_new_profile(
    tab: ChatTab, app_ctx: AppContext, demo_server: Any, arun: Callable[..., Any]
) -> None:
    gateway = next(p for p in demo_server.profiles() if p.id == "demo-gateway")
    app_ctx.profile_list.append(gateway)
    app_ctx.events.profilesChanged.emit()
    ts = tab.thread_settings
    ts.set_panel_visible(True)

    first = arun(send_and_wait(tab, "First question"))
    thread_id = tab.current_thread_id
    assert thread_id is not None

    async def switch() -> None:
        loaded = signal_future(tab.modelsLoaded)
        index = ts.panel.profile_combo.findData("demo-gateway")
        ts.panel.profile_combo.setCurrentIndex(index)
        ts.panel.profile_combo.activated.emit(index)  # as a user's pick
        await loaded
        await ts.flush()

    arun(switch())
    assert tab.profile() is gateway and tab.profile_label.text() == gateway.name
    assert app_ctx.active_profile_id == "demo-openai"  # the app's active profile is untouched
    thread = arun(app_ctx.threads.get_thread(thread_id))
    assert thread is not None and thread.profile_id == "demo-gateway"

    second = arun(send_and_wait(tab, "Second question"))
    assert app_ctx.demo is not None
    paths = [r.path for r in app_ctx.demo.requests.find("chat/completions", "POST")]
    assert paths[0].startswith("/v1/") and paths[-1].startswith("/api/v1/")
    old = arun(app_ctx.threads.get_message(first))
    new = arun(app_ctx.threads.get_message(second))
    assert old is not None and old.profile_id == "demo-openai"
    assert new is not None and new.profile_id == "demo-gateway" and new.model == "demo-chat"

    # Reopening the thread brings its profile back even after a new thread reset the draft.
    tab.start_new_thread()
    opened = tab.profile()
    assert opened is not None and opened.id == "demo-openai"
    arun(tab.open_thread(thread_id))
    assert tab.profile() is gateway
    assert ts.panel.profile_combo.currentData() == "demo-gateway"


def test_system_prompt_is_sent_saved_and_reloaded(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    ts = tab.thread_settings
    ts.set_panel_visible(True)
    ts.panel.system_edit.setPlainText("You answer like a pirate.")
    assert tab.composer.mode_label.isVisible() and "pirate" in tab.composer.mode_label.text()
    arun(send_and_wait(tab, "Hi"))
    body = chat_bodies(app_ctx)[-1]
    assert body["messages"][0] == {"role": "system", "content": "You answer like a pirate."}
    thread_id = tab.current_thread_id or 0

    tab.start_new_thread()
    assert ts.panel.system_edit.toPlainText() == ""
    arun(tab.open_thread(thread_id))
    assert ts.panel.system_edit.toPlainText() == "You answer like a pirate."

    ts.panel.system_edit.setPlainText("Be brief.")
    arun(ts.flush())
    thread = arun(app_ctx.threads.get_thread(thread_id))
    assert thread is not None and thread.system_prompt == "Be brief."


def test_context_indicator_uses_the_profile_window(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    app_ctx.profile_list[0].context_windows = {"demo-chat": 1000}
    ts = tab.thread_settings
    ts.set_panel_visible(True)
    ts.panel.system_edit.setPlainText("Short prompt")
    tab.composer.set_text("hello world")
    ts.update_context()
    expected = estimate_messages([ChatMessage("system", "Short prompt"), ChatMessage("user", "hello world")])
    assert ts.panel.context_label.text() == f"≈ {expected} / 1,000 tokens"
    tab.set_model("gpt-4o")
    ts.update_context()
    assert ts.panel.context_label.text().endswith("/ 128,000 tokens")

    async def grow() -> tuple[int, int]:
        updated = signal_future(ts.contextUpdated)
        tab.set_model("demo-chat")
        tab.composer.set_text("x" * 8000)
        return await updated

    tokens, window = arun(grow())
    assert window == 1000 and tokens > 2000
    assert ts.panel.context_label.property("role") == "error"


def test_persona_new_thread_sends_its_system_prompt(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    ts = tab.thread_settings

    async def add() -> list[Any]:
        await ts.personas_repo.create("Reviewer", "You review code strictly.")
        return await ts.personas.reload()

    personas = arun(add())
    assert [p.name for p in personas] == ["Reviewer"]
    actions = ts.persona_actions()
    assert [a.text() for a in actions] == ["Reviewer"]
    actions[0].trigger()
    assert tab.current_thread_id is None
    assert tab.composer.mode_label.text() == "Persona: Reviewer"
    arun(send_and_wait(tab, "def f(): pass"))
    first = chat_bodies(app_ctx)[-1]
    assert first["messages"][0] == {"role": "system", "content": "You review code strictly."}
    thread = arun(app_ctx.threads.get_thread(tab.current_thread_id or 0))
    assert thread is not None and thread.system_prompt == "You review code strictly."


def test_persona_manager_saves_edits_and_deletes_after_confirming(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any]
) -> None:
    ts = tab.thread_settings
    manager = ts.personas
    ts.set_panel_visible(True)
    ts.panel.system_edit.setPlainText("Translate everything to French.")

    async def save() -> None:
        shown = signal_future(manager.dialogShown)
        changed = signal_future(manager.personasChanged)
        manager.save_button.click()
        dialog: PersonaDialog = await shown
        assert dialog.prompt == "Translate everything to French."
        dialog.name_edit.setText("Translator")
        dialog.accept()
        await changed

    arun(save())
    stored = arun(ts.personas_repo.list_all())
    assert [(p.name, p.system_prompt) for p in stored] == [("Translator", "Translate everything to French.")]
    assert manager.selected() is not None and manager.selected().name == "Translator"  # type: ignore[union-attr]

    async def edit() -> None:
        shown = signal_future(manager.dialogShown)
        changed = signal_future(manager.personasChanged)
        manager.edit_button.click()
        dialog: PersonaDialog = await shown
        dialog.name_edit.setText("French")
        dialog.accept()
        await changed

    arun(edit())
    assert [p.name for p in arun(ts.personas_repo.list_all())] == ["French"]

    asked: list[str] = []

    async def answer(result: bool) -> None:
        async def fake_confirm(_parent: Any, _title: str, text: str, **_kw: Any) -> bool:
            asked.append(text)
            return result

        manager.confirm = fake_confirm
        persona = manager.selected()
        assert persona is not None
        await manager.delete_persona(persona)

    arun(answer(False))
    assert len(asked) == 1 and "French" in asked[0]
    assert len(arun(ts.personas_repo.list_all())) == 1  # cancelled: still there
    arun(answer(True))
    assert arun(ts.personas_repo.list_all()) == []
    assert ts.persona_actions() == []  # the menu follows


def test_completion_thread_hits_completions_and_shows_the_text(
    tab: ChatTab, app_ctx: AppContext, arun: Callable[..., Any], qtbot: QtBot
) -> None:
    ts = tab.thread_settings
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert ts.kind == "completion"
    assert tab.composer.mode_label.text() == COMPLETION_LABEL and tab.composer.mode_label.isVisible()
    assert tab.current_model() == "demo-instruct"  # the profile's completion default
    assert ts.completion_view.isVisible() and not tab.message_view.isVisible()

    arun(send_and_wait(tab, "Once upon a time"))
    assert app_ctx.demo is not None
    completions = [r for r in app_ctx.demo.requests.find("/completions", "POST") if "chat" not in r.path]
    assert len(completions) == 1 and completions[0].path == "/v1/completions"
    assert completions[0].json["prompt"] == "Once upon a time"
    assert completions[0].json["model"] == "demo-instruct"
    text = ts.completion_view.plain_text()
    generated = tab.message_model.rows[-1].content
    assert generated and text == "Once upon a time" + generated
    thread = arun(app_ctx.threads.get_thread(tab.current_thread_id or 0))
    assert thread is not None and thread.kind == "completion" and thread.model == "demo-instruct"

    # A chat thread again: bubbles, the chat model, no raw-text label.
    tab.start_new_thread()
    assert ts.kind == "chat" and tab.current_model() == "demo-chat"
    assert not tab.composer.mode_label.isVisible() and tab.message_view.isVisible()
    assert not ts.completion_view.isVisible()
    thread_id = thread.id
    arun(tab.open_thread(thread_id))
    assert ts.kind == "completion" and ts.completion_view.plain_text() == text


def test_new_thread_menu_offers_chat_completion_and_personas(tab: ChatTab) -> None:
    ts = tab.thread_settings
    texts = [a.text() for a in ts.new_menu.actions() if not a.isSeparator()]
    assert texts[0].startswith("New chat thread") and texts[1].startswith("New completion thread")
    assert "New thread from persona" in texts
    assert ts.new_menu_button.accessibleName() and ts.new_menu_button.isVisible()
    ts.new_completion_action.trigger()
    assert ts.kind == "completion"
    ts.new_chat_action.trigger()
    assert ts.kind == "chat"
    ts.manage_personas_action.trigger()
    assert ts.panel.isVisible()


def test_new_completion_thread_follows_the_dialect_of_the_active_profile(
    tab: ChatTab, app_ctx: AppContext, demo_server: Any, arun: Callable[..., Any]
) -> None:
    ts = tab.thread_settings
    action = ts.new_completion_action
    assert action.isEnabled() and action.toolTip() == COMPLETION_TOOLTIP

    # The active profile becomes a Gemini one: not offered, and the tooltip says why.
    gemini = next(p for p in demo_server.profiles() if p.id == "demo-gemini")
    app_ctx.profile_list.append(gemini)
    app_ctx.events.profilesChanged.emit()
    assert action.isEnabled()  # another profile was added; the active one is unchanged
    app_ctx.active_profile_id = gemini.id
    app_ctx.events.activeProfileChanged.emit(gemini.id)
    assert tab.profile_label.text() == gemini.name or tab.demo_badge.isVisible()
    assert not action.isEnabled() and action.toolTip() == GEMINI_NO_COMPLETIONS

    # A thread bound to the OpenAI profile is opened: a new thread would still start with the
    # active (Gemini) profile, so a completion thread stays unavailable.
    thread = arun(app_ctx.threads.create_thread(profile_id="demo-openai", model="demo-chat"))
    arun(tab.open_thread(thread.id))
    opened = tab.profile()
    assert opened is not None and opened.id == "demo-openai"
    assert not action.isEnabled()

    # Back to OpenAI: offered again, and it works.
    app_ctx.active_profile_id = "demo-openai"
    app_ctx.events.activeProfileChanged.emit("demo-openai")
    assert action.isEnabled() and action.toolTip() == COMPLETION_TOOLTIP
    action.trigger()
    assert ts.kind == "completion" and tab.current_model() == "demo-instruct"

    # An edit that turns the active profile's dialect to Gemini is caught too (profilesChanged).
    tab.start_new_thread()
    edited = dataclasses.replace(app_ctx.profile_list[0], dialect=Dialect.GEMINI)
    app_ctx.profile_list[0] = edited
    app_ctx.events.profilesChanged.emit()
    assert not action.isEnabled() and action.toolTip() == GEMINI_NO_COMPLETIONS
    refusals: list[str] = []
    ts.completionRefused.connect(refusals.append)
    ts.new_completion_thread()
    assert refusals == [GEMINI_NO_COMPLETIONS] and ts.kind == "chat"

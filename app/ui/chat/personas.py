"""Personas in the Chat tab: saved system prompts, a small manager and the editor dialog.

`PersonaManager` is the section of the thread settings panel that lists the personas and offers
Use / New from prompt / Edit / Delete; it owns no storage of its own but calls a
`PersonaRepository` through coroutines started by its owner (`spawn`), so every SQLite write
stays off the GUI thread. Dialogs are shown with `open()` and awaited (never `exec()`), and
deleting asks first.

`personasChanged(list)` carries the fresh list after every change, so the "New thread from
persona" menu can be rebuilt without another query.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.store.personas import PersonaRepository
from app.core.store.records import Persona
from app.ui.async_bridge import confirm, signal_future

__all__ = ["PERSONA_ID_ROLE", "PersonaDialog", "PersonaManager"]

PERSONA_ID_ROLE = Qt.ItemDataRole.UserRole + 1

Spawn = Callable[[Coroutine[Any, Any, Any]], Any]


class PersonaDialog(QDialog):
    """Name + system prompt of one persona (new or edited)."""

    def __init__(self, parent: QWidget | None, *, title: str, name: str = "", prompt: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("personaDialog")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.name_edit = QLineEdit(name, self)
        self.name_edit.setObjectName("personaName")
        self.name_edit.setAccessibleName("Persona name")
        self.name_edit.setPlaceholderText("e.g. Code reviewer")
        self.prompt_edit = QPlainTextEdit(prompt, self)
        self.prompt_edit.setObjectName("personaPrompt")
        self.prompt_edit.setAccessibleName("Persona system prompt")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setMinimumSize(420, 160)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("&Name", self.name_edit)
        form.addRow("&System prompt", self.prompt_edit)
        form.addRow(self.buttons)
        self.name_edit.textChanged.connect(self._refresh)
        self._refresh()

    def _refresh(self) -> None:
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        if save is not None:
            save.setEnabled(bool(self.name_edit.text().strip()))
            save.setAccessibleName("Save persona")

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def prompt(self) -> str:
        return self.prompt_edit.toPlainText()


class PersonaManager(QWidget):
    """List of personas with Use / Save prompt as persona / Edit / Delete."""

    personasChanged = Signal(list)  # list[Persona]
    useRequested = Signal(object)  # Persona: apply its prompt to the thread
    dialogShown = Signal(object)  # the PersonaDialog just opened

    def __init__(
        self,
        repo: PersonaRepository,
        spawn: Spawn,
        current_prompt: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("personaManager")
        self.setAccessibleName("Personas")
        self.repo = repo
        self._spawn = spawn
        self._current_prompt = current_prompt
        self._personas: list[Persona] = []
        # The dialog open right now (tests fill it in and accept it).
        self.dialog: PersonaDialog | None = None
        # Asks before deleting: (parent, title, text, informative=...) -> bool.
        self.confirm: Callable[..., Coroutine[Any, Any, bool]] = confirm

        self.list = QListWidget(self)
        self.list.setObjectName("personaList")
        self.list.setAccessibleName("Saved personas")
        self.list.setAccessibleDescription("Enter uses the persona's prompt for this thread; Delete deletes it.")
        self.list.setMaximumHeight(96)
        self.empty_label = QLabel("No personas yet. Write a system prompt above and save it as a persona.", self)
        self.empty_label.setProperty("role", "muted")
        self.empty_label.setWordWrap(True)

        self.save_button = QPushButton("Save system prompt as persona…", self)
        self.save_button.setObjectName("savePersonaButton")
        self.save_button.setAccessibleName("Save system prompt as persona")
        self.save_button.setAutoDefault(False)
        self.use_button = QPushButton("Use", self)
        self.use_button.setAccessibleName("Use the selected persona's prompt in this thread")
        self.use_button.setAutoDefault(False)
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.setAccessibleName("Edit the selected persona")
        self.edit_button.setAutoDefault(False)
        self.delete_button = QPushButton("Delete…", self)
        self.delete_button.setAccessibleName("Delete the selected persona")
        self.delete_button.setAutoDefault(False)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.use_button)
        row.addWidget(self.edit_button)
        row.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.save_button)
        layout.addWidget(self.list)
        layout.addWidget(self.empty_label)
        layout.addLayout(row)

        self.save_button.clicked.connect(lambda: self._spawn(self.save_current_prompt()))
        self.use_button.clicked.connect(self._use_selected)
        self.edit_button.clicked.connect(lambda: self._with_selected(self.edit_persona))
        self.delete_button.clicked.connect(lambda: self._with_selected(self.delete_persona))
        self.list.itemActivated.connect(lambda _item: self._use_selected())
        self.list.currentRowChanged.connect(lambda _row: self._refresh_buttons())
        self._refresh_buttons()

    # --- data ------------------------------------------------------------------------------

    @property
    def personas(self) -> list[Persona]:
        return list(self._personas)

    async def reload(self) -> list[Persona]:
        personas = await self.repo.list_all()
        self.set_personas(personas)
        return personas

    def set_personas(self, personas: list[Persona]) -> None:
        current = self.selected()
        self._personas = list(personas)
        self.list.clear()
        for persona in personas:
            item = QListWidgetItem(persona.name, self.list)
            item.setData(PERSONA_ID_ROLE, persona.id)
            item.setToolTip(persona.system_prompt[:400] or "(empty prompt)")
            if current is not None and persona.id == current.id:
                self.list.setCurrentItem(item)
        self.list.setVisible(bool(personas))
        self.empty_label.setVisible(not personas)
        self._refresh_buttons()
        self.personasChanged.emit(list(personas))

    def selected(self) -> Persona | None:
        item = self.list.currentItem()
        if item is None:
            return None
        pid = int(item.data(PERSONA_ID_ROLE))
        return next((p for p in self._personas if p.id == pid), None)

    # --- actions ---------------------------------------------------------------------------

    async def save_current_prompt(self) -> Persona | None:
        """Ask for a name and save the thread's system prompt as a new persona."""
        dialog = PersonaDialog(self, title="Save as persona", prompt=self._current_prompt())
        if not await self._run(dialog):
            return None
        persona = await self.repo.create(dialog.name, dialog.prompt)
        await self.reload()
        self._select(persona.id)
        return persona

    async def edit_persona(self, persona: Persona) -> bool:
        dialog = PersonaDialog(self, title="Edit persona", name=persona.name, prompt=persona.system_prompt)
        if not await self._run(dialog):
            return False
        await self.repo.update(persona.id, name=dialog.name, system_prompt=dialog.prompt)
        await self.reload()
        return True

    async def delete_persona(self, persona: Persona, *, confirmed: bool = False) -> bool:
        if not confirmed:
            confirmed = await self.confirm(
                self,
                "Delete persona",
                f"Delete the persona “{persona.name}”?",
                informative="Threads already started with it keep their system prompt.",
            )
        if not confirmed:
            return False
        await self.repo.delete(persona.id)
        await self.reload()
        return True

    async def _run(self, dialog: PersonaDialog) -> bool:
        self.dialog = dialog
        try:
            finished = signal_future(dialog.finished)
            dialog.open()
            self.dialogShown.emit(dialog)
            return await finished == QDialog.DialogCode.Accepted and bool(dialog.name)
        finally:
            self.dialog = None
            dialog.deleteLater()

    def _with_selected(self, action: Callable[[Persona], Coroutine[Any, Any, Any]]) -> None:
        persona = self.selected()
        if persona is not None:
            self._spawn(action(persona))

    def _use_selected(self) -> None:
        persona = self.selected()
        if persona is not None:
            self.useRequested.emit(persona)

    def _select(self, persona_id: int) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item is not None and int(item.data(PERSONA_ID_ROLE)) == persona_id:
                self.list.setCurrentItem(item)

    def _refresh_buttons(self) -> None:
        has = self.selected() is not None
        for button in (self.use_button, self.edit_button, self.delete_button):
            button.setEnabled(has)

"""Folder set-up: the list of sources with their counts, add / settings / remove / index, the
index model (profile, embedding model, dimension), and the dialog for a folder's excludes and
maximum file size. Widgets only: the SourcesController fills and acts on them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.services.notes import DEFAULT_EXCLUDES, DEFAULT_MAX_FILE_SIZE, IndexSpec, NoteSource

__all__ = ["FolderSettingsDialog", "SourcesPanel", "source_summary"]

MB = 1024 * 1024


def source_summary(source: NoteSource) -> str:
    """What a row shows under the folder's name, e.g. "412 files · 3,120 chunks"."""
    parts = [f"{source.files:,} file{'s' if source.files != 1 else ''}"]
    parts.append(f"{source.chunks:,} chunks")
    if source.pending_chunks:
        parts.append(f"{source.pending_chunks:,} not embedded yet")
    if source.skipped:
        parts.append(f"{source.skipped:,} skipped")
    if source.last_indexed_at is None and source.kind == "folder":
        parts.append("never indexed")
    if source.watching:
        parts.append("watched")
    return " · ".join(parts)


class FolderSettingsDialog(QDialog):
    """Excludes (gitignore style, one per line) and the maximum file size of one folder."""

    def __init__(
        self,
        path: str,
        excludes: Sequence[str] = (),
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("folderSettings")
        self.setWindowTitle("Folder settings")
        self.setAccessibleName("Folder settings")
        self.setMinimumWidth(460)
        form = QFormLayout(self)
        where = QLabel(path)
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Folder:", where)
        self.excludes_edit = QPlainTextEdit("\n".join(excludes))
        self.excludes_edit.setAccessibleName("Exclude patterns")
        self.excludes_edit.setPlaceholderText("drafts/\n*.log\nprivate/**")
        self.excludes_edit.setFixedHeight(110)
        form.addRow("Exclude:", self.excludes_edit)
        always = QLabel("Always left out: " + "  ".join(DEFAULT_EXCLUDES))
        always.setWordWrap(True)
        always.setProperty("role", "muted")
        form.addRow("", always)
        self.max_size_spin = QSpinBox()
        self.max_size_spin.setAccessibleName("Maximum file size in MB")
        self.max_size_spin.setRange(1, 1024)
        self.max_size_spin.setSuffix(" MB")
        self.max_size_spin.setValue(max(1, round(max_file_size / MB)))
        form.addRow("Skip files over:", self.max_size_spin)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        form.addRow(buttons)

    @property
    def excludes(self) -> list[str]:
        return [
            line.strip()
            for line in self.excludes_edit.toPlainText().splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]

    @property
    def max_file_size(self) -> int:
        return self.max_size_spin.value() * MB


class SourcesPanel(QWidget):
    """Sources list and the index model row."""

    addFolderClicked = Signal()
    settingsClicked = Signal(int)  # source id
    removeClicked = Signal(int)
    indexClicked = Signal()  # index every source
    watchToggled = Signal(int, bool)
    applyModelClicked = Signal(str, str, int)  # profile id, model, dim (0: the model's own)
    profileChanged = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Folders")
        heading.setProperty("role", "subheading")
        column.addWidget(heading)
        self.list = QListWidget()
        self.list.setAccessibleName("Note folders")
        self.list.setMinimumHeight(90)
        column.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.setAccessibleName("Add a folder")
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setToolTip("Excludes and maximum file size of the selected folder")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Forget the folder and its index (the files stay on disk)")
        self.index_button = QPushButton("Index now")
        self.index_button.setToolTip("Index new and changed files of every folder")
        for b in (self.add_button, self.settings_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        column.addLayout(row)
        # Two short rows rather than one wide one: the column stays narrow without clipping.
        row2 = QHBoxLayout()
        self.watch_button = QPushButton("Watch for changes")
        self.watch_button.setCheckable(True)
        self.watch_button.setToolTip(
            "Re-index the selected folder in the background when files change"
        )
        row2.addWidget(self.index_button)
        row2.addWidget(self.watch_button)
        row2.addStretch(1)
        column.addLayout(row2)

        model_heading = QLabel("Index model")
        model_heading.setProperty("role", "subheading")
        column.addWidget(model_heading)
        form = QFormLayout()
        self.profile_combo = QComboBox()
        self.profile_combo.setAccessibleName("Embedding provider")
        form.addRow("Provider:", self.profile_combo)
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setAccessibleName("Embedding model")
        form.addRow("Model:", self.model_combo)
        self.dim_spin = QSpinBox()
        self.dim_spin.setRange(0, 8192)
        self.dim_spin.setSpecialValueText("model's own")
        self.dim_spin.setAccessibleName("Vector dimension")
        self.dim_spin.setToolTip(
            "Ask for shorter vectors where the model supports it (0: its own size)"
        )
        form.addRow("Dimension:", self.dim_spin)
        column.addLayout(form)
        self.model_label = QLabel("No index model chosen yet.")
        self.model_label.setWordWrap(True)
        self.model_label.setProperty("role", "muted")
        self.model_label.setAccessibleName("Active index")
        column.addWidget(self.model_label)
        model_row = QHBoxLayout()
        model_row.addStretch(1)
        self.apply_model_button = QPushButton("Use this model")
        self.apply_model_button.setAccessibleName("Use this embedding model")
        model_row.addWidget(self.apply_model_button)
        column.addLayout(model_row)

        self.add_button.clicked.connect(self.addFolderClicked)
        self.settings_button.clicked.connect(self._emit_selected(self.settingsClicked))
        self.remove_button.clicked.connect(self._emit_selected(self.removeClicked))
        self.index_button.clicked.connect(self.indexClicked)
        self.watch_button.clicked.connect(self._on_watch)
        self.apply_model_button.clicked.connect(
            lambda: self.applyModelClicked.emit(
                str(self.profile_combo.currentData() or ""),
                self.model_combo.currentText().strip(),
                self.dim_spin.value(),
            )
        )
        self.profile_combo.currentIndexChanged.connect(
            lambda _i: self.profileChanged.emit(str(self.profile_combo.currentData() or ""))
        )
        self.list.currentRowChanged.connect(lambda _r: self._sync_buttons())
        self.sources: list[NoteSource] = []
        self._sync_buttons()

    def _emit_selected(self, signal: Any) -> Any:
        def emit() -> None:
            source = self.selected()
            if source is not None:
                signal.emit(source.id)

        return emit

    def _on_watch(self, checked: bool) -> None:
        source = self.selected()
        if source is not None:
            self.watchToggled.emit(source.id, checked)

    def selected(self) -> NoteSource | None:
        item = self.list.currentItem()
        if item is None:
            return None
        sid = item.data(Qt.ItemDataRole.UserRole)
        return next((s for s in self.sources if s.id == sid), None)

    def select_source(self, source_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == source_id:
                self.list.setCurrentRow(i)
                return

    def set_sources(self, sources: Sequence[NoteSource]) -> None:
        current = self.selected()
        self.sources = list(sources)
        self.list.clear()
        for s in self.sources:
            where = "Notes written in Switchboard" if s.kind == "app" else s.path
            item = QListWidgetItem(f"{s.name}\n{source_summary(s)}")
            item.setToolTip(where)
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{s.name}: {source_summary(s)}")
            self.list.addItem(item)
        if current is not None:
            self.select_source(current.id)
        self._sync_buttons()

    def folders(self) -> list[NoteSource]:
        return [s for s in self.sources if s.kind == "folder"]

    def _sync_buttons(self) -> None:
        source = self.selected()
        is_folder = source is not None and source.kind == "folder"
        self.settings_button.setEnabled(is_folder)
        self.remove_button.setEnabled(is_folder)
        self.watch_button.setEnabled(is_folder)
        self.watch_button.setChecked(bool(source is not None and source.watching))
        self.index_button.setEnabled(bool(self.sources))

    def set_profiles(self, profiles: Sequence[tuple[str, str]], current: str = "") -> None:
        """(profile id, display name) pairs."""
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        for pid, name in profiles:
            self.profile_combo.addItem(name, pid)
        i = self.profile_combo.findData(current)
        self.profile_combo.setCurrentIndex(max(i, 0))
        self.profile_combo.blockSignals(False)

    def set_models(self, models: Sequence[str], current: str = "") -> None:
        self.model_combo.clear()
        self.model_combo.addItems(list(models))
        if current:
            self.model_combo.setCurrentText(current)

    def show_index(self, spec: IndexSpec | None, provider: str = "") -> None:
        if spec is None:
            self.model_label.setText(
                "No index model chosen yet: pick the provider and embedding model that will "
                "receive your notes' text."
            )
            return
        dim = f", {spec.dim} dimensions" if spec.dim else ""
        when = time.strftime("%Y-%m-%d", time.localtime(spec.created_at)) if spec.created_at else ""
        self.model_label.setText(
            f"Active index: {spec.model} on {provider or spec.profile_id}{dim}\n"
            f"{spec.vectors:,} vectors" + (f" · since {when}" if when else "")
        )

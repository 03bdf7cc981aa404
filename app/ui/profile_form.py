"""The editor for one provider profile (the right-hand side of the settings dialog).

Every `ProviderProfile` field has a control here. The form never shows a stored key: when one is
stored it says so and offers Replace/Remove; a typed key is reported with `keyEdited` and kept by
the dialog until Save. The form knows nothing about saving, the keychain or the network: the
dialog feeds it state (`set_key_state`, `set_validation`, `set_test_*`) and listens to its signals.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.providers import (
    CAPABILITIES,
    PRESETS,
    Dialect,
    KeySource,
    ProviderProfile,
    VideoDialect,
)
from app.ui.labels import TEST_HINT

KEY_SOURCE_LABELS: list[tuple[KeySource, str]] = [
    (KeySource.KEYCHAIN, "System keychain"),
    (KeySource.ENV, "Environment variable"),
    (KeySource.SESSION, "Session only (forgotten on quit)"),
    (KeySource.NONE, "No key (local servers)"),
]
DIALECT_LABELS = [(Dialect.OPENAI, "OpenAI-compatible"), (Dialect.GEMINI, "Google Gemini")]
VIDEO_LABELS = [
    (VideoDialect.NONE, "No video"),
    (VideoDialect.TASKS, "Task API (/video/generations)"),
    (VideoDialect.OPENAI, "OpenAI-style (/videos)"),
    (VideoDialect.VEO, "Gemini Veo (predictLongRunning)"),
]
SIZE_LABELS = [("x", "1024x1024"), ("*", "1024*1024")]
RESPONSE_FORMAT_LABELS = [("", "Server default"), ("url", "URL"), ("b64_json", "Base64 JSON")]
# Lines reserved at the top of the form for validation problems (more are summarised).
VALIDATION_LINES = 2

CAPABILITY_LABELS = {
    "chat": "Chat",
    "completion": "Text completion",
    "image": "Images",
    "embedding": "Embeddings",
    "video": "Video",
}


class WrapLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its current width.

    Inside a scroll area, Qt does not always give wrapped labels their height-for-width, so a
    long sentence (a test result, a validation message) would be cut off.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()

    def _fit(self) -> None:
        width = self.width() if self.width() > 50 else 600
        needed = self.heightForWidth(width)
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


class ProblemsLabel(QLabel):
    """Validation problems in a fixed-height area: one line each (elided to the width, the whole
    sentence in the tooltip), at most `VALIDATION_LINES` of them, so it never changes height."""

    def __init__(self) -> None:
        super().__init__("")
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * VALIDATION_LINES + 4)
        self.setMinimumWidth(0)
        self._problems: list[str] = []

    def set_problems(self, problems: list[str]) -> None:
        self._problems = list(problems)
        self.setToolTip("\n".join(problems))
        self._render()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._render()

    def _render(self) -> None:
        problems = self._problems
        shown = problems[:VALIDATION_LINES]
        if len(problems) > VALIDATION_LINES:
            shown = problems[: VALIDATION_LINES - 1]
            shown.append(f"…and {len(problems) - len(shown)} more (hover to read them all).")
        metrics = self.fontMetrics()
        width = self.width()
        lines = [f"• {p}" for p in shown]
        if width > 50:  # before the first layout the width is meaningless: do not cut
            lines = [metrics.elidedText(t, Qt.TextElideMode.ElideRight, width) for t in lines]
        super().setText("\n".join(lines))

    def full_text(self) -> str:
        """Every problem, one a line (what the tooltip shows)."""
        return "\n".join(f"• {p}" for p in self._problems)


def _combo(name: str, items: list[tuple[object, str]]) -> QComboBox:
    box = QComboBox()
    box.setAccessibleName(name)
    for value, label in items:
        box.addItem(label, str(value))
    return box


def _set_placeholder(box: QComboBox, text: str) -> None:
    edit = box.lineEdit()
    if edit is not None:
        edit.setPlaceholderText(text)


def _select(box: QComboBox, value: object) -> None:
    index = box.findData(str(value))
    box.setCurrentIndex(max(index, 0))


class KeyValueTable(QWidget):
    """A two-column table with Add row / Remove row buttons (headers, context windows)."""

    changed = Signal()

    def __init__(self, name: str, key_label: str, value_label: str) -> None:
        super().__init__()
        self.name = name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 2)
        self.table.setAccessibleName(name)
        self.table.setHorizontalHeaderLabels([key_label, value_label])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(84)
        self.table.setMaximumHeight(104)
        self.table.setTabKeyNavigation(False)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add row")
        self.add_button.setAccessibleName(f"Add a row to {name}")
        self.remove_button = QPushButton("Remove row")
        self.remove_button.setAccessibleName(f"Remove the selected row from {name}")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())

    def set_items(self, items: dict[str, object]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for key, value in items.items():
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(str(key)))
            self.table.setItem(row, 1, QTableWidgetItem(str(value)))
        self.table.blockSignals(False)

    def items(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for row in range(self.table.rowCount()):
            key_item, value_item = self.table.item(row, 0), self.table.item(row, 1)
            key = key_item.text().strip() if key_item else ""
            value = value_item.text().strip() if value_item else ""
            if key or value:
                out.append((key, value))
        return out

    def add_row(self, key: str = "", value: str = "") -> None:
        self.table.blockSignals(True)
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(key))
        self.table.setItem(row, 1, QTableWidgetItem(value))
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, 0)
        first = self.table.item(row, 0)
        if not key and first is not None:
            self.table.editItem(first)
        self.changed.emit()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed.emit()


class ProfileForm(QWidget):
    """All fields of one profile, plus key handling and the connection test controls."""

    changed = Signal()
    keyEdited = Signal(str)
    removeKeyRequested = Signal()
    replaceKeyRequested = Signal()
    testRequested = Signal()
    cancelTestRequested = Signal()
    browseCaRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Profile settings")
        self._loading = False
        self._profile: ProviderProfile | None = None
        self._key_stored = False
        self._replacing = False
        self._removing = False
        self._keychain_available = True
        self._problems: list[str] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 0, 4, 4)
        outer.setSpacing(10)

        # The problems area always takes the same height (VALIDATION_LINES lines), shown or
        # not: lines appearing and vanishing as the user types must not move the fields under
        # the cursor (a click meant for the key field would land in another one).
        self.validation_label = ProblemsLabel()
        self.validation_label.setProperty("role", "error")
        self.validation_label.setAccessibleName("Problems with this profile")
        outer.addWidget(self.validation_label)

        self.readonly_label = WrapLabel(
            "This is the built-in offline demo. It exists for this session only and cannot be "
            "edited; you can still make it the active profile."
        )
        self.readonly_label.setWordWrap(True)
        self.readonly_label.setProperty("role", "muted")
        self.readonly_label.setAccessibleName("Demo profile note")
        self.readonly_label.hide()
        outer.addWidget(self.readonly_label)

        # --- connection ---
        conn = QGroupBox("Connection")
        conn.setAccessibleName("Connection")
        cf = QFormLayout(conn)
        cf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Profile name")
        cf.addRow("&Name:", self.name_edit)
        self.dialect_combo = _combo("API dialect", DIALECT_LABELS)  # type: ignore[arg-type]
        cf.addRow("&Dialect:", self.dialect_combo)
        self.base_url_edit = QLineEdit()
        self.base_url_edit.setAccessibleName("Base URL")
        self.base_url_edit.setPlaceholderText("https://api.example.com/v1")
        cf.addRow("Base &URL:", self.base_url_edit)
        self.trailing_slash_check = QCheckBox(
            "Add a trailing slash to endpoint paths (…/chat/completions/)"
        )
        self.trailing_slash_check.setAccessibleName("Trailing slash on endpoint paths")
        cf.addRow("", self.trailing_slash_check)
        self.stream_check = QCheckBox("Stream replies (turn off for endpoints without streaming)")
        self.stream_check.setAccessibleName("Stream replies")
        self.stream_check.setToolTip(
            "On: text appears as it is written. Off: each reply is fetched in one piece, for "
            "endpoints that document only a non-streamed path."
        )
        self.stream_check.setChecked(True)
        cf.addRow("", self.stream_check)
        self.preset_note = WrapLabel("")
        self.preset_note.setWordWrap(True)
        self.preset_note.setProperty("role", "muted")
        self.preset_note.setAccessibleName("Preset note")
        cf.addRow("", self.preset_note)
        outer.addWidget(conn)
        self._conn_form = cf

        # --- key ---
        keybox = QGroupBox("API key")
        keybox.setAccessibleName("API key")
        kf = QFormLayout(keybox)
        kf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.key_source_combo = _combo("Where the API key is kept", KEY_SOURCE_LABELS)  # type: ignore[arg-type]
        kf.addRow("&Key source:", self.key_source_combo)
        self.env_var_edit = QLineEdit()
        self.env_var_edit.setAccessibleName("Environment variable name")
        self.env_var_edit.setPlaceholderText("OPENAI_API_KEY")
        kf.addRow("&Variable:", self.env_var_edit)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setPlaceholderText("Paste the API key")
        key_row = QWidget()
        kr = QHBoxLayout(key_row)
        kr.setContentsMargins(0, 0, 0, 0)
        self.show_key_button = QPushButton("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAutoDefault(False)
        self.show_key_button.setAccessibleName("Show the typed API key")
        self.show_key_button.setToolTip("Show or hide the key you typed (it is never shown once saved)")
        kr.addWidget(self.key_edit, 1)
        kr.addWidget(self.show_key_button)
        self.key_row = key_row
        kf.addRow("API &key:", key_row)
        stored_row = QWidget()
        sr = QHBoxLayout(stored_row)
        sr.setContentsMargins(0, 0, 0, 0)
        self.key_stored_label = QLabel("A key is stored in the keychain.")
        self.key_stored_label.setAccessibleName("Key status")
        self.replace_key_button = QPushButton("Replace…")
        self.replace_key_button.setAccessibleName("Replace the stored key")
        self.remove_key_button = QPushButton("Remove")
        self.remove_key_button.setAccessibleName("Remove the stored key")
        sr.addWidget(self.key_stored_label, 1)
        sr.addWidget(self.replace_key_button)
        sr.addWidget(self.remove_key_button)
        self.stored_row = stored_row
        kf.addRow("Stored key:", stored_row)
        self.key_hint = WrapLabel("")
        self.key_hint.setWordWrap(True)
        self.key_hint.setProperty("role", "muted")
        self.key_hint.setAccessibleName("About the key source")
        kf.addRow("", self.key_hint)
        outer.addWidget(keybox)
        self._key_form = kf

        # --- test ---
        testbox = QGroupBox("Test")
        testbox.setAccessibleName("Connection test")
        tl = QVBoxLayout(testbox)
        trow = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.setAccessibleName("Test connection")
        self.cancel_test_button = QPushButton("Cancel")
        self.cancel_test_button.setAccessibleName("Cancel the connection test")
        self.cancel_test_button.hide()
        self.test_progress = QProgressBar()
        self.test_progress.setRange(0, 0)
        self.test_progress.setMaximumWidth(160)
        self.test_progress.setTextVisible(False)
        self.test_progress.setAccessibleName("Testing the connection")
        self.test_progress.hide()
        trow.addWidget(self.test_button)
        trow.addWidget(self.test_progress)
        trow.addWidget(self.cancel_test_button)
        trow.addStretch(1)
        tl.addLayout(trow)
        self.test_result = WrapLabel(TEST_HINT)
        self.test_result.setWordWrap(True)
        self.test_result.setProperty("role", "muted")
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result.setAccessibleName("Connection test result")
        tl.addWidget(self.test_result)
        outer.addWidget(testbox)

        # --- headers ---
        headbox = QGroupBox("Extra headers")
        headbox.setAccessibleName("Extra headers")
        hl = QVBoxLayout(headbox)
        self.headers_table = KeyValueTable("Extra headers", "Header", "Value")
        hl.addWidget(self.headers_table)
        head_note = QLabel("Sent with every request, e.g. User-Agent. Never put the API key here.")
        head_note.setWordWrap(True)
        head_note.setProperty("role", "muted")
        head_note.setAccessibleName("About extra headers")
        hl.addWidget(head_note)
        outer.addWidget(headbox)

        # --- models ---
        modelbox = QGroupBox("Models")
        modelbox.setAccessibleName("Models")
        mf = QFormLayout(modelbox)
        mf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.model_combos: dict[str, QComboBox] = {}
        for cap in CAPABILITIES:
            box = QComboBox()
            box.setEditable(True)
            box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            label = CAPABILITY_LABELS.get(cap, cap)
            box.setAccessibleName(f"Default model for {label.lower()}")
            _set_placeholder(box, "Run “Test connection” to list models")
            edit = box.lineEdit()
            if edit is not None:
                edit.setAccessibleName(f"Default model for {label.lower()}")
            self.model_combos[cap] = box
            mf.addRow(f"{label}:", box)
        self.video_combo = _combo("Video API dialect", VIDEO_LABELS)  # type: ignore[arg-type]
        mf.addRow("Video API:", self.video_combo)
        self.size_combo = _combo("Image size style", SIZE_LABELS)  # type: ignore[arg-type]
        mf.addRow("Image sizes:", self.size_combo)
        self.response_format_combo = _combo("Image response format", RESPONSE_FORMAT_LABELS)  # type: ignore[arg-type]
        mf.addRow("Image format:", self.response_format_combo)
        self.top_k_check = QCheckBox("The server accepts top_k")
        self.top_k_check.setAccessibleName("Server accepts top_k")
        mf.addRow("", self.top_k_check)
        self.context_table = KeyValueTable("Context windows", "Model", "Tokens")
        mf.addRow("Context windows:", self.context_table)
        outer.addWidget(modelbox)

        # --- network ---
        netbox = QGroupBox("Network")
        netbox.setAccessibleName("Network")
        nf = QFormLayout(netbox)
        nf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.connect_timeout_spin = QDoubleSpinBox()
        self.connect_timeout_spin.setRange(0.0, 3600.0)
        self.connect_timeout_spin.setDecimals(1)
        self.connect_timeout_spin.setSuffix(" s")
        self.connect_timeout_spin.setAccessibleName("Connect timeout in seconds")
        nf.addRow("Connect timeout:", self.connect_timeout_spin)
        self.read_timeout_spin = QDoubleSpinBox()
        self.read_timeout_spin.setRange(0.0, 86400.0)
        self.read_timeout_spin.setDecimals(0)
        self.read_timeout_spin.setSuffix(" s")
        self.read_timeout_spin.setAccessibleName("Read timeout in seconds")
        self.read_timeout_spin.setToolTip(
            "Slow local models can take minutes before the first token."
        )
        nf.addRow("Read timeout:", self.read_timeout_spin)
        self.retries_spin = QSpinBox()
        self.retries_spin.setRange(0, 10)
        self.retries_spin.setAccessibleName("Maximum retries")
        nf.addRow("Max retries:", self.retries_spin)
        self.proxy_edit = QLineEdit()
        self.proxy_edit.setAccessibleName("Proxy URL")
        self.proxy_edit.setPlaceholderText(
            "System settings (or http://host:port, socks5://host:port)"
        )
        nf.addRow("Proxy:", self.proxy_edit)
        ca_row = QWidget()
        cr = QHBoxLayout(ca_row)
        cr.setContentsMargins(0, 0, 0, 0)
        self.ca_edit = QLineEdit()
        self.ca_edit.setAccessibleName("Extra CA certificate file")
        self.ca_edit.setPlaceholderText("Only for servers with a private certificate authority")
        self.ca_browse_button = QPushButton("Browse…")
        self.ca_browse_button.setAccessibleName("Choose a CA certificate file")
        cr.addWidget(self.ca_edit, 1)
        cr.addWidget(self.ca_browse_button)
        nf.addRow("CA file:", ca_row)
        outer.addWidget(netbox)

        outer.addStretch(1)

        self._editable: list[QWidget] = [conn, keybox, headbox, modelbox, netbox]

        # --- signals ---
        for edit in (
            self.name_edit,
            self.base_url_edit,
            self.env_var_edit,
            self.proxy_edit,
            self.ca_edit,
        ):
            edit.textEdited.connect(self._emit_changed)
        for combo in (
            self.dialect_combo,
            self.video_combo,
            self.size_combo,
            self.response_format_combo,
        ):
            combo.currentIndexChanged.connect(self._emit_changed)
        for box in self.model_combos.values():
            box.currentTextChanged.connect(self._emit_changed)
        self.key_source_combo.currentIndexChanged.connect(self._on_key_source_changed)
        self.trailing_slash_check.toggled.connect(self._emit_changed)
        self.stream_check.toggled.connect(self._emit_changed)
        self.show_key_button.toggled.connect(self.set_key_visible)
        self.top_k_check.toggled.connect(self._emit_changed)
        self.headers_table.changed.connect(self._emit_changed)
        self.context_table.changed.connect(self._emit_changed)
        for spin in (self.connect_timeout_spin, self.read_timeout_spin):
            spin.valueChanged.connect(self._emit_changed)
        self.retries_spin.valueChanged.connect(self._emit_changed)
        self.key_edit.textEdited.connect(self._on_key_edited)
        self.replace_key_button.clicked.connect(self._on_replace)
        self.remove_key_button.clicked.connect(self._on_remove)
        self.test_button.clicked.connect(self.testRequested)
        self.cancel_test_button.clicked.connect(self.cancelTestRequested)
        self.ca_browse_button.clicked.connect(self.browseCaRequested)

    # -- loading and reading --

    def load(self, profile: ProviderProfile) -> None:
        """Show `profile` (a copy is kept; edits are read back with `profile()`)."""
        self._loading = True
        try:
            self._profile = profile
            self.name_edit.setText(profile.name)
            _select(self.dialect_combo, profile.dialect)
            self.base_url_edit.setText(profile.base_url)
            self.trailing_slash_check.setChecked(profile.trailing_slash)
            preset = PRESETS.get(profile.preset)
            note = preset.note if preset is not None else ""
            self.preset_note.setText(note)
            self._conn_form.setRowVisible(self.preset_note, bool(note))
            _select(self.key_source_combo, profile.key_source)
            self.env_var_edit.setText(profile.key_env_var)
            self.key_edit.clear()
            self.headers_table.set_items(dict(profile.extra_headers))
            for cap, box in self.model_combos.items():
                box.clear()  # models listed by another profile's test do not apply here
                box.setEditText(profile.model_for(cap))
                _set_placeholder(box, "Run “Test connection” to list models")
            _select(self.video_combo, profile.video_dialect)
            _select(self.size_combo, profile.image_size_style)
            _select(self.response_format_combo, profile.image_response_format)
            self.top_k_check.setChecked(profile.supports_top_k)
            self.context_table.set_items(dict(profile.context_windows))
            self.connect_timeout_spin.setValue(profile.connect_timeout)
            self.read_timeout_spin.setValue(profile.read_timeout)
            self.retries_spin.setValue(profile.max_retries)
            self.proxy_edit.setText(profile.proxy)
            self.ca_edit.setText(profile.ca_file)
            self.readonly_label.setVisible(profile.is_demo)
            for w in self._editable:
                w.setEnabled(not profile.is_demo)
            self.stream_check.setChecked(profile.stream)
            self.set_test_result(TEST_HINT, None)
            self.set_key_visible(False)
            self._replacing = False
            self._removing = False
            self._update_key_rows()
        finally:
            self._loading = False

    def profile(self) -> ProviderProfile:
        """The edited profile (a new object; id, preset and demo flag kept from the loaded one)."""
        base = self._profile or ProviderProfile(name="", base_url="")
        headers = {k: v for k, v in self.headers_table.items()}
        windows: dict[str, int] = {}
        for model, tokens in self.context_table.items():
            try:
                windows[model] = int(tokens.replace(",", "").replace("_", ""))
            except ValueError:
                continue
        models = {cap: box.currentText().strip() for cap, box in self.model_combos.items()}
        # replace(): fields the form has no control for are kept as loaded.
        return dataclasses.replace(
            base,
            name=self.name_edit.text().strip(),
            base_url=self.base_url_edit.text().strip(),
            dialect=Dialect(self.dialect_combo.currentData()),
            key_source=self.key_source(),
            key_env_var=self.env_var_edit.text().strip(),
            extra_headers=headers,
            trailing_slash=self.trailing_slash_check.isChecked(),
            default_models={k: v for k, v in models.items() if v},
            video_dialect=VideoDialect(self.video_combo.currentData()),
            image_size_style=str(self.size_combo.currentData()),
            connect_timeout=float(self.connect_timeout_spin.value()),
            read_timeout=float(self.read_timeout_spin.value()),
            max_retries=int(self.retries_spin.value()),
            proxy=self.proxy_edit.text().strip(),
            ca_file=self.ca_edit.text().strip(),
            context_windows=windows,
            supports_top_k=self.top_k_check.isChecked(),
            image_response_format=str(self.response_format_combo.currentData()),
            stream=self.stream_check.isChecked(),
        )

    def form_problems(self) -> list[str]:
        """Problems only the form can see (entries that do not fit the profile's types)."""
        problems: list[str] = []
        names = [k for k, _ in self.headers_table.items()]
        if any(not k for k in names):
            problems.append("Every extra header needs a name.")
        dupes = {k.lower() for k in names if k and [n.lower() for n in names].count(k.lower()) > 1}
        if dupes:
            problems.append(f"The header “{min(dupes)}” is listed twice.")
        for model, tokens in self.context_table.items():
            try:
                if int(tokens.replace(",", "").replace("_", "")) <= 0:
                    raise ValueError
            except ValueError:
                problems.append(
                    f"The context window of “{model or '(no model)'}” must be a whole number of tokens."
                )
        return problems

    def key_source(self) -> KeySource:
        return KeySource(self.key_source_combo.currentData())

    def set_key_source(self, source: KeySource) -> None:
        _select(self.key_source_combo, source)

    # -- key state --

    def set_key_state(
        self, *, stored: bool, pending: bool, removing: bool, keychain_available: bool
    ) -> None:
        self._key_stored = stored
        self._removing = removing
        self._keychain_available = keychain_available
        if pending:
            self._replacing = True
        self._update_key_rows()

    def _update_key_rows(self) -> None:
        source = self.key_source()
        kf = self._key_form
        kf.setRowVisible(self.env_var_edit, source == KeySource.ENV)
        takes_key = source in (KeySource.KEYCHAIN, KeySource.SESSION)
        show_stored = takes_key and self._key_stored and not self._replacing and not self._removing
        kf.setRowVisible(self.stored_row, show_stored)
        kf.setRowVisible(self.key_row, takes_key and not show_stored)
        # The field itself too: callers (and screen readers) ask the field, not its row.
        self.key_edit.setHidden(not (takes_key and not show_stored))
        if source == KeySource.SESSION:
            self.key_stored_label.setText("A key is set for this session.")
        else:
            self.key_stored_label.setText("A key is stored in the keychain.")
        hint = {
            KeySource.KEYCHAIN: "The key is kept in your system keychain and never written to a file.",
            KeySource.ENV: "The key is read from this environment variable for each request; Switchboard does not store it.",
            KeySource.SESSION: "The key is kept in memory only and forgotten when Switchboard quits.",
            KeySource.NONE: "No key is sent. Right for local servers such as Ollama or LM Studio.",
        }[source]
        if source == KeySource.KEYCHAIN and not self._keychain_available:
            hint = "No system keychain is available here, so a key cannot be saved. Choose “Session only” or an environment variable."
        if takes_key and self._removing:
            hint = "The stored key will be removed when you save. " + hint
        elif takes_key and self._replacing and self._key_stored:
            hint = "The new key replaces the stored one when you save. " + hint
        self.key_hint.setText(hint)

    def _on_key_source_changed(self) -> None:
        self._update_key_rows()
        self._emit_changed()

    def _on_key_edited(self, text: str) -> None:
        if not self._loading:
            self.keyEdited.emit(text)

    def _on_replace(self) -> None:
        self._replacing = True
        self._update_key_rows()
        self.key_edit.setFocus()
        self.replaceKeyRequested.emit()

    def _on_remove(self) -> None:
        self._removing = True
        self._update_key_rows()
        self.removeKeyRequested.emit()

    # -- validation and test --

    def set_validation(self, problems: list[str]) -> None:
        """Show the problems in the reserved area (the layout never moves; see __init__)."""
        self._problems = list(problems)
        self.validation_label.set_problems(problems)

    def problems_shown(self) -> list[str]:
        """The problems last given to `set_validation` (all of them, not only those shown)."""
        return list(self._problems)

    def set_key_visible(self, visible: bool) -> None:
        """Show the typed key in clear (the Show toggle) or masked."""
        mode = QLineEdit.EchoMode.Normal if visible else QLineEdit.EchoMode.Password
        self.key_edit.setEchoMode(mode)
        self.show_key_button.blockSignals(True)
        self.show_key_button.setChecked(visible)
        self.show_key_button.blockSignals(False)
        self.show_key_button.setText("Hide" if visible else "Show")
        self.show_key_button.setAccessibleName(
            "Hide the typed API key" if visible else "Show the typed API key"
        )

    def set_models(self, model_ids: list[str]) -> None:
        """Fill every default-model combo with the models of the last test (keeps the text)."""
        for box in self.model_combos.values():
            text = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(model_ids)
            box.setEditText(text)
            _set_placeholder(box, f"Pick one of {len(model_ids)} models or type a name")
            box.blockSignals(False)

    def set_test_busy(self, busy: bool) -> None:
        """The "testing…" state: button disabled, a spinner, Cancel offered."""
        self.test_button.setEnabled(not busy)
        self.test_button.setText("Testing…" if busy else "Test connection")
        self.test_progress.setVisible(busy)
        self.cancel_test_button.setVisible(busy)
        if busy:
            self.set_test_result("Testing the connection…", None)

    @property
    def test_busy(self) -> bool:
        return not self.test_button.isEnabled()

    def set_test_result(self, text: str, ok: bool | None, *, at: str = "") -> None:
        """Show a test outcome; `at` (e.g. "14:02") prefixes it as "Last tested 14:02: …"."""
        if at:
            text = f"Last tested {at}: {text}"
        self.test_result.setText(text)
        role = "muted" if ok is None else ("ok" if ok else "error")
        self.test_result.setProperty("role", role)
        self.test_result.style().unpolish(self.test_result)
        self.test_result.style().polish(self.test_result)

    def _emit_changed(self, *_args: object) -> None:
        if not self._loading:
            self.changed.emit()

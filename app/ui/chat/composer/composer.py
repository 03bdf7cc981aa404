"""The message composer: a multi-line editor, attachment chips, Send/Stop/Retry and the reason
sending is blocked.

Keys: by default Enter sends and Shift+Enter inserts a new line; with "Ctrl+Enter sends"
(`set_ctrl_enter_sends(True)`) Enter inserts a line and Ctrl+Enter sends. Ctrl+Enter always
sends. When sending is impossible (no profile, no model) the Send button is disabled and a small
label plus the tooltip say why. When the last reply failed, a Retry button appears beside Send.

Attachments: the Attach button (Ctrl+Shift+U) asks for files, files dropped on the composer or
pasted as file URLs are offered, and a pasted image is offered as a `QImage`. The composer only
*reports* these (`attachRequested`, `filesOffered`, `imageOffered`); whoever owns loading (the
chat tab's settings controller, which reads files off the GUI thread) calls `add_attachment` or
`show_attachment_error`. Chips above the editor show each attachment with a remove button.

Big text: a paste longer than `LARGE_PASTE_CHARS` (or `set_text` of such a text, an edit of a big
message) is not put in the editor but kept as a "Pasted text" chip (`attachments.attachment_from_paste`),
sent as it is after the typed text: the editor stays small, so typing, `text` and the Send
button's checks never copy megabytes. A message over the size limit (`set_message_limit`, the
`chat/max_message_mb` setting read by `message_limit`, default `DEFAULT_MESSAGE_MB`) cannot be
sent: Send is disabled and the composer says why (`size_refusal`), before anything is stored.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import style
from app.ui.chat.composer.attachments import (
    LARGE_PASTE_CHARS,
    Attachment,
    attachment_from_paste,
    human_size,
)

__all__ = [
    "DEFAULT_MESSAGE_MB",
    "MESSAGE_LIMIT_SETTING",
    "AttachmentChip",
    "Composer",
    "ComposerEdit",
    "local_files",
    "message_limit",
    "size_refusal",
]

MESSAGE_LIMIT_SETTING = "chat/max_message_mb"  # in ui.ini (QSettings)
DEFAULT_MESSAGE_MB = 16.0  # a 10 MB paste is sent; OpenAI-compatible servers take ~20 MB+


def message_limit(settings: Any) -> int:
    """The largest message, in bytes (UTF-8), from the `chat/max_message_mb` setting."""
    raw = settings.value(MESSAGE_LIMIT_SETTING, DEFAULT_MESSAGE_MB) if settings is not None else None
    try:
        mb = float(raw) if raw is not None else DEFAULT_MESSAGE_MB
    except (TypeError, ValueError):
        mb = DEFAULT_MESSAGE_MB
    if not mb > 0:  # also NaN
        mb = DEFAULT_MESSAGE_MB
    return int(mb * 1024 * 1024)


def utf8_size_over(text: str, limit: int) -> int | None:
    """The UTF-8 size of `text` when it is over `limit` bytes, else None.

    Decided from the length alone when it can be (a character is 1 to 4 bytes); only a text in
    between is encoded, once.
    """
    if len(text) * 4 <= limit:
        return None
    if len(text) > limit:
        return len(text)  # at least this many bytes (the sentence says "over")
    size = _utf8_size(text)
    return size if size > limit else None


def _utf8_size(text: str) -> int:
    # isascii() is O(1) in CPython; only non-ASCII text is encoded to be measured.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def size_refusal(text: str, limit: int, *, size: int | None = None) -> str:
    """The sentence refusing a message of `text` (or of `size` bytes, when given) over `limit`
    bytes ("" when it may be sent)."""
    if size is None:
        size = utf8_size_over(text, limit)
    elif size <= limit:
        size = None
    if size is None:
        return ""
    return (
        f"This message is {human_size(size)}; messages can be at most {human_size(limit)}. "
        "Shorten it or send it in parts (the limit is the “chat/max_message_mb” setting in ui.ini)."
    )

PLACEHOLDER_ENTER = "Message… (Enter sends, Shift+Enter adds a line)"
PLACEHOLDER_CTRL_ENTER = "Message… (Ctrl+Enter sends, Enter adds a line)"


def local_files(mime: QMimeData) -> list[str]:
    """The local file paths among `mime`'s URLs (remote URLs are ignored)."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class ComposerEdit(QPlainTextEdit):
    """A plain-text editor where Enter (or Ctrl+Enter, see `ctrl_enter_sends`) submits.

    Pasted or dropped images and local files are not inserted as text: they are reported with
    `imagePasted` / `filesDropped` so they become attachments.
    """

    submitted = Signal()
    imagePasted = Signal(QImage)
    # A paste longer than LARGE_PASTE_CHARS. `object`, not `str`: a str signal converts the text
    # to a QString and back (two copies of megabytes, ~40 ms each for 10 MB).
    largeTextPasted = Signal(object)
    filesDropped = Signal(list)  # local paths

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl_enter_sends = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if modifiers == Qt.KeyboardModifier.ControlModifier:
                self.submitted.emit()
                return
            if modifiers == Qt.KeyboardModifier.NoModifier:
                if self.ctrl_enter_sends:
                    self.insertPlainText("\n")
                else:
                    self.submitted.emit()
                return
            if modifiers == Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
        super().keyPressEvent(event)

    # --- paste and drop --------------------------------------------------------------------

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.filesDropped.emit(files)
            return
        if source.hasImage():
            image = source.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.imagePasted.emit(image)
                return
        if source.hasText():
            text = source.text()
            if len(text) > LARGE_PASTE_CHARS:
                self.largeTextPasted.emit(text)
                return
        super().insertFromMimeData(source)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.filesDropped.emit(files)
            return
        super().dropEvent(event)


class AttachmentChip(QFrame):
    """One attachment above the editor: a thumbnail or file mark, its name and size, a remove button."""

    removeRequested = Signal(object)  # the Attachment

    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attachment = attachment
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        kind = {"image": "Image", "paste": "Pasted text"}.get(attachment.kind, "Text file")
        how = {
            "image": "",
            "paste": " — sent as it is after your message",
        }.get(attachment.kind, " — inlined into the message as a code block")
        self.setAccessibleName(f"{kind} attachment {attachment.describe()}")
        self.setToolTip(f"{kind}: {attachment.describe()}{how}")
        icon = QLabel(self)
        icon.setObjectName("attachmentPreview")
        if attachment.preview is not None:
            icon.setPixmap(QPixmap.fromImage(attachment.preview))
        else:
            # An SVG, not an emoji: the bundled fonts have no glyph for 📄 (a missing-glyph box).
            icon.setPixmap(style.icon("file").pixmap(style.ICON_SIZE * 1.5))
        icon.setFixedHeight(40)
        label = QLabel(attachment.describe(), self)
        label.setObjectName("attachmentName")
        self.remove_button = QToolButton(self)
        self.remove_button.setObjectName("removeAttachmentButton")
        style.icon_button(
            self.remove_button, "close", f"Remove {attachment.name}", f"Remove attachment {attachment.name}"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 2, 2)
        layout.setSpacing(6)
        layout.addWidget(icon)
        layout.addWidget(label)
        layout.addWidget(self.remove_button)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self.attachment))


class Composer(QWidget):
    """Editor + attachments + Send/Stop. `sendRequested(text)` fires on Enter or Send when allowed."""

    sendRequested = Signal(str)
    stopRequested = Signal()
    retryRequested = Signal()
    attachRequested = Signal()  # the Attach button / Ctrl+Shift+U: pick files
    filesOffered = Signal(list)  # local paths dropped or pasted
    imageOffered = Signal(QImage)  # an image pasted from the clipboard
    attachmentsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAcceptDrops(True)
        self._blocked_reason = ""
        self._streaming = False
        self._retry_available = False
        self._attachments: list[Attachment] = []
        self._limit = int(DEFAULT_MESSAGE_MB * 1024 * 1024)
        self._size_refusal = ""

        self.mode_label = QLabel(self)
        self.mode_label.setObjectName("composerMode")
        self.mode_label.setAccessibleName("Composer mode")
        self.mode_label.setProperty("role", "muted")
        self.mode_label.hide()

        self.edit = ComposerEdit(self)
        self.edit.setObjectName("composerEdit")
        self.edit.setAccessibleName("Message")
        self.edit.setTabChangesFocus(True)
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.edit.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()

        self.chips = QWidget(self)
        self.chips.setObjectName("attachmentChips")
        self.chips.setAccessibleName("Attachments")
        self._chips_layout = QHBoxLayout(self.chips)
        self._chips_layout.setContentsMargins(0, 0, 0, 0)
        self._chips_layout.setSpacing(6)
        self._chips_layout.addStretch(1)
        self.chips.hide()

        self.attach_error_label = QLabel(self)
        self.attach_error_label.setObjectName("attachmentError")
        self.attach_error_label.setAccessibleName("Attachment problem")
        self.attach_error_label.setProperty("role", "error")
        self.attach_error_label.setWordWrap(True)
        self.attach_error_label.hide()

        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("attachButton")
        style.icon_button(
            self.attach_button,
            "attach",
            "Attach images or text files (Ctrl+Shift+U). You can also drop files here or paste an image.",
            "Attach files",
        )
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        style.icon_button(self.send_button, "send", "Send (Enter)", "Send message", ink=style.ON_ACCENT_INK)
        style.primary(self.send_button)
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        style.icon_button(
            self.stop_button, "stop", "Stop the reply (Esc). The text so far is kept.", "Stop the reply"
        )
        style.secondary(self.stop_button)
        self.stop_button.setAutoDefault(False)
        self.stop_button.hide()
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setObjectName("retryButton")
        style.icon_button(
            self.retry_button, "retry", "Ask again for the reply that failed (Ctrl+R)", "Retry the failed reply"
        )
        style.secondary(self.retry_button)
        self.retry_button.setAutoDefault(False)
        self.retry_button.hide()

        self.reason_label = QLabel(self)
        self.reason_label.setObjectName("sendBlockedReason")
        self.reason_label.setAccessibleName("Why sending is unavailable")
        self.reason_label.setProperty("role", "muted")
        self.reason_label.setWordWrap(True)
        self.reason_label.hide()

        buttons = QVBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.attach_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 6, 12, 10)
        outer.setSpacing(4)
        outer.addWidget(self.reason_label)
        outer.addWidget(self.mode_label)
        outer.addWidget(self.chips)
        outer.addWidget(self.attach_error_label)
        outer.addLayout(row)

        self._attach_shortcut = QShortcut(
            QKeySequence("Ctrl+Shift+U"), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        self._attach_shortcut.activated.connect(self.attachRequested)
        self.edit.submitted.connect(self._submit)
        self.edit.imagePasted.connect(self.imageOffered)
        self.edit.largeTextPasted.connect(self.add_large_text)
        self.edit.filesDropped.connect(self.filesOffered)
        self.send_button.clicked.connect(self._submit)
        self.stop_button.clicked.connect(self.stopRequested)
        self.retry_button.clicked.connect(self.retryRequested)
        self.attach_button.clicked.connect(self.attachRequested)
        self.edit.textChanged.connect(self._refresh)
        self.set_ctrl_enter_sends(False)
        self._refresh()

    # --- state -----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        """Put `text` in the editor (a big text becomes a "Pasted text" chip instead)."""
        if len(text) > LARGE_PASTE_CHARS:
            self.edit.clear()
            self.add_large_text(text)
            return
        self.edit.setPlainText(text)

    def add_large_text(self, text: str) -> None:
        """Keep a big pasted text as a chip, sent after the typed text."""
        self.add_attachment(attachment_from_paste(text))

    # --- the size limit --------------------------------------------------------------------

    def set_message_limit(self, limit: int) -> None:
        """The largest message that may be sent, in bytes (see `message_limit`)."""
        self._limit = max(1, int(limit))
        self._refresh()

    @property
    def message_limit(self) -> int:
        return self._limit

    def size_refusal(self, text: str | None = None) -> str:
        """Why `text` (default: what the composer would send) is too big to send, else ""."""
        if text is None:
            # Measured part by part: the parts are never joined here (megabytes per keystroke).
            parts = [self.text, *(a.text for a in self._attachments if a.kind != "image")]
            chars = sum(len(p) for p in parts) + 2 * (len(parts) - 1)
            if chars * 4 <= self._limit:  # the usual case: nothing is measured further
                return ""
            size = chars if chars > self._limit else sum(_utf8_size(p) for p in parts) + 2 * (len(parts) - 1)
            return size_refusal("", self._limit, size=size)
        return size_refusal(text, self._limit)

    def show_size_refusal(self, sentence: str) -> None:
        """Show why the message was not sent (the tab calls this when it refuses one)."""
        self._size_refusal = sentence
        self.attach_error_label.setText(sentence)
        self.attach_error_label.setVisible(bool(sentence))

    def clear(self) -> None:
        """Empty the editor and drop the attachments (after a send)."""
        self.edit.clear()
        self.clear_attachments()
        self.show_attachment_error("")

    def set_blocked_reason(self, reason: str) -> None:
        """Why sending is impossible right now ("" when it is possible)."""
        self._blocked_reason = reason
        self._refresh()

    @property
    def blocked_reason(self) -> str:
        return self._blocked_reason

    def set_streaming(self, streaming: bool) -> None:
        """While a reply streams, Send is replaced by Stop."""
        self._streaming = streaming
        self.send_button.setVisible(not streaming)
        self.stop_button.setVisible(streaming)
        self.retry_button.setVisible(self._retry_available and not streaming)
        self._refresh()

    def set_retry_available(self, available: bool) -> None:
        self._retry_available = available
        self.retry_button.setVisible(available and not self._streaming)

    def set_ctrl_enter_sends(self, on: bool) -> None:
        """Swap the keys: Ctrl+Enter sends and Enter adds a line (True), or the default (False)."""
        self.edit.ctrl_enter_sends = on
        self.edit.setPlaceholderText(PLACEHOLDER_CTRL_ENTER if on else PLACEHOLDER_ENTER)
        keys = "Ctrl+Enter sends, Enter adds a line" if on else "Enter sends, Shift+Enter adds a line"
        self.edit.setAccessibleDescription(f"Type a message. {keys}. Paste or drop images and text files to attach them.")
        self._refresh()

    @property
    def ctrl_enter_sends(self) -> bool:
        return self.edit.ctrl_enter_sends

    def set_mode_label(self, text: str) -> None:
        """A line above the editor saying what the text is (e.g. raw completion text); "" hides it."""
        self.mode_label.setText(text)
        self.mode_label.setVisible(bool(text))
        self.edit.setAccessibleName(text or "Message")

    def can_send(self) -> bool:
        has_content = bool(self._attachments) or bool(self.text.strip())
        return not self._blocked_reason and not self._streaming and has_content and not self._size_refusal

    # --- attachments -----------------------------------------------------------------------

    @property
    def attachments(self) -> list[Attachment]:
        return list(self._attachments)

    def add_attachment(self, attachment: Attachment) -> None:
        self._attachments.append(attachment)
        chip = AttachmentChip(attachment, self.chips)
        chip.removeRequested.connect(self.remove_attachment)
        self._chips_layout.insertWidget(self._chips_layout.count() - 1, chip)
        self.chips.show()
        self._refresh()
        self.attachmentsChanged.emit()

    def remove_attachment(self, attachment: Attachment) -> None:
        """Drop one attachment (its chip's ✕); focus returns to the editor."""
        for i, held in enumerate(self._attachments):
            if held is attachment:
                del self._attachments[i]
                break
        else:
            return
        for chip in self.chips.findChildren(AttachmentChip):
            if chip.attachment is attachment:
                chip.hide()
                chip.deleteLater()
        self.chips.setVisible(bool(self._attachments))
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self._refresh()
        self.attachmentsChanged.emit()

    def clear_attachments(self) -> None:
        if not self._attachments:
            return
        self._attachments.clear()
        for chip in self.chips.findChildren(AttachmentChip):
            chip.hide()
            chip.deleteLater()
        self.chips.hide()
        self._refresh()
        self.attachmentsChanged.emit()

    def chip_widgets(self) -> list[AttachmentChip]:
        return [c for c in self.chips.findChildren(AttachmentChip) if c.attachment in self._attachments]

    def show_attachment_error(self, message: str) -> None:
        """Say why a file was refused ("" hides the message)."""
        self.attach_error_label.setText(message)
        self.attach_error_label.setVisible(bool(message))

    # --- drop on the whole composer (not only the editor) ----------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.filesOffered.emit(files)
        else:
            event.ignore()

    # --- internals -------------------------------------------------------------------------

    def _refresh(self) -> None:
        refusal = self.size_refusal() if self._attachments or self.edit.document().characterCount() * 4 > self._limit else ""
        if refusal != self._size_refusal:
            self.show_size_refusal(refusal)
        if self._blocked_reason:
            tip = self._blocked_reason
        elif self._streaming:
            tip = "A reply is streaming; press Stop (Esc) first."
        elif self._size_refusal:
            tip = self._size_refusal
        elif not self._attachments and not self.text.strip():
            tip = "Type a message to send."
        else:
            tip = "Send (Ctrl+Enter)" if self.edit.ctrl_enter_sends else "Send (Enter)"
        self.send_button.setEnabled(self.can_send())
        self.send_button.setToolTip(tip)
        self.reason_label.setText(self._blocked_reason)
        self.reason_label.setVisible(bool(self._blocked_reason))

    def _fit_height(self, *_args: object) -> None:
        """Grow with the text from 2 to 10 lines, then scroll."""
        line = self.edit.fontMetrics().lineSpacing()
        lines = max(2, min(10, int(self.edit.document().size().height())))
        frame = 2 * self.edit.frameWidth() + int(self.edit.document().documentMargin() * 2) + 2
        self.edit.setFixedHeight(lines * line + frame)

    def _submit(self) -> None:
        if self.can_send():
            self.sendRequested.emit(self.text)
        elif self._size_refusal:
            self.show_size_refusal(self._size_refusal)  # say it again where the user looks

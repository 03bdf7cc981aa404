"""The message list: a QListView of ChatRows painted by `MessageDelegate`, with an empty-state
hint, stick-to-bottom scrolling, keys, the context menu and the clipboard.

The transcript is four modules, one reason to change each:

- `documents`: the cached rendered documents (offline QTextDocuments, streamed and paged bodies);
- `row_text`: what a row says besides its body (footers, status notes, labels, tooltips);
- `message_delegate`: the two-tier sizing, painting and hit-testing of each row (`RowLayout`);
- `message_view` (here): the view, which owns the delegate and turns input into actions.

Hover only repaints the two rows it moves between; nothing here relayouts the list per tick.
Copy (Ctrl+C, the strip's Copy) copies the whole message, even a big one shown in pages.

A long thread is a window of its path (see `message_model`): scrolled to within a screen of its
top, the view asks the model for older rows (`fetch_older`), and Qt itself asks for newer ones
(`fetchMore`) at the bottom of a window opened around an old message. Rows inserted above, and
rows whose estimated height is corrected when they are first painted, never move what is on
screen: the first row fully in view is an *anchor* kept at the same place across the relayout.
"""


from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import (
    QEvent,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QWidget,
)

from app.ui.chat.messages.message_delegate import PAD_X, STRIP_ICONS, MessageDelegate, RowLayout
from app.ui.chat.messages.message_model import ROW_ROLE, ChatRow, MessageModel
from app.ui.chat.messages.message_rules import (
    ACTION_LABELS,
    ACTION_SHORTCUTS,
    actions_for,
)
from app.ui.style import READING_CHARS

__all__ = [
    "EMPTY_HINT",
    "MessageView",
]

EMPTY_HINT = "Ask anything. Enter sends, Shift+Enter adds a line."

COPIED_MS = 1500


def describe_actions(row: ChatRow) -> str:
    """What a screen reader says of a message's action strip (its icon buttons have no text):
    each action's name and key, and where to find them all."""
    names = []
    for action in actions_for(row):
        key = ACTION_SHORTCUTS.get(action)
        names.append(f"{ACTION_LABELS[action]} ({key})" if key else ACTION_LABELS[action])
    if not names:
        return ""
    return "Actions: " + ", ".join(names) + ". The context menu key lists them."


class MessageView(QListView):
    """The scrolling list of messages, with an empty-state hint and stick-to-bottom scrolling.

    `actionRequested(action, message_id)` carries every per-message action the view does not do
    itself (edit, regenerate, continue, delete, prev, next); copying is done here.
    """

    retryRequested = Signal(int)
    actionRequested = Signal(str, int)
    codeCopied = Signal(int, int)  # (message id, code block index)
    painted = Signal()  # after each paint of the list (a thread's first paint starts its loading)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # (message id, its top in the viewport) to keep in place across the next relayout
        self._anchor: tuple[int, int] | None = None
        self.setObjectName("messageView")
        self.setAccessibleName("Messages")
        self.setAccessibleDescription(
            "The conversation. Arrow keys move between messages; the context menu key lists the "
            "actions. Ctrl+C copies, F2 edits, Ctrl+Shift+R regenerates, Ctrl+Shift+Enter "
            "continues, Delete deletes, Alt+Left and Alt+Right switch versions, Space shows "
            "reasoning."
        )
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)  # hover shows a row's action strip
        self.setFrameShape(QListView.Shape.NoFrame)
        # The sides of the reading column are the view's own background, the messages' colour.
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.verticalScrollBar().setSingleStep(24)
        self.empty_hint = EMPTY_HINT
        self._stick_to_bottom = True
        self.message_delegate = MessageDelegate(self)
        self.setItemDelegate(self.message_delegate)
        self.message_delegate.retryRequested.connect(self.retryRequested)
        self.message_delegate.reasoningToggled.connect(self.toggle_reasoning)
        self.message_delegate.actionRequested.connect(self.actionRequested)
        self.message_delegate.codeCopyRequested.connect(self.copy_code)
        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(COPIED_MS)
        self._copied_timer.timeout.connect(self._clear_copied)
        self.message_delegate.sizeHintChanged.connect(self._hold_position)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    # --- model -----------------------------------------------------------------------------

    def setModel(self, model: Any) -> None:
        old = self.model()
        if isinstance(old, MessageModel):
            old.rowsAboutToBeInserted.disconnect(self._on_rows_about_to_be_inserted)
        super().setModel(model)
        self.message_delegate.model = model if isinstance(model, MessageModel) else None
        if isinstance(model, MessageModel):
            model.rowsAboutToBeInserted.connect(self._on_rows_about_to_be_inserted)
            model.describe_actions = describe_actions

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.message_delegate.forget_metrics()
            self._fit_reading_column()
        super().changeEvent(event)

    # --- the reading column (docs/VISUAL.md) -------------------------------------------------

    def reading_width(self) -> int:
        """The widest a message row gets: READING_CHARS average characters plus the row's
        padding. On a wider view the rows are centred and the sides stay empty."""
        return self.fontMetrics().averageCharWidth() * READING_CHARS + 2 * PAD_X

    def _fit_reading_column(self) -> None:
        # Viewport margins, not a narrower delegate: every row coordinate, hit test and cached
        # layout stays relative to the viewport, which simply is the column.
        bar = self.verticalScrollBar()
        bar_w = bar.sizeHint().width() if bar.isVisible() else 0
        spare = self.width() - bar_w - self.reading_width()
        side = max(0, spare // 2)
        if self.viewportMargins().left() != side:
            self.setViewportMargins(side, 0, side, 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_reading_column()
        super().resizeEvent(event)

    def event(self, event: QEvent) -> bool:
        # Qt gives the scroll area's margins no wheel handling (only the viewport scrolls):
        # a wheel beside the reading column scrolls the messages all the same.
        if event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            self.wheelEvent(event)
            return True
        return super().event(event)

    def message_model(self) -> MessageModel:
        model = self.model()
        assert isinstance(model, MessageModel)
        return model

    def toggle_reasoning(self, row_number: int) -> None:
        model = self.message_model()
        if 0 <= row_number < model.rowCount():
            row = model.row(row_number)
            if row.reasoning:
                model.update_row(row_number, reasoning_expanded=not row.reasoning_expanded)
                self.message_delegate.sizeHintChanged.emit(model.index(row_number, 0))

    def settle(self) -> None:
        """Paint and lay out the visible rows now, so their geometry is exact (tests, screenshots)."""
        for _ in range(3):
            self.viewport().repaint()
            self.message_delegate.flush_size_changes()
            self.doItemsLayout()

    def row_layout(self, row_number: int) -> RowLayout:
        """The painted layout of a row (built now if it was never painted)."""
        return self.message_delegate.layout_for(self.message_model().row(row_number), self.palette())

    def thumbnail_sizes(self, row_number: int) -> list[QSize]:
        """The sizes of a row's image thumbnails, as painted (see `MessageDelegate.thumbnail_sizes`)."""
        return self.message_delegate.thumbnail_sizes(self.message_model().row(row_number), self.palette())

    # --- scrolling -------------------------------------------------------------------------

    @property
    def stick_to_bottom(self) -> bool:
        return self._stick_to_bottom

    def follow_bottom(self) -> None:
        """Stick to the bottom again and go there (a new message was sent)."""
        self._stick_to_bottom = True
        self.scrollToBottom()

    def stop_following(self) -> None:
        """Stay where the view is put (a jump to an old message), not at the bottom."""
        self._stick_to_bottom = False

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 4
        self._fetch_older_if_near_top()

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)
        self._fetch_older_if_near_top()

    def _fetch_older_if_near_top(self) -> None:
        """Within a screen of the window's top (or a window shorter than two screens): ask
        for the older rows, so they are there before the user reaches the top."""
        model = self.model()
        if (
            isinstance(model, MessageModel)
            and model.can_fetch_older()
            and self.verticalScrollBar().value() <= self.viewport().height()
        ):
            model.fetch_older()

    # --- keeping what is on screen in place ---------------------------------------------------

    def _anchor_now(self) -> tuple[int, int] | None:
        """The first row whose top is in view (else the row at the top), and that top."""
        model = self.model()
        if not isinstance(model, MessageModel) or model.rowCount() == 0:
            return None
        index = self.indexAt(self.viewport().rect().topLeft())
        if not index.isValid():
            return None
        rect = self.visualRect(index)
        if rect.top() < 0 and index.row() + 1 < model.rowCount():
            below = model.index(index.row() + 1, 0)
            below_rect = self.visualRect(below)
            if below_rect.top() < self.viewport().height():
                index, rect = below, below_rect
        return model.row(index.row()).id, rect.top()

    def _hold_position(self, *_args: Any) -> None:
        """Rows are about to change size or be inserted: keep the anchor at its place."""
        if self._anchor is None and not self._stick_to_bottom:
            self._anchor = self._anchor_now()

    def _on_rows_about_to_be_inserted(self, _parent: Any, first: int, _last: int) -> None:
        if first == 0:
            self._hold_position()

    def reset(self) -> None:
        self._anchor = None  # another thread (or a reloaded one): nothing to keep in place
        super().reset()

    def rowsInserted(self, parent: Any, start: int, end: int) -> None:
        super().rowsInserted(parent, start, end)
        if start == 0 and self._anchor is not None:
            self.doItemsLayout()  # now, so the anchor is restored before the next paint

    def updateGeometries(self) -> None:
        super().updateGeometries()
        anchor, self._anchor = self._anchor, None
        model = self.model()
        if anchor is None or not isinstance(model, MessageModel) or self._stick_to_bottom:
            return
        i = model.find_row(anchor[0])
        if i >= 0:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() + self.visualRect(model.index(i, 0)).top() - anchor[1])

    @property
    def hovered_row(self) -> int:
        """The row under the pointer (-1: none); the delegate paints its action strip."""
        return self.message_delegate.hovered_row

    # --- hover -----------------------------------------------------------------------------

    def _set_hovered(self, row_number: int) -> None:
        if row_number == self.hovered_row:
            return
        model = self.model()
        old, self.message_delegate.hovered_row = self.hovered_row, row_number
        if model is None:
            return
        # Repaint just the two rows (their cached layouts are reused; no relayout).
        for number in (old, row_number):
            if 0 <= number < model.rowCount():
                self.viewport().update(self.visualRect(model.index(number, 0)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        self._set_hovered(index.row() if index.isValid() else -1)
        cursor = Qt.CursorShape.ArrowCursor
        button: tuple[int, str] | None = None
        if index.isValid():
            row: ChatRow = index.data(ROW_ROLE)
            hit = self.message_delegate.hit_test(row, self.palette(), pos - self.visualRect(index).topLeft())
            if hit is not None:
                cursor = Qt.CursorShape.PointingHandCursor
                if hit[0] in STRIP_ICONS:
                    button = (index.row(), hit[0])
        self._set_hovered_action(button)
        self.viewport().setCursor(cursor)
        super().mouseMoveEvent(event)

    def _set_hovered_action(self, button: tuple[int, str] | None) -> None:
        """Frame the strip button under the pointer (repainting only its row)."""
        old, self.message_delegate.hovered_action = self.message_delegate.hovered_action, button
        model = self.model()
        if old == button or model is None:
            return
        for entry in (old, button):
            if entry is not None and 0 <= entry[0] < model.rowCount():
                self.viewport().update(self.visualRect(model.index(entry[0], 0)))

    def leaveEvent(self, event: QEvent) -> None:
        self._set_hovered(-1)
        self._set_hovered_action(None)
        super().leaveEvent(event)

    # --- painting and keys -----------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        if model is not None and model.rowCount() == 0 and self.empty_hint:
            painter = QPainter(self.viewport())
            colour = QColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.setPen(colour)
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.1)
            painter.setFont(font)
            painter.drawText(
                self.viewport().rect().adjusted(24, 24, -24, -24),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self.empty_hint,
            )
            painter.end()
            return
        super().paintEvent(event)
        self.painted.emit()

    _KEY_ACTIONS: ClassVar[dict[tuple[int, Qt.KeyboardModifier], str]] = {
        (Qt.Key.Key_F2, Qt.KeyboardModifier.NoModifier): "edit",
        (Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "regenerate",
        (Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "continue",
        (Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "continue",
        (Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier): "delete",
        (Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier): "prev",
        (Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier): "next",
    }

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if index.isValid():
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if event.key() == Qt.Key.Key_Space and modifiers == Qt.KeyboardModifier.NoModifier:
                self.toggle_reasoning(index.row())
                return
            if event.matches(QKeySequence.StandardKey.Copy):
                self.copy_row(index.row())
                return
            action = self._KEY_ACTIONS.get((event.key(), modifiers))
            if action is not None:
                row: ChatRow = index.data(ROW_ROLE)
                if action in ("prev", "next") and not row.has_siblings:
                    super().keyPressEvent(event)
                    return
                self.actionRequested.emit(action, row.id)
                return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos()) if event.reason() == QContextMenuEvent.Reason.Mouse else self.currentIndex()
        if not index.isValid():
            return
        self.setCurrentIndex(index)
        menu = self.context_menu(index.row())
        menu.popup(event.globalPos())

    def context_menu(self, row_number: int) -> QMenu:
        """The actions of one message as a menu (shown with popup(), never exec())."""
        row = self.message_model().row(row_number)
        menu = QMenu(self)
        menu.setAccessibleName("Message actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def add(text: str, shortcut: str | None, slot: Any, enabled: bool = True) -> None:
            action = menu.addAction(text)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setEnabled(enabled)
            action.triggered.connect(slot)

        if row.content or row.status == "error":
            add("&Copy text", ACTION_SHORTCUTS["copy"], lambda: self.copy_row(row_number))
        if self.row_layout(row_number).paged_note:
            add("Show &more of this message", None, lambda: self.message_delegate.show_more(row.id))
        blocks = self.row_layout(row_number).code_blocks
        for i in range(min(len(blocks), 9)):
            add(f"Copy code block &{i + 1}", None, lambda _=False, i=i: self.copy_code(row_number, i))
        available = actions_for(row)
        if row.has_siblings:
            menu.addSeparator()
            add("&Previous version", ACTION_SHORTCUTS["prev"], lambda: self.actionRequested.emit("prev", row.id), row.sibling_index > 0)
            add("&Next version", ACTION_SHORTCUTS["next"], lambda: self.actionRequested.emit("next", row.id), row.sibling_index < row.sibling_count - 1)
        if row.reasoning:
            add("Hide &reasoning" if row.reasoning_expanded else "Show &reasoning", ACTION_SHORTCUTS["reasoning"], lambda: self.toggle_reasoning(row_number))
        menu.addSeparator()
        if row.status == "error":
            add("Re&try", None, lambda: self.retryRequested.emit(row.id))
        for name, text in (("edit", "&Edit and resend…"), ("regenerate", "Re&generate"), ("continue", "C&ontinue")):
            if name in available:
                add(text, ACTION_SHORTCUTS[name], lambda _=False, n=name: self.actionRequested.emit(n, row.id))
        if "delete" in available:
            menu.addSeparator()
            add("&Delete…", ACTION_SHORTCUTS["delete"], lambda: self.actionRequested.emit("delete", row.id))
        return menu

    # --- clipboard -------------------------------------------------------------------------

    def copy_row(self, row_number: int) -> None:
        """Copy a message's text as markdown (an error row: its error sentence)."""
        row = self.message_model().row(row_number)
        QGuiApplication.clipboard().setText(row.content if row.status != "error" or row.content else (row.error or ""))

    def copy_code(self, row_number: int, block: int) -> bool:
        """Copy the raw code of a message's `block`-th code block; the label says "Copied ✓"."""
        model = self.message_model()
        if not 0 <= row_number < model.rowCount():
            return False
        row = model.row(row_number)
        blocks = self.row_layout(row_number).code_blocks
        if not 0 <= block < len(blocks):
            return False
        QGuiApplication.clipboard().setText(blocks[block].code)
        self.message_delegate.copied = (row.id, block)
        self._copied_timer.start()
        self.viewport().update(self.visualRect(model.index(row_number, 0)))
        self.codeCopied.emit(row.id, block)
        return True

    def _clear_copied(self) -> None:
        copied, self.message_delegate.copied = self.message_delegate.copied, None
        if copied is None or self.model() is None:
            return
        i = self.message_model().find_row(copied[0])
        if i >= 0:
            self.viewport().update(self.visualRect(self.message_model().index(i, 0)))

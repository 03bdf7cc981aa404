"""The queue panel: a status filter, the job list (one delegate paints every row) and actions.

Rows are painted, not built: a poster (or a placeholder), the status word, the prompt, and
"profile · model · elapsed · progress". One timer for the whole panel repaints elapsed times
once a second while any job is unfinished, and stops when none is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.style import is_selected
from app.ui.videos.posters import POSTER_SIZE, PosterCache
from app.ui.videos.queue_model import ROW_ROLE, QueueFilter, QueueModel
from app.ui.videos.records import STATUS_FILTERS, VideoRow, format_elapsed

__all__ = ["ACTIONS", "QueueDelegate", "QueuePanel", "actions_for"]

# (action id, label, tooltip)
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("play", "Play", "Play this video here"),
    ("cancel", "Cancel", "Stop this job (at the provider when it can be cancelled there)"),
    ("retry", "Retry", "Submit the same request again as a new job linked to this one"),
    ("remove", "Remove…", "Remove this job from the queue, and its file after you confirm"),
    ("open", "Open externally", "Open the video in the system's player"),
    ("reveal", "Show in folder", "Show the file in the file manager"),
    ("save", "Save as…", "Save a copy of the video"),
    ("copy", "Copy prompt", "Copy the prompt to the clipboard"),
    ("reuse", "Use these settings", "Put this job's settings into the form"),
)

STATUS_COLORS = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#757575",
    "interrupted": "#ef6c00",
}
# The same hues, lighter, for a dark palette (the light ones fall below a readable contrast).
STATUS_COLORS_DARK = {
    "completed": "#66bb6a",
    "failed": "#ef5350",
    "cancelled": "#9e9e9e",
    "interrupted": "#ffa726",
}


def actions_for(row: VideoRow | None) -> set[str]:
    """The actions a row offers (pure: also used to enable the buttons)."""
    if row is None:
        return set()
    offered = {"copy", "reuse", "remove"}
    if row.active:
        offered.add("cancel")
    else:
        offered.add("retry")
    if row.finished_ok and row.video_path:
        offered |= {"play", "open", "reveal", "save"}
    return offered


class QueueDelegate(QStyledItemDelegate):
    PAD = 8

    def __init__(
        self,
        posters: PosterCache | None,
        profile_name: Callable[[str], str],
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.posters = posters
        self.profile_name = profile_name
        self.clock = clock

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        line = option.fontMetrics.lineSpacing()
        return QSize(320, max(POSTER_SIZE.height(), 3 * line) + 2 * self.PAD)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row: VideoRow | None = index.data(ROW_ROLE)
        if row is None:
            return
        painter.save()
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
            )
        pal: QPalette = option.palette
        selected = is_selected(option)
        text_color = pal.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = QColor(text_color)
        muted.setAlpha(170)
        r = option.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        poster_rect = QRect(r.left(), r.top(), POSTER_SIZE.width(), POSTER_SIZE.height())
        pix = self.posters.get(row) if self.posters is not None else None
        if pix is not None and not pix.isNull():
            target = QRect(0, 0, pix.width(), pix.height())
            target.moveCenter(poster_rect.center())
            painter.drawPixmap(target, pix)
        else:
            painter.fillRect(poster_rect, pal.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(muted)
            painter.drawRect(poster_rect.adjusted(0, 0, -1, -1))
        fm = option.fontMetrics
        line = fm.lineSpacing()
        x = poster_rect.right() + self.PAD + 4
        width = max(10, r.right() - x)
        # Line 1: status word (coloured) and the prompt.
        status = row.status
        bold = painter.font()
        bold.setBold(True)
        painter.setFont(bold)
        dark = pal.color(QPalette.ColorRole.Base).lightness() < 128
        colors = STATUS_COLORS_DARK if dark else STATUS_COLORS
        color = colors.get(row.state)
        painter.setPen(QColor(color) if color and not selected else text_color)
        status_w = painter.fontMetrics().horizontalAdvance(status) + 10
        painter.drawText(QRect(x, r.top(), status_w, line), Qt.AlignmentFlag.AlignVCenter, status)
        bold.setBold(False)
        painter.setFont(bold)
        painter.setPen(text_color)
        prompt = fm.elidedText(
            " ".join(row.draft.prompt.split()),
            Qt.TextElideMode.ElideRight,
            max(10, width - status_w),
        )
        painter.drawText(
            QRect(x + status_w, r.top(), width - status_w, line),
            Qt.AlignmentFlag.AlignVCenter,
            prompt,
        )
        # Line 2: profile · model · elapsed · progress.
        parts = [
            self.profile_name(row.draft.profile_id),
            row.draft.model,
            format_elapsed(row.elapsed(self.clock())),
        ]
        if row.progress is not None and row.active:
            parts.append(f"{round(row.progress * 100)}%")
        if row.retry_of is not None:
            parts.append(f"retry of #{row.retry_of}")
        meta = fm.elidedText(
            "  ·  ".join(p for p in parts if p), Qt.TextElideMode.ElideRight, width
        )
        painter.setPen(muted)
        painter.drawText(QRect(x, r.top() + line, width, line), Qt.AlignmentFlag.AlignVCenter, meta)
        # Line 3: the provider's error, or a progress bar while it is known.
        if row.error and not row.active:
            err = fm.elidedText(" ".join(row.error.split()), Qt.TextElideMode.ElideRight, width)
            painter.setPen(QColor(colors["failed"]) if not selected else text_color)
            painter.drawText(
                QRect(x, r.top() + 2 * line, width, line), Qt.AlignmentFlag.AlignVCenter, err
            )
        elif row.active and row.progress is not None:
            bar = QRect(x, r.top() + 2 * line + line // 3, min(width, 240), max(3, line // 4))
            painter.fillRect(bar, pal.color(QPalette.ColorRole.Mid))
            done = QRect(bar)
            done.setWidth(int(bar.width() * max(0.0, min(1.0, row.progress))))
            painter.fillRect(done, pal.color(QPalette.ColorRole.Highlight))
        painter.restore()


class QueuePanel(QWidget):
    """Filter, list and action buttons. Says what the user asked; a controller does it."""

    actionRequested = Signal(str, int)  # (action id, job id)
    selectionChanged = Signal(int)  # job id, -1 when none

    def __init__(
        self,
        model: QueueModel,
        posters: PosterCache | None = None,
        *,
        profile_name: Callable[[str], str] = lambda pid: pid,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Video queue")
        self.model = model
        self.proxy = QueueFilter(self)
        self.proxy.setSourceModel(model)

        top = QHBoxLayout()
        heading = QLabel("Queue")
        heading.setProperty("role", "heading")
        top.addWidget(heading)
        top.addStretch(1)
        self.count_label = QLabel("")
        self.count_label.setProperty("role", "muted")
        top.addWidget(self.count_label)
        self.filter_combo = QComboBox()
        self.filter_combo.setAccessibleName("Show jobs")
        for label, _states in STATUS_FILTERS:
            self.filter_combo.addItem(label)
        self.filter_combo.currentIndexChanged.connect(self._on_filter)
        filter_label = QLabel("&Show:")
        filter_label.setBuddy(self.filter_combo)
        top.addWidget(filter_label)
        top.addWidget(self.filter_combo)

        self.list = QListView()
        self.list.setAccessibleName("Video jobs")
        self.list.setModel(self.proxy)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = QueueDelegate(posters, profile_name, clock, self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.selectionModel().currentChanged.connect(self._on_current)
        self.list.doubleClicked.connect(self._on_double_click)

        self.empty_label = QLabel("No videos yet. Describe one on the left and press Submit.")
        self.empty_label.setProperty("role", "muted")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        bar.setSpacing(6)
        for action, label, tip in ACTIONS:
            if action in {"open", "reveal", "save", "copy", "reuse"}:
                continue  # in the context menu and "More"; the bar keeps the frequent ones
            button = QPushButton(label)
            button.setToolTip(tip)
            button.setAccessibleName(label.rstrip("…"))
            button.clicked.connect(lambda _=False, a=action: self._request(a))
            bar.addWidget(button)
            self.buttons[action] = button
        self.more_button = QPushButton("More")
        self.more_button.setAccessibleName("More actions")
        self.more_menu = QMenu(self.more_button)
        self.menu_actions = {}
        for action, label, tip in ACTIONS:
            act = self.more_menu.addAction(label)
            act.setToolTip(tip)
            act.triggered.connect(lambda _=False, a=action: self._request(a))
            self.menu_actions[action] = act
        self.more_button.setMenu(self.more_menu)
        bar.addWidget(self.more_button)
        bar.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(bar)

        # One timer for the panel: elapsed times tick together, and only while a job runs.
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._tick)
        posters_signal = getattr(posters, "posterReady", None)
        if posters_signal is not None:
            posters_signal.connect(self._on_poster)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._on_rows_changed)
        self._on_rows_changed()

        # Delete removes (asks first), Ctrl+C copies the prompt.
        self.list.installEventFilter(self)

    # -- selection --

    def current_row(self) -> VideoRow | None:
        idx = self.list.currentIndex()
        return idx.data(ROW_ROLE) if idx.isValid() else None

    def select(self, job_id: int) -> None:
        src = self.model.index_for(job_id)
        idx = self.proxy.mapFromSource(src)
        if idx.isValid():
            self.list.setCurrentIndex(idx)
            self.list.scrollTo(idx)

    def set_filter(self, label: str) -> None:
        i = self.filter_combo.findText(label)
        if i >= 0:
            self.filter_combo.setCurrentIndex(i)

    # -- internals --

    def _request(self, action: str) -> None:
        row = self.current_row()
        if row is not None and action in actions_for(row):
            self.actionRequested.emit(action, row.job_id)

    def _on_filter(self, i: int) -> None:
        self.proxy.set_states(STATUS_FILTERS[i][1])
        self._on_rows_changed()

    def _on_current(self, *_args: object) -> None:
        row = self.current_row()
        self._update_buttons(row)
        self.selectionChanged.emit(row.job_id if row is not None else -1)

    def _on_double_click(self, idx: QModelIndex) -> None:
        row: VideoRow | None = idx.data(ROW_ROLE)
        if row is not None and "play" in actions_for(row):
            self.actionRequested.emit("play", row.job_id)

    def _update_buttons(self, row: VideoRow | None) -> None:
        offered = actions_for(row)
        for action, button in self.buttons.items():
            button.setEnabled(action in offered)
        for action, act in self.menu_actions.items():
            act.setEnabled(action in offered)
        self.more_button.setEnabled(bool(offered))

    def _on_rows_changed(self, *_args: object) -> None:
        shown = self.proxy.rowCount()
        total = self.model.rowCount()
        self.count_label.setText(
            f"{total} job{'s' if total != 1 else ''}" if shown == total else f"{shown} of {total}"
        )
        empty = total == 0
        self.list.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self._update_buttons(self.current_row())
        self.sync_timer()

    def sync_timer(self) -> None:
        if self.model.has_active() and self.isVisible():
            if not self.ticker.isActive():
                self.ticker.start()
        elif self.ticker.isActive():
            self.ticker.stop()

    def _tick(self) -> None:
        self.model.tick()

    def _on_poster(self, job_id: int) -> None:
        idx = self.proxy.mapFromSource(self.model.index_for(job_id))
        if idx.isValid():
            self.list.update(idx)

    def showEvent(self, event: object) -> None:  # type: ignore[override]
        super().showEvent(event)  # type: ignore[arg-type]
        self.sync_timer()

    def hideEvent(self, event: object) -> None:  # type: ignore[override]
        super().hideEvent(event)  # type: ignore[arg-type]
        self.ticker.stop()

    def eventFilter(self, obj: object, event: object) -> bool:  # type: ignore[override]
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        if (
            obj is self.list
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
        ):
            if event.key() == Qt.Key.Key_Delete:
                self._request("remove")
                return True
            if event.matches(QKeySequence.StandardKey.Copy):
                self._request("copy")
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._request("play")
                return True
        return super().eventFilter(obj, event)  # type: ignore[arg-type]

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.current_row() is not None:
            self.more_menu.popup(event.globalPos())  # not exec(): no nested loop

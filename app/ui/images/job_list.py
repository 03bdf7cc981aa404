"""The generations beside the form, as one list view: a row per job with its prompt, state,
progress bar, elapsed time and Cancel; a failed one is drawn as an error card with the provider's
message, what to do next, and the buttons that do it (Retry download, Run again, Dismiss).

Model/view, not a widget per job: ten generations started at once used to build ten cards of
ten widgets each, and every progress step re-laid out the whole column beside the form (the
slowest stall of benchmarks/images_ui.py's "10 generations at once"). Here

- `JobListModel` holds `JobView` records (fed by the controller; it knows nothing of the
  service). An update replaces the record at once, so reads are current, but repaints are
  coalesced: changed rows are announced (`dataChanged`) at most once per frame (16 ms), and
  the list is re-laid out only when a row's shape changes (it finished, failed, got an error);
- `JobDelegate` paints a row: text, a progress bar (a moving block while the provider gives
  no fraction), the elapsed time computed at paint time, and the row's actions as push buttons
  drawn by the style. Clicks are hit-tested in `editorEvent`; hovering highlights a button;
- `JobListView` is a QListView: arrows move between jobs; Left/Right move between a job's
  buttons (the focused one is drawn with a focus frame), Space/Enter press it, Delete cancels
  a running job or dismisses a finished one, and the context-menu key (or a right click) opens
  a menu of the job's actions. Each row's accessible text says its prompt, state and buttons;
- `JobList` is the small facade the controller and the tab use (signals per action,
  `update_job`, `dismiss`, `set_error`, `job`, `actions`). A timer refreshes active rows
  (elapsed time, the busy bar) twice a second, and only while a job is active. It fills the
  rest of the form's column and scrolls inside it, so jobs coming and going never change its
  height (which re-laid out and repainted the whole form).

Compared with a QTableView (columns do not suit a card with wrapped error text) and with
persistent editors (a real QPushButton per row, which brings back widget-per-job costs), a
painted delegate keeps every update a repaint of one row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QRegion,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionFocusRect,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import accents, palette_is_dark

__all__ = [
    "ACTION_TEXT",
    "JobDelegate",
    "JobList",
    "JobListModel",
    "JobListView",
    "JobView",
    "actions_for",
    "elapsed_text",
    "next_step",
    "state_text",
]

ACTIVE = frozenset({"submitting", "running", "downloading"})
FAILED = frozenset({"failed", "interrupted"})
STATE_TEXT = {
    "submitting": "Sending…",
    "running": "Generating…",
    "downloading": "Saving images…",
    "completed": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "interrupted": "Interrupted",
}
ACTION_TEXT = {
    "cancel": "Cancel",
    "retry": "Retry download",
    "rerun": "Run again",
    "dismiss": "Dismiss",
}
ACTION_TIP = {
    "cancel": "Stop this generation (images already saved stay)",
    "retry": "Download the images not saved yet, while the provider still keeps them",
    "rerun": "Generate again with the same settings (a new job; nothing is replaced)",
    "dismiss": "Remove this generation from the list (its images stay in the gallery)",
}
JOB_ROLE = Qt.ItemDataRole.UserRole + 1
FRAME_MS = 16  # repaints of changed rows are coalesced to one per frame
TICK_MS = 500  # elapsed time and the busy bar of active rows
_INDEX = QModelIndex | QPersistentModelIndex


@dataclass
class JobView:
    """One generation as the list shows it."""

    id: int
    state: str
    prompt: str = ""
    created_at: float = 0.0
    progress: float | None = None  # 0..1
    progress_text: str = ""
    error: str = ""
    saved: int = 0  # images saved so far
    wanted: int = 1  # images asked for
    can_retry_download: bool = False
    may_have_reached_provider: bool = False
    finished_at: float | None = field(default=None, compare=False)  # set by the model


def next_step(
    error: str,
    state: str,
    may_have_reached_provider: bool = False,
    can_retry_download: bool = False,
) -> str:
    """What the user can do about a failed or interrupted generation, in one sentence."""
    low = error.lower()
    if can_retry_download:
        return "Retry the download while the provider still keeps the images, or run it again."
    if state == "interrupted":
        if may_have_reached_provider:
            return (
                "The request may have reached the provider before the app stopped; run it "
                "again only if no image arrived (it may be billed twice)."
            )
        return "It stopped before anything was sent; run it again."
    if "rate" in low and "limit" in low or "429" in low:
        return "Wait a moment, then run it again (or lower the count)."
    if "moderat" in low or "safety" in low or "policy" in low or "refus" in low:
        return "Reword the prompt, then run it again."
    if "size" in low:
        return "Pick a size this model supports, then run it again."
    if "expire" in low or "download" in low:
        return "Retry the download while the provider still keeps the image, or run it again."
    if "key" in low or "401" in low or "unauthor" in low:
        return "Check the profile's API key in Settings."
    if "connect" in low or "reach" in low or "timed out" in low or "timeout" in low:
        return "Check the connection or the profile's address, then run it again."
    return "Change the settings if the message asks for it, then run it again."


def actions_for(job: JobView) -> list[str]:
    """The buttons a job's row offers, in the order drawn."""
    active = job.state in ACTIVE
    failed = job.state in FAILED
    out: list[str] = []
    if active:
        out.append("cancel")
    if failed and job.can_retry_download:
        out.append("retry")
    if failed or job.state == "cancelled":
        out.append("rerun")
    if not active:
        out.append("dismiss")
    return out


def state_text(job: JobView) -> str:
    """ "Saving images…  1/4": the state (or the job's own progress words) and the count."""
    active = job.state in ACTIVE
    text = STATE_TEXT.get(job.state, job.state)
    if job.progress_text and active:
        text = job.progress_text
    if job.wanted > 1 or job.saved:
        text += f"  {job.saved}/{job.wanted}"
    return text


def elapsed_text(job: JobView, now: float) -> str:
    """ "m:ss" since the job started while it runs; empty once it has ended."""
    if job.state not in ACTIVE:
        return ""
    seconds = max(0, int(now - (job.created_at or now)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _shape(job: JobView) -> tuple[Any, ...]:
    """What decides a row's height and buttons (a change re-lays out the list)."""
    return (job.state in ACTIVE, job.state in FAILED, job.error, tuple(actions_for(job)))


# --- the model ------------------------------------------------------------------------------


class JobListModel(QAbstractListModel):
    """Generations, newest first. Updates are immediate; repaints are coalesced per frame."""

    shapeChanged = Signal()  # a row was added, removed, or changed height (coalesced)

    def __init__(self, clock: Callable[[], float] = time.time, parent: QObject | None = None):
        super().__init__(parent)
        self.clock = clock
        self._jobs: list[JobView] = []
        self._dirty: set[int] = set()  # job ids whose row must be repainted
        self._reshaped = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FRAME_MS)
        self._flush_timer.timeout.connect(self.flush)
        self.flushes = 0  # frames in which rows were announced (tests, benchmarks)

    # -- Qt model --

    def rowCount(self, parent: _INDEX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._jobs)

    def data(self, index: _INDEX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._jobs):
            return None
        job = self._jobs[index.row()]
        if role == JOB_ROLE:
            return job
        if role == Qt.ItemDataRole.DisplayRole:
            return job.prompt
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return describe(job, self.clock())
        if role == Qt.ItemDataRole.ToolTipRole:
            return job.prompt
        return None

    # -- reading --

    def row_of(self, job_id: int) -> int:
        for row, job in enumerate(self._jobs):
            if job.id == job_id:
                return row
        return -1

    def job(self, job_id: int) -> JobView | None:
        row = self.row_of(job_id)
        return self._jobs[row] if row >= 0 else None

    def jobs(self) -> list[JobView]:
        return list(self._jobs)

    def any_active(self) -> bool:
        return any(j.state in ACTIVE for j in self._jobs)

    # -- changing --

    def update_job(self, job: JobView) -> None:
        """Show `job` (a new one goes on top); its repaint waits for the next frame."""
        row = self.row_of(job.id)
        if row < 0:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._jobs.insert(0, job)
            self.endInsertRows()
            self._reshape()
            return
        old = self._jobs[row]
        if old == job:
            return
        self._jobs[row] = job
        if _shape(old) != _shape(job):
            self._reshape()
        self.mark_dirty(job.id)

    def set_error(self, job_id: int, text: str) -> None:
        job = self.job(job_id)
        if job is not None:
            self.update_job(replace(job, error=text))

    def remove(self, job_id: int) -> bool:
        row = self.row_of(job_id)
        if row < 0:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._jobs[row]
        self.endRemoveRows()
        self._dirty.discard(job_id)
        self._reshape()
        return True

    def mark_dirty(self, job_id: int) -> None:
        self._dirty.add(job_id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _reshape(self) -> None:
        self._reshaped = True
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Announce every row changed since the last frame (one `dataChanged` per row)."""
        self._flush_timer.stop()
        dirty, self._dirty = self._dirty, set()
        reshaped, self._reshaped = self._reshaped, False
        if dirty or reshaped:
            self.flushes += 1
        for job_id in dirty:
            row = self.row_of(job_id)
            if row >= 0:
                index = self.index(row)
                self.dataChanged.emit(index, index, [JOB_ROLE])
        if reshaped:
            self.shapeChanged.emit()

    def stop(self) -> None:
        self._flush_timer.stop()


def describe(job: JobView, now: float) -> str:
    """A row as one sentence (its accessible text)."""
    parts = [f"Generation: {job.prompt}", state_text(job)]
    elapsed = elapsed_text(job, now)
    if elapsed:
        parts.append(f"running for {elapsed}")
    if job.progress is not None and job.state in ACTIVE:
        parts.append(f"{round(job.progress * 100)} percent")
    if job.state in FAILED:
        if job.error:
            parts.append(job.error)
        parts.append(
            next_step(job.error, job.state, job.may_have_reached_provider, job.can_retry_download)
        )
    buttons = [ACTION_TEXT[a] for a in actions_for(job)]
    if buttons:
        parts.append("Buttons: " + ", ".join(buttons))
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


# --- the delegate ---------------------------------------------------------------------------

PAD = 8  # inside a card
GAP = 4  # between a card's lines
SPACING = 6  # between cards
BAR_H = 8
BUTTON_PAD = 12  # each side of a button's text
MIN_BAR_W = 60
WRAP = Qt.TextFlag.TextWordWrap


@dataclass
class RowGeometry:
    """Where each part of a row goes (viewport coordinates)."""

    card: QRect
    prompt: QRect
    elapsed: QRect
    state: QRect
    bar: QRect | None
    error: QRect | None
    next: QRect | None
    buttons: list[tuple[str, QRect]]

    @property
    def height(self) -> int:
        return self.card.height() + SPACING

    def translated(self, dx: int, dy: int) -> RowGeometry:
        def move(r: QRect | None) -> QRect | None:
            return None if r is None else r.translated(dx, dy)

        return RowGeometry(
            self.card.translated(dx, dy),
            self.prompt.translated(dx, dy),
            self.elapsed.translated(dx, dy),
            self.state.translated(dx, dy),
            move(self.bar),
            move(self.error),
            move(self.next),
            [(a, r.translated(dx, dy)) for a, r in self.buttons],
        )


def _geometry_key(job: JobView) -> tuple[Any, ...]:
    """Every field a row's layout depends on (the prompt is elided to fit, so not it)."""
    return (
        job.state,
        job.error,
        job.progress_text,
        job.saved,
        job.wanted,
        job.can_retry_download,
        job.may_have_reached_provider,
    )


def row_geometry(job: JobView, rect: QRect, fm: QFontMetrics) -> RowGeometry:
    """Lay out one row inside `rect` (only its left, top and width are used)."""
    line = fm.height()
    button_h = line + 10
    left, top, width = rect.left(), rect.top(), max(rect.width(), 120)
    inner_l, inner_w = left + PAD, width - 2 * PAD
    y = top + PAD
    elapsed = elapsed_text(job, job.created_at + 3599)  # widest text it will show, "59:59"
    elapsed_w = fm.horizontalAdvance(elapsed) + 4 if elapsed else 0
    prompt = QRect(inner_l, y, inner_w - elapsed_w, line)
    elapsed_rect = QRect(inner_l + inner_w - elapsed_w, y, elapsed_w, line)
    y += line + GAP
    actions = actions_for(job)
    widths = [fm.horizontalAdvance(ACTION_TEXT[a]) + 2 * BUTTON_PAD for a in actions]
    active = job.state in ACTIVE
    bar: QRect | None = None
    buttons: list[tuple[str, QRect]] = []
    error: QRect | None = None
    nxt: QRect | None = None
    if active:
        # State, bar and Cancel on one line.
        state_w = fm.horizontalAdvance(state_text(job)) + 8
        row_h = max(line, button_h)
        state = QRect(inner_l, y, min(state_w, inner_w // 2), row_h)
        x = inner_l + inner_w
        for action, w in zip(reversed(actions), reversed(widths), strict=True):
            x -= w
            buttons.insert(0, (action, QRect(x, y, w, button_h)))
            x -= GAP
        bar_l = state.right() + 1 + GAP
        bar_w = max(MIN_BAR_W, x - bar_l)
        bar = QRect(bar_l, y + (row_h - BAR_H) // 2, bar_w, BAR_H)
        y += row_h
    else:
        state = QRect(inner_l, y, inner_w, line)
        y += line
        if job.state in FAILED:
            if job.error:
                h = fm.boundingRect(QRect(0, 0, inner_w, 10_000), WRAP, job.error).height()
                error = QRect(inner_l, y + GAP, inner_w, h)
                y = error.bottom() + 1
            text = next_step(
                job.error, job.state, job.may_have_reached_provider, job.can_retry_download
            )
            h = fm.boundingRect(QRect(0, 0, inner_w, 10_000), WRAP, text).height()
            nxt = QRect(inner_l, y + GAP, inner_w, h)
            y = nxt.bottom() + 1
        if actions:
            y += GAP
            x = inner_l + inner_w
            for action, w in zip(reversed(actions), reversed(widths), strict=True):
                x -= w
                buttons.insert(0, (action, QRect(x, y, w, button_h)))
                x -= GAP
            y += button_h
    card = QRect(left, top, width, y + PAD - top)
    return RowGeometry(card, prompt, elapsed_rect, state, bar, error, nxt, buttons)


class JobDelegate(QStyledItemDelegate):
    """Paints a job row and turns clicks on its drawn buttons into `actionTriggered`."""

    actionTriggered = Signal(int, str)  # job id, action

    def __init__(self, view: QAbstractItemView, clock: Callable[[], float]) -> None:
        super().__init__(view)
        self._view = view
        self._clock = clock
        self.hover: tuple[int, str] | None = None  # (job id, action) under the mouse
        self.pressed: tuple[int, str] | None = None
        self.focus_action: dict[int, int] = {}  # job id -> index of its keyboard-focused button
        self._geometry: dict[tuple[Any, ...], RowGeometry] = {}
        self.region: QRegion | None = None  # what the view is repainting (set per paint event)
        self._elided: dict[tuple[str, int, int], str] = {}

    def geometry(self, job: JobView, option: QStyleOptionViewItem) -> RowGeometry:
        """The row's layout at `option.rect`, from a cache: Qt asks for size hints and paints
        each row often (every progress step), and laying out wrapped text is the costly part
        (measured ~0.3 ms a row)."""
        rect: QRect = option.rect  # type: ignore[attr-defined]
        geo = self.origin_geometry(job, rect.width(), option.fontMetrics)  # type: ignore[attr-defined]
        return geo.translated(rect.left(), rect.top())

    def origin_geometry(self, job: JobView, width: int, fm: QFontMetrics) -> RowGeometry:
        """The row's layout with its top left at (0, 0) (cached)."""
        key = (_geometry_key(job), width, fm.height(), fm.averageCharWidth())
        geo = self._geometry.get(key)
        if geo is None:
            if len(self._geometry) > 512:
                self._geometry.clear()
            geo = self._geometry[key] = row_geometry(job, QRect(0, 0, width, 0), fm)
        return geo

    def elided(self, fm: QFontMetrics, text: str, width: int) -> str:
        key = (text, width, fm.averageCharWidth())
        out = self._elided.get(key)
        if out is None:
            if len(self._elided) > 512:
                self._elided.clear()
            out = self._elided[key] = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
        return out

    def sizeHint(self, option: QStyleOptionViewItem, index: _INDEX) -> QSize:
        job: JobView | None = index.data(JOB_ROLE)
        if job is None:
            return QSize(0, 0)
        width = self._view.viewport().width()
        return QSize(width, self.origin_geometry(job, width, option.fontMetrics).height)  # type: ignore[attr-defined]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _INDEX) -> None:
        job: JobView | None = index.data(JOB_ROLE)
        if job is None:
            return
        pal: QPalette = option.palette  # type: ignore[attr-defined]
        fm: QFontMetrics = option.fontMetrics  # type: ignore[attr-defined]
        state_flags = option.state  # type: ignore[attr-defined]
        rect: QRect = option.rect  # type: ignore[attr-defined]
        # Laid out at the origin (cached) and drawn with the painter moved to the row.
        geo = self.origin_geometry(job, rect.width(), fm)
        tones = accents(palette_is_dark(pal))
        failed = job.state in FAILED
        painter.save()
        painter.translate(rect.topLeft())
        card = geo.card
        painter.setPen(Qt.PenStyle.NoPen)
        if failed:
            painter.setBrush(QColor(tones["warn_bg"]))
            painter.drawRoundedRect(card, 4, 4)
            painter.fillRect(
                QRect(card.left(), card.top(), 3, card.height()), QColor(tones["error"])
            )
            text_color = QColor(tones["warn_fg"])
        else:
            painter.setBrush(pal.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(pal.color(QPalette.ColorRole.Mid))
            painter.drawRoundedRect(card.adjusted(0, 0, -1, -1), 4, 4)
            text_color = pal.color(QPalette.ColorRole.Text)
        muted = QColor(tones["muted"])
        # Only the parts inside the area being repainted (a clock tick repaints the elapsed
        # time and the bar of each active row, not its texts and buttons).
        region = self.region
        needed = (
            (lambda _r: True)
            if region is None
            else region.translated(-rect.left(), -rect.top()).intersects
        )
        painter.setPen(text_color)
        if needed(geo.prompt):
            prompt = " ".join(job.prompt.split())
            painter.drawText(
                geo.prompt,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.elided(fm, prompt, geo.prompt.width()),
            )
        elapsed = elapsed_text(job, self._clock())
        if elapsed and needed(geo.elapsed):
            painter.setPen(muted)
            painter.drawText(
                geo.elapsed, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, elapsed
            )
        if needed(geo.state):
            painter.setPen(text_color if failed else muted)
            painter.drawText(
                geo.state,
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.elided(fm, state_text(job), geo.state.width()),
            )
        if geo.bar is not None and needed(geo.bar):
            self._paint_bar(painter, pal, geo.bar, job)
        if geo.error is not None:
            painter.setPen(QColor(tones["error"]) if not failed else text_color)
            painter.drawText(geo.error, WRAP, job.error)
        if geo.next is not None:
            painter.setPen(text_color)
            painter.drawText(
                geo.next,
                WRAP,
                next_step(
                    job.error, job.state, job.may_have_reached_provider, job.can_retry_download
                ),
            )
        focus_i = self.focus_action.get(job.id, 0)
        row_has_focus = bool(state_flags & QStyle.StateFlag.State_HasFocus)
        for i, (action, rect) in enumerate(geo.buttons):
            if not needed(rect):
                continue
            self._paint_button(
                painter, option, job.id, action, rect, focused=row_has_focus and i == focus_i
            )
        if bool(state_flags & QStyle.StateFlag.State_Selected) and not geo.buttons:
            painter.setPen(pal.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(card.adjusted(0, 0, -1, -1), 4, 4)
        painter.restore()

    def _paint_bar(self, painter: QPainter, pal: QPalette, bar: QRect, job: JobView) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(bar, 3, 3)
        painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
        if job.progress is None:
            # No fraction from the provider: a block that moves with each tick.
            block = max(12, bar.width() // 4)
            step = int(self._clock() * 1000 / TICK_MS)
            span = bar.width() - block
            pos = step % (2 * span) if span > 0 else 0
            x = pos if pos <= span else 2 * span - pos
            painter.drawRoundedRect(QRect(bar.left() + x, bar.top(), block, bar.height()), 3, 3)
        else:
            filled = round(bar.width() * min(max(job.progress, 0.0), 1.0))
            if filled > 0:
                painter.drawRoundedRect(QRect(bar.left(), bar.top(), filled, bar.height()), 3, 3)

    def _paint_button(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        job_id: int,
        action: str,
        rect: QRect,
        *,
        focused: bool,
    ) -> None:
        button = QStyleOptionButton()
        button.initFrom(self._view.viewport())
        button.rect = rect  # type: ignore[attr-defined]
        button.text = ACTION_TEXT[action]  # type: ignore[attr-defined]
        flags = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        if self.hover == (job_id, action):
            flags |= QStyle.StateFlag.State_MouseOver
        if self.pressed == (job_id, action):
            flags |= QStyle.StateFlag.State_Sunken
        if focused:
            flags |= QStyle.StateFlag.State_HasFocus
        button.state = flags  # type: ignore[attr-defined]
        style = self._view.style()
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, self._view)
        if focused:
            frame = QStyleOptionFocusRect()
            frame.initFrom(self._view.viewport())
            frame.rect = rect.adjusted(2, 2, -2, -2)  # type: ignore[attr-defined]
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_FrameFocusRect, frame, painter, self._view
            )

    def button_at(self, job: JobView, option: QStyleOptionViewItem, pos: QPoint) -> str | None:
        for action, rect in self.geometry(job, option).buttons:
            if rect.contains(pos):
                return action
        return None

    def editorEvent(
        self, event: QEvent, model: Any, option: QStyleOptionViewItem, index: _INDEX
    ) -> bool:
        job: JobView | None = index.data(JOB_ROLE)
        kind = event.type()
        if job is None or not isinstance(event, QMouseEvent):
            return False
        action = self.button_at(job, option, event.position().toPoint())
        hit = (job.id, action) if action is not None else None
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if kind == QEvent.Type.MouseButtonPress and hit is not None:
            self.pressed = hit
            self._view.viewport().update(option.rect)  # type: ignore[attr-defined]
            return True
        if kind == QEvent.Type.MouseButtonRelease:
            pressed, self.pressed = self.pressed, None
            if pressed is not None:
                self._view.viewport().update(option.rect)  # type: ignore[attr-defined]
            if hit is not None and hit == pressed:
                self.actionTriggered.emit(job.id, hit[1])
                return True
            return pressed is not None
        # A quick second click on a button is not a double-click on the row.
        return kind == QEvent.Type.MouseButtonDblClick and hit is not None


# --- the view -------------------------------------------------------------------------------


class JobListView(QListView):
    """The list of job rows, with keyboard access to each row's buttons."""

    def __init__(self, model: JobListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Generations")
        self.setModel(model)
        self._delegate = JobDelegate(self, model.clock)
        self.setItemDelegate(self._delegate)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.viewport().setAutoFillBackground(False)
        self.menu: QMenu | None = None

    @property
    def delegate(self) -> JobDelegate:
        return self._delegate

    def current_job(self) -> JobView | None:
        index = self.currentIndex()
        return index.data(JOB_ROLE) if index.isValid() else None

    def row_option(self, job_id: int) -> QStyleOptionViewItem:
        """The style option a job's row is painted with (its rect where it is drawn)."""
        model = self.model()
        assert isinstance(model, JobListModel)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        row = model.row_of(job_id)
        if row >= 0:
            option.rect = self.visualRect(model.index(row))  # type: ignore[attr-defined]
        return option

    def button_rect(self, job_id: int, action: str) -> QRect | None:
        """Where a job's button is drawn, in viewport coordinates (None when not shown)."""
        model = self.model()
        assert isinstance(model, JobListModel)
        job = model.job(job_id)
        if job is None:
            return None
        for name, rect in self._delegate.geometry(job, self.row_option(job_id)).buttons:
            if name == action:
                return rect
        return None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        job = self.current_job()
        key = event.key()
        if job is not None:
            actions = actions_for(job)
            focus = self._delegate.focus_action.get(job.id, 0)
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and actions:
                step = 1 if key == Qt.Key.Key_Right else -1
                self._delegate.focus_action[job.id] = (focus + step) % len(actions)
                self.update(self.currentIndex())
                event.accept()
                return
            if key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and actions:
                self._delegate.actionTriggered.emit(job.id, actions[min(focus, len(actions) - 1)])
                event.accept()
                return
            if key == Qt.Key.Key_Delete:
                action = "cancel" if job.state in ACTIVE else "dismiss"
                if action in actions:
                    self._delegate.actionTriggered.emit(job.id, action)
                event.accept()
                return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: Any) -> None:
        index = self.indexAt(event.pos())
        if not index.isValid():
            index = self.currentIndex()
            pos = self.visualRect(index).center() if index.isValid() else QPoint(0, 0)
        else:
            self.setCurrentIndex(index)
            pos = event.pos()
        job: JobView | None = index.data(JOB_ROLE) if index.isValid() else None
        if job is None:
            return
        self.open_menu(job, self.viewport().mapToGlobal(pos))
        event.accept()

    def open_menu(self, job: JobView, at: QPoint) -> QMenu:
        """A menu of the job's actions (opened with popup(): no nested event loop)."""
        if self.menu is not None:
            self.menu.close()
        menu = QMenu(self)
        menu.setAccessibleName("Generation actions")
        for action in actions_for(job):
            item = menu.addAction(ACTION_TEXT[action])
            item.setToolTip(ACTION_TIP[action])
            item.triggered.connect(
                lambda _c=False, j=job.id, a=action: self._delegate.actionTriggered.emit(j, a)
            )
        menu.aboutToHide.connect(menu.deleteLater)
        menu.destroyed.connect(lambda *_: setattr(self, "menu", None))
        self.menu = menu
        menu.popup(at)
        return menu

    def paintEvent(self, event: QPaintEvent) -> None:
        self._delegate.region = event.region()
        try:
            super().paintEvent(event)
        finally:
            self._delegate.region = None

    def refresh_clock(self) -> None:
        """The clock moved: repaint the elapsed time and busy bar of each active row shown
        (one update region; the rest of each row is not redrawn)."""
        model = self.model()
        assert isinstance(model, JobListModel)
        area = self.viewport().rect()
        region = QRegion()
        for job in model.jobs():
            if job.state not in ACTIVE:
                continue
            option = self.row_option(job.id)
            if not area.intersects(option.rect):  # type: ignore[attr-defined]
                continue
            geo = self._delegate.geometry(job, option)
            region = region.united(geo.elapsed)
            if geo.bar is not None:
                region = region.united(geo.bar)
        if not region.isEmpty():
            self.viewport().update(region)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Hover is tracked here: Qt hands a delegate presses and releases, not moves.
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        job: JobView | None = index.data(JOB_ROLE) if index.isValid() else None
        hit = None
        if job is not None:
            option = QStyleOptionViewItem()
            self.initViewItemOption(option)
            option.rect = self.visualRect(index)  # type: ignore[attr-defined]
            action = self._delegate.button_at(job, option, pos)
            hit = (job.id, action) if action is not None else None
        if hit != self._delegate.hover:
            self._delegate.hover = hit
            self.viewport().update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._delegate.hover is not None:
            self._delegate.hover = None
            self.viewport().update()
        super().leaveEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.indexAt(event.pos())  # type: ignore[attr-defined]
            job: JobView | None = index.data(JOB_ROLE) if index.isValid() else None
            if job is not None:
                option = QStyleOptionViewItem()
                self.initViewItemOption(option)
                option.rect = self.visualRect(index)  # type: ignore[attr-defined]
                action = self._delegate.button_at(job, option, event.pos())  # type: ignore[attr-defined]
                if action is not None:
                    from PySide6.QtWidgets import QToolTip

                    QToolTip.showText(event.globalPos(), ACTION_TIP[action], self)  # type: ignore[attr-defined]
                    return True
        return super().viewportEvent(event)


# --- the facade -----------------------------------------------------------------------------


class JobList(QWidget):
    """The generations, newest on top: the controller feeds it `JobView`s."""

    cancelRequested = Signal(int)
    retryDownloadRequested = Signal(int)
    rerunRequested = Signal(int)
    dismissRequested = Signal(int)

    MIN_HEIGHT = 160  # the list fills the rest of the form's column, at least this tall

    def __init__(
        self, clock: Callable[[], float] = time.time, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Generations")
        self.model = JobListModel(clock, self)
        self.view = JobListView(self.model, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.delegate.actionTriggered.connect(self._on_action)
        self.model.shapeChanged.connect(self.view.scheduleDelayedItemsLayout)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.view.refresh_clock)
        self.setMinimumHeight(self.MIN_HEIGHT)

    # -- reading --

    def job(self, job_id: int) -> JobView | None:
        return self.model.job(job_id)

    def jobs(self) -> dict[int, JobView]:
        return {j.id: j for j in self.model.jobs()}

    def actions(self, job_id: int) -> list[str]:
        """The buttons a job's row shows now ([] when it is not listed)."""
        job = self.model.job(job_id)
        return actions_for(job) if job is not None else []

    # -- changing --

    def update_job(self, job: JobView) -> None:
        self.model.update_job(job)
        self._sync_timer()

    def set_error(self, job_id: int, text: str) -> None:
        self.model.set_error(job_id, text)

    def dismiss(self, job_id: int) -> None:
        self.model.remove(job_id)
        self._sync_timer()

    def stop(self) -> None:
        self._timer.stop()
        self.model.stop()
        if self.view.menu is not None:
            self.view.menu.close()

    def _sync_timer(self) -> None:
        if self.model.any_active():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def _on_action(self, job_id: int, action: str) -> None:
        if action == "cancel":
            self.cancelRequested.emit(job_id)
        elif action == "retry":
            self.retryDownloadRequested.emit(job_id)
        elif action == "rerun":
            self.rerunRequested.emit(job_id)
        elif action == "dismiss":
            self.dismiss(job_id)
            self.dismissRequested.emit(job_id)

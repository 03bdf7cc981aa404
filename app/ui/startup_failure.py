"""The window shown when Switchboard cannot start on its data folder.

Start-up always ends in a window: a damaged database, a file that is not a database, a newer
schema, a database locked by another program, a read-only data folder, a full disk or an
unwritable log folder is explained here in plain words, with the safe actions as buttons:

- "Restore <backup>"          only when real `*.bak-v*` copies exist; the damaged file is moved
                              aside (`<name>.damaged-<time>`), never deleted
- "Open read-only"            when the database can be read (`mode=ro`): history, no writing
- "Try again"                 for a lock or a full disk, once the user has acted
- "Continue"                  when only the log folder failed (the log went elsewhere)
- "Choose another data folder…", "Open data folder", "Quit"

`describe(exc, data_dir)` turns the exception into a `StartupProblem` (pure, no widgets); the
window emits `chosen(action, argument)` and never runs a nested event loop: the composition
root awaits the signal (see app.main).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SwitchboardError, redact

# Actions the window can choose; the composition root acts on them.
RESTORE = "restore"
READ_ONLY = "read-only"
RETRY = "retry"
CONTINUE = "continue"
CHOOSE = "choose"
QUIT = "quit"


@dataclass(frozen=True)
class StartupProblem:
    """What went wrong at start-up and which safe actions apply."""

    kind: str
    title: str
    message: str
    advice: str
    data_dir: Path
    db_path: Path | None = None
    backups: tuple[Path, ...] = ()
    can_read_only: bool = False
    can_retry: bool = False
    can_continue: bool = False
    detail: str | None = None
    notes: tuple[str, ...] = field(default=())


_TITLES = {
    "damaged": "Your database is damaged",
    "not-a-database": "The database file is not a Switchboard database",
    "newer-schema": "This database needs a newer Switchboard",
    "locked": "The database is in use by another program",
    "read-only": "The data folder is read-only",
    "disk-full": "The disk is full",
    "log-unwritable": "The log folder cannot be written",
    "io-error": "The disk reported an error",
    "already-running": "Switchboard is already running",
}


# What happened, in plain words, where the error's own sentence is the generic one of any write
# failure (its advice would repeat what the window's buttons and advice already say).
_WHAT = {
    "damaged": "{name} is damaged: SQLite cannot read part of it.",
    "disk-full": "The disk holding {folder} is full, so Switchboard cannot write its database.",
    "locked": "Another program holds a lock on {name}, so Switchboard can neither read nor "
    "write it.",
    "read-only": "The data folder {folder} is read-only (a read-only drive or mount, or its "
    "permissions), so Switchboard cannot save anything there.",
    "io-error": "The disk reported an error while reading {name} ({detail}).",
}


# Failures a backup copy can cure (not a lock, a full disk or a newer schema).
_RESTORABLE = ("damaged", "not-a-database", "migration-failed", "unopenable")


def kind_of_os_error(exc: OSError) -> str:
    """The start-up failure kind for an OSError raised on the data folder."""
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", -1):
        return "disk-full"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        return "read-only"
    return "unopenable"


def describe(
    exc: BaseException,
    data_dir: Path,
    *,
    db_path: Path | None = None,
    backups: tuple[Path, ...] = (),
    can_read_only: bool = False,
    notes: tuple[str, ...] = (),
) -> StartupProblem:
    """The problem to show for an exception raised while opening the data folder."""
    from app.core.store.db import failure_kind

    kind = failure_kind(exc) if isinstance(exc, SwitchboardError) else getattr(exc, "kind", None)
    if isinstance(exc, OSError):
        kind = kind or kind_of_os_error(exc)
        what = (
            f"Switchboard could not use its data folder {data_dir}: "
            f"{exc.strerror or exc}."
        )
        detail: str | None = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, SwitchboardError):
        kind = kind or "unopenable"
        what = exc.user_message
        detail = exc.detail
    else:
        kind = kind or "unopenable"
        what = str(exc)
        detail = type(exc).__name__
    name = db_path.name if db_path is not None else "switchboard.db"
    generic = getattr(exc, "generic", False) or isinstance(exc, OSError)
    if generic and kind in _WHAT:
        what = _WHAT[kind].format(name=name, folder=data_dir, detail=detail or "")
    advice: list[str] = []
    if backups and kind in _RESTORABLE:
        advice.append(
            f"Restore the backup copy {backups[0].name}: the current {name} is moved aside "
            "(renamed, not deleted), so nothing is lost."
        )
    elif kind in ("damaged", "not-a-database"):
        advice.append(
            f"There is no backup copy (*.bak-v*) in the data folder. Keep {name} for recovery; "
            "to start afresh in this folder, move it away first."
        )
    # newer-schema: the error's own sentence already says "update", and that it is untouched.
    if kind == "locked":
        advice.append(
            "Quit the other program (a second Switchboard, a backup or sync tool, an SQLite "
            "browser), then press Try again."
        )
    if kind == "disk-full":
        advice.append("Free some disk space, then press Try again.")
    if kind == "read-only":
        advice.append(
            "Make the folder writable (or mount it read-write), then start Switchboard again."
        )
    if kind == "log-unwritable":
        advice.append(
            "You can continue. To get the log back in the data folder, fix that folder (its "
            "permissions, or a file in its place)."
        )
    if can_read_only:
        advice.append("You can also open your history read-only: reading works, sending does not.")
    advice.append("Choose another data folder to start with a different set of conversations.")
    return StartupProblem(
        kind=kind,
        title=_TITLES.get(kind, "Switchboard could not open its data folder"),
        message=redact(what),
        advice=" ".join(advice),
        data_dir=data_dir,
        db_path=db_path,
        backups=backups if kind in _RESTORABLE else (),
        can_read_only=can_read_only,
        can_retry=kind in ("locked", "disk-full", "io-error", "already-running"),
        can_continue=kind == "log-unwritable",
        detail=redact(detail) if detail else None,
        notes=notes,
    )


class StartupFailureWindow(QWidget):
    """A top-level window explaining a start-up failure; emits `chosen(action, argument)`.

    `argument` is the backup Path for RESTORE, the new folder Path for CHOOSE, else None.
    Closing the window is QUIT.
    """

    chosen = Signal(str, object)

    def __init__(self, problem: StartupProblem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problem = problem
        self._done = False
        self.setWindowTitle(f"Switchboard — {problem.title}")
        self.setAccessibleName("Start-up problem")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)

        self.title_label = QLabel(problem.title)
        self.title_label.setProperty("role", "heading")
        self.title_label.setAccessibleName("Problem")
        layout.addWidget(self.title_label)
        self.message_label = QLabel(problem.message)
        self.message_label.setWordWrap(True)
        self.message_label.setAccessibleName("What happened")
        layout.addWidget(self.message_label)
        self.advice_label = QLabel(problem.advice)
        self.advice_label.setWordWrap(True)
        self.advice_label.setAccessibleName("What to do")
        layout.addWidget(self.advice_label)
        for note in problem.notes:
            label = QLabel(note)
            label.setWordWrap(True)
            label.setProperty("role", "muted")
            layout.addWidget(label)
        folder = QLabel(f"Data folder: {problem.data_dir}")
        folder.setProperty("role", "muted")
        folder.setWordWrap(True)
        folder.setAccessibleName("Data folder")
        layout.addWidget(folder)
        self.details: QPlainTextEdit | None = None
        if problem.detail:
            self.details = QPlainTextEdit(problem.detail)
            self.details.setReadOnly(True)
            self.details.setMaximumHeight(54)
            self.details.setAccessibleName("Technical details")
            layout.addWidget(self.details)

        self.buttons: dict[str, QPushButton] = {}
        primary = QHBoxLayout()
        if problem.backups:
            self._add(primary, RESTORE, f"Restore {problem.backups[0].name}")
        if problem.can_continue:
            self._add(primary, CONTINUE, "Continue")
        if problem.can_retry:
            self._add(primary, RETRY, "Try again")
        if problem.can_read_only:
            self._add(primary, READ_ONLY, "Open read-only")
        primary.addStretch(1)
        layout.addLayout(primary)
        secondary = QHBoxLayout()
        self._add(secondary, CHOOSE, "Choose another data folder…")
        self._add(secondary, "open-folder", "Open data folder")
        if problem.detail:
            self._add(secondary, "copy", "Copy details")
        secondary.addStretch(1)
        self._add(secondary, QUIT, "Quit")
        layout.addLayout(secondary)
        first = next(iter(self.buttons.values()))
        first.setDefault(True)
        first.setFocus()
        self._folder_dialog: QFileDialog | None = None

    def _add(self, row: QHBoxLayout, action: str, text: str) -> None:
        button = QPushButton(text)
        button.setAccessibleName(text)
        button.clicked.connect(lambda: self._on_clicked(action))
        row.addWidget(button)
        self.buttons[action] = button

    def _on_clicked(self, action: str) -> None:
        if action == "open-folder":
            self.open_data_folder()
        elif action == "copy":
            QGuiApplication.clipboard().setText(
                f"{self.problem.title}\n{self.problem.message}\n{self.problem.detail or ''}"
            )
        elif action == CHOOSE:
            self.choose_folder()
        elif action == RESTORE:
            self._choose(RESTORE, self.problem.backups[0])
        else:
            self._choose(action, None)

    def open_data_folder(self) -> None:
        target = self.problem.data_dir
        while not target.exists() and target != target.parent:
            target = target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.fspath(target)))

    def choose_folder(self) -> QFileDialog:
        """Open a folder picker (non-blocking); choosing a folder emits `chosen(CHOOSE, path)`."""
        dialog = QFileDialog(self, "Choose a data folder for Switchboard")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda path: self._choose(CHOOSE, Path(path)))
        self._folder_dialog = dialog
        dialog.open()
        return dialog

    def _choose(self, action: str, argument: object) -> None:
        if self._done:
            return
        self._done = True
        self.chosen.emit(action, argument)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self._choose(QUIT, None)
        event.accept()

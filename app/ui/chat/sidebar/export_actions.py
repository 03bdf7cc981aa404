"""Exporting and importing chat threads from the UI: File menu actions and the flows behind them.

`ThreadTransfer` owns three actions — Export thread…, Export all threads…, Import threads… — and
the coroutines they run. Each flow asks for a file (a `QFileDialog` shown with `open()`, never
`exec()`), then calls a `*_to`/`import_from` coroutine that does the work off the UI thread
(`app.core.services.export` / `importers`). Tests call those coroutines with a path directly.

- Export thread: Markdown, HTML or JSON, as chosen in the dialog's file-type list: the suffix
  follows the chosen type (`path_for_filter`), and the format follows the suffix.
- Export all threads: one `switchboard-archive` JSON file (`export_archive`).
- Import threads: our archive/thread JSON or ChatGPT's `conversations.json`, told apart by the
  document's shape (`detect_import_kind`), then `import_archive` / `import_chatgpt`.

The dialog opens in the folder last used (the `LAST_FOLDER_SETTING`), else in the documents
folder when it exists, else in the home folder (`start_folder`).

Progress and results go to the status bar; a failure is shown in a message box with the
sentence saying what to do next (and the status bar), never swallowed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.errors import ConfigError, StorageError, SwitchboardError

if TYPE_CHECKING:
    from app.core.services.importers import ImportReport
    from app.ui.context import AppContext

__all__ = [
    "LAST_FOLDER_SETTING",
    "ImportKind",
    "ThreadTransfer",
    "detect_import_kind",
    "path_for_filter",
    "start_folder",
    "suggested_file_name",
]

log = logging.getLogger(__name__)

ImportKind = Literal["archive", "chatgpt"]

EXPORT_THREAD_FILTER = "Markdown (*.md);;HTML page (*.html);;Switchboard JSON (*.json)"
EXPORT_ALL_FILTER = "Switchboard archive (*.json)"
IMPORT_FILTER = "Chat exports (*.json);;All files (*)"
LAST_FOLDER_SETTING = "export/lastFolder"
# Suffixes an export may carry; another one is replaced when a file type is chosen.
_EXPORT_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".json")


def filter_suffixes(name_filter: str) -> list[str]:
    """The suffixes of one name filter: "HTML page (*.html *.htm)" -> [".html", ".htm"]."""
    return [m.lower() for m in re.findall(r"\*(\.[\w.]+)", name_filter)]


def path_for_filter(path: Path, name_filter: str) -> Path:
    """`path` with the suffix of the chosen file type: the type chosen in the dialog decides
    (HTML chosen -> .html written), whatever suffix the proposed name had."""
    suffixes = filter_suffixes(name_filter)
    if not suffixes or path.suffix.lower() in suffixes:
        return path
    if path.suffix.lower() in _EXPORT_SUFFIXES:
        return path.with_suffix(suffixes[0])
    return path.with_name(path.name + suffixes[0])


def start_folder(remembered: str, documents: str, home: Path) -> Path:
    """Where a file dialog opens: the folder used last, else documents, else home — the first
    that exists (a fresh Linux account may have no ~/Documents)."""
    for candidate in (remembered, documents):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return home


def detect_import_kind(document: Any) -> ImportKind:
    """Which importer reads `document`: our export (`format` names it) or ChatGPT's list of
    conversations (each with a `mapping`). Raises ConfigError for anything else."""
    if isinstance(document, dict) and "format" in document:
        return "archive"
    if isinstance(document, dict) and "mapping" in document:
        return "chatgpt"
    if isinstance(document, list) and all(isinstance(c, dict) and "mapping" in c for c in document[:20]):
        return "chatgpt"
    raise ConfigError(
        "This file is neither a Switchboard export nor a ChatGPT conversations.json, so nothing "
        "was imported. Choose a file saved with File → Export all threads…, or the "
        "conversations.json from a ChatGPT data export."
    )


def suggested_file_name(title: str, suffix: str) -> str:
    """A file name from a thread title: safe characters only, at most ~60 of them."""
    stem = "-".join(re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).split())
    return f"{(stem[:60] or 'thread').strip('-') or 'thread'}.{suffix}"


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path.name} was not found. Choose the file again.") from None
    except OSError as exc:
        raise StorageError(
            f"{path.name} could not be read. Check that you may read it and try again.",
            detail=exc.strerror,
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name} is not a text (UTF-8 JSON) file; nothing was imported.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path.name} is not valid JSON (line {exc.lineno}); nothing was imported. Check "
            "that the download finished, or export it again."
        ) from None
    except RecursionError:  # json's C scanner recurses per nesting level
        raise ConfigError(
            f"{path.name} is nested far too deeply to be an export; nothing was imported."
        ) from None


class ThreadTransfer(QObject):
    """Export/import actions and flows. `tab` returns the Chat tab (or None) when asked."""

    exported = Signal(str)  # path written
    imported = Signal(object)  # ImportReport
    failed = Signal(str)  # the sentence shown

    def __init__(
        self,
        parent: QWidget,
        ctx: AppContext | None = None,
        *,
        tab: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.ctx: AppContext | None = None
        self._tab = tab or (lambda: None)
        self._boxes: set[QMessageBox] = set()

        self.export_thread_action = QAction("Export &thread…", self)
        self.export_thread_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export_thread_action.setToolTip("Save the open thread as Markdown, HTML or JSON")
        self.export_all_action = QAction("Export &all threads…", self)
        self.export_all_action.setToolTip("Save every thread (with all branches) to one JSON archive")
        self.import_action = QAction("Import t&hreads…", self)
        self.import_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.import_action.setToolTip("Add threads from a Switchboard archive or a ChatGPT conversations.json")
        for action in self.actions():
            action.setEnabled(False)
        self.export_thread_action.triggered.connect(lambda: self._start(self.export_thread_flow()))
        self.export_all_action.triggered.connect(lambda: self._start(self.export_all_flow()))
        self.import_action.triggered.connect(lambda: self._start(self.import_flow()))
        if ctx is not None:
            self.attach(ctx)

    def actions(self) -> list[QAction]:
        return [self.export_thread_action, self.export_all_action, self.import_action]

    def attach(self, ctx: AppContext) -> None:
        """Enable the actions once the services exist."""
        self.ctx = ctx
        for action in self.actions():
            action.setEnabled(True)

    def _context(self) -> AppContext:
        if self.ctx is None:
            raise ConfigError("Switchboard is still starting. Try again in a moment.")
        return self.ctx

    def _start(self, coro: Any) -> None:
        if self.ctx is None:
            coro.close()
            return
        from app.ui.async_bridge import spawn_from_slot

        spawn_from_slot(self.ctx, coro, on_error=self._show_error)

    def _status(self, text: str) -> None:
        if self.ctx is not None:
            self.ctx.events.statusMessage.emit(text)

    def _show_error(self, exc: SwitchboardError) -> None:
        """A failure: the sentence in a message box (shown with open()) and in the status bar."""
        sentence = exc.user_message
        self._status(sentence)
        self.failed.emit(sentence)
        box = QMessageBox(self._parent)
        box.setObjectName("threadTransferError")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Export or import failed")
        box.setAccessibleName("Export or import failed")
        box.setText(sentence)
        if exc.detail:
            box.setInformativeText(exc.detail)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._boxes.add(box)
        box.finished.connect(lambda _r: self._boxes.discard(box))
        box.open()

    def start_folder(self) -> Path:
        from PySide6.QtCore import QStandardPaths

        settings = self.ctx.settings if self.ctx is not None else None
        remembered = str(settings.value(LAST_FOLDER_SETTING, "") or "") if settings is not None else ""
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return start_folder(remembered, documents, Path.home())

    def _remember_folder(self, path: Path) -> None:
        if self.ctx is not None:
            self.ctx.settings.setValue(LAST_FOLDER_SETTING, str(path.parent))

    async def _choose(self, caption: str, *, save: bool, name_filter: str, default_name: str = "",
                      default_suffix: str = "") -> Path | None:
        """A file dialog (shown with open()); for a save, the suffix follows the chosen type."""
        from app.ui.async_bridge import file_dialog, run_file_dialog

        folder = self.start_folder()
        dlg = file_dialog(
            self._parent, caption, save=save, name_filter=name_filter,
            default_suffix=default_suffix if save else "",
        )
        dlg.setDirectory(str(folder))
        if save:
            if default_name:
                dlg.selectFile(str(folder / default_name))

            def on_filter(chosen: str) -> None:
                # Choosing "HTML page" renames the proposed file to .html (and a name typed
                # without a suffix gets this type's).
                suffixes = filter_suffixes(chosen)
                if suffixes:
                    dlg.setDefaultSuffix(suffixes[0].lstrip("."))
                files = dlg.selectedFiles()
                if files and Path(files[0]).name:
                    dlg.selectFile(path_for_filter(Path(files[0]), chosen).name)

            dlg.filterSelected.connect(on_filter)
        chosen = await run_file_dialog(dlg)
        if chosen is None:
            return None
        path = Path(chosen[0])
        if save:
            path = path_for_filter(path, chosen[1])
        self._remember_folder(path)
        return path

    # --- flows (a file dialog, then the work) -------------------------------------------------

    async def export_thread_flow(self, thread_id: int | None = None) -> Path | None:
        """Ask where to save the open (or given) thread, then export it."""
        ctx = self._context()
        if thread_id is None:
            tab = self._tab()
            thread_id = getattr(tab, "current_thread_id", None)
        if thread_id is None:
            raise ConfigError("Open a thread first, then export it (or choose Export all threads…).")
        thread = await ctx.threads.get_thread(thread_id, include_deleted=False)
        if thread is None:
            raise ConfigError("That thread no longer exists; choose another one to export.")
        dest = await self._choose(
            "Export thread",
            save=True,
            name_filter=EXPORT_THREAD_FILTER,
            default_name=suggested_file_name(thread.title, "md"),
            default_suffix="md",
        )
        return None if dest is None else await self.export_thread_to(thread_id, dest)

    async def export_all_flow(self) -> int | None:
        dest = await self._choose(
            "Export all threads",
            save=True,
            name_filter=EXPORT_ALL_FILTER,
            default_name="switchboard-threads.json",
            default_suffix="json",
        )
        return None if dest is None else await self.export_all_to(dest)

    async def import_flow(self) -> ImportReport | None:
        source = await self._choose("Import threads", save=False, name_filter=IMPORT_FILTER)
        return None if source is None else await self.import_from(source)

    # --- the work (called by the flows, and by tests with a path) ---------------------------

    async def export_thread_to(self, thread_id: int, dest: Path) -> Path:
        """Write one thread to `dest`; the format follows the suffix (.md, .html, else JSON)."""
        from app.core.services.export import export_thread, format_for_path

        ctx = self._context()
        fmt = format_for_path(dest)
        label = {"markdown": "Markdown", "html": "HTML", "json": "JSON"}[fmt]
        self._status(f"Exporting the thread as {label}…")
        try:
            path = await export_thread(ctx.threads, thread_id, dest, fmt=fmt)
        except KeyError:
            raise ConfigError("That thread no longer exists; choose another one to export.") from None
        self._status(f"Exported the thread as {label} to {path}.")
        self.exported.emit(str(path))
        return path

    async def export_all_to(self, dest: Path) -> int:
        """Write every live thread (archived included) to one archive JSON file."""
        from app.core.services.export import export_archive

        ctx = self._context()
        self._status("Exporting all threads…")
        count = await export_archive(ctx.threads, dest)
        self._status(f"Exported {count} thread{'s' if count != 1 else ''} to {dest}.")
        self.exported.emit(str(dest))
        return count

    async def import_from(self, source: Path) -> ImportReport:
        """Import a Switchboard archive/thread or a ChatGPT conversations.json, then show them."""
        from app.core.services.importers import import_archive, import_chatgpt

        ctx = self._context()
        self._status(f"Importing {source.name}…")
        document = await asyncio.to_thread(_read_json, source)
        kind = detect_import_kind(document)
        if kind == "archive":
            report = await import_archive(ctx.threads, document)
        else:
            report = await import_chatgpt(ctx.threads, document)
        what = "ChatGPT conversations" if kind == "chatgpt" else "Switchboard export"
        if report.threads:
            summary = (
                f"Imported {report.threads} thread{'s' if report.threads != 1 else ''} "
                f"({report.messages} messages) from the {what} {source.name}."
            )
        else:
            summary = f"{source.name} holds no conversations with messages; nothing was imported."
        # Repairs made and duplicates skipped (importers.ImportReport.notes) follow the count.
        self._status(" ".join([summary, *report.notes]))
        tab = self._tab()
        reload = getattr(tab, "reload_threads", None)
        if reload is not None:
            try:
                await reload()
            except SwitchboardError as exc:  # the import itself succeeded
                log.warning("could not reload threads after import: %s", exc)
        self.imported.emit(report)
        return report

"""The Notes tab: folders, index model and progress on the left; the search row on top; results,
and the preview (or the note editor) beside them.

The tab only wires: it is given the NotesService, its own TaskOwner and a few callables (profiles,
a model lister, the chat target, the thread creator), builds the widgets and the five controllers
(sources, indexing, search, editor, ask) and connects them. For the main window it offers
`askInChatRequested(thread_id, question)`, `save_as_note(title, text)` and `open_note_link(url)`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SwitchboardError
from app.ui.async_bridge import close_if_unstarted, confirm, signal_future
from app.ui.empty_state import EmptyStateCard
from app.ui.notes.ask_controller import AskController
from app.ui.notes.editor_controller import EditorController
from app.ui.notes.events import NotesSignals
from app.ui.notes.indexing_controller import IndexingController
from app.ui.notes.note_editor import NoteEditor, NotesList, UndoBar
from app.ui.notes.opener import Opener
from app.ui.notes.preview import PreviewPane
from app.ui.notes.progress_panel import ProgressPanel
from app.ui.notes.results_model import HitsModel
from app.ui.notes.results_view import ResultsView
from app.ui.notes.search_bar import SearchBar
from app.ui.notes.search_controller import SearchController
from app.ui.notes.sources_controller import SourcesController
from app.ui.notes.sources_panel import SourcesPanel

if TYPE_CHECKING:
    import asyncio

    from app.core.providers import ProviderProfile
    from app.core.services.notes import AppNote, NoteHit, NoteSource, NotesService
    from app.core.services.tasks import TaskOwner

__all__ = ["EmptyState", "NotesTab"]

log = logging.getLogger(__name__)


class EmptyState(EmptyStateCard):
    """What the results area says when it has nothing to list, and the action that helps."""

    addFolderClicked = Signal()
    newNoteClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notes empty")
        self.add_button = QPushButton("Add a folder…")
        self.add_button.setDefault(True)
        self.new_button = QPushButton("Write a note")
        self._lay_out([self.add_button, self.new_button], body_width=420)
        self.add_button.clicked.connect(self.addFolderClicked)
        self.new_button.clicked.connect(self.newNoteClicked)
        self.state = ""
        self.show_no_sources()

    def show_no_sources(self) -> None:
        self.state = "no-sources"
        self.title.setText("No notes yet")
        self.body.setText(
            "Add a folder of notes (an Obsidian vault, a docs tree, a folder of PDFs) or write a "
            "note here. Then search them by meaning, not only by words."
        )
        self.add_button.show()
        self.new_button.show()

    def show_ready(self) -> None:
        self.state = "ready"
        self.title.setText("Search your notes")
        self.body.setText(
            "Type what you remember — “that note about the flaky VPN” — and press Enter. "
            "Ctrl+F comes back here from anywhere in the tab."
        )
        self.add_button.hide()
        self.new_button.hide()

    def show_no_results(self, query: str) -> None:
        self.state = "no-results"
        self.title.setText("No results")
        self.body.setText(
            f"Nothing in your notes matches “{query}”. Try other words, or switch to "
            "“Meaning” to search by sense rather than by words."
        )
        self.add_button.hide()
        self.new_button.hide()


class NotesTab(QWidget):
    """Sources + progress + my notes | search row, results | preview / editor."""

    askInChatRequested = Signal(int, str)  # thread id, question: the chat tab opens and sends it
    problemShown = Signal(str)

    def __init__(
        self,
        service: NotesService,
        tasks: TaskOwner,
        *,
        profiles: Callable[[], Sequence[ProviderProfile]],
        list_models: Callable[[str], Awaitable[list[str]]] | None = None,
        chat_target: Callable[[], tuple[str, str] | None] = lambda: None,
        create_thread: Callable[..., Awaitable[Any]] | None = None,
        opener: Opener | None = None,
        choose_folder: Callable[[], Awaitable[str | None]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notes")
        self.service = service
        self.tasks = tasks
        self._closed = False
        self.signals = NotesSignals(service, self)

        # -- widgets --
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 8)
        outer.setSpacing(8)
        self.search_bar = SearchBar()
        outer.addWidget(self.search_bar)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        self.problem_label.setProperty("role", "error")
        self.problem_label.setAccessibleName("Notes problem")
        self.problem_label.hide()
        outer.addWidget(self.problem_label)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setProperty("role", "muted")
        self.message_label.setAccessibleName("Notes message")
        outer.addWidget(self.message_label)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setChildrenCollapsible(False)
        left = QWidget()
        left_col = QVBoxLayout(left)
        left_col.setContentsMargins(0, 0, 8, 0)
        self.sources_panel = SourcesPanel()
        left_col.addWidget(self.sources_panel)
        self.progress_panel = ProgressPanel()
        left_col.addWidget(self.progress_panel)
        self.notes_list = NotesList()
        left_col.addWidget(self.notes_list, 1)
        left_scroll = QScrollArea()
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setWidget(left)
        # Wrapped labels take the column's width; never a sideways scrollbar.
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(330)
        self.split.addWidget(left_scroll)

        self.results_stack = QStackedWidget()
        self.empty_state = EmptyState()
        self.model = HitsModel(self)
        self.results = ResultsView()
        self.results_stack.addWidget(self.empty_state)
        self.results_stack.addWidget(self.results)
        self.results_stack.setMinimumWidth(280)
        self.split.addWidget(self.results_stack)

        self.right_stack = QStackedWidget()
        preview_page = QWidget()
        preview_col = QVBoxLayout(preview_page)
        preview_col.setContentsMargins(0, 0, 0, 0)
        self.preview = PreviewPane()
        preview_col.addWidget(self.preview, 1)
        actions = QHBoxLayout()
        self.open_button = QPushButton("Open in editor")
        self.open_button.setToolTip("Open the file at this line in your editor (Enter)")
        self.reveal_button = QPushButton("Show in folder")
        self.reveal_button.setToolTip("Show the file in the file manager")
        actions.addWidget(self.open_button)
        actions.addWidget(self.reveal_button)
        actions.addStretch(1)
        preview_col.addLayout(actions)
        self.editor = NoteEditor()
        self.right_stack.addWidget(preview_page)
        self.right_stack.addWidget(self.editor)
        self.right_stack.setMinimumWidth(320)
        self.split.addWidget(self.right_stack)
        self.split.setSizes([340, 480, 560])
        self.split.setStretchFactor(1, 1)
        self.split.setStretchFactor(2, 1)
        outer.addWidget(self.split, 1)
        self.undo_bar = UndoBar()
        outer.addWidget(self.undo_bar)

        # -- controllers --
        self.opener = opener or Opener()
        self.sources = SourcesController(
            service,
            self.spawn,
            self.sources_panel,
            profiles=profiles,
            list_models=list_models,
            confirm=lambda title, text, yes, info: confirm(
                self, title, text, yes_text=yes, informative=info
            ),
            choose_folder=choose_folder or self._choose_folder,
            dialog_parent=self,
            parent=self,
        )
        self.indexing = IndexingController(
            service, self.spawn, self.progress_panel, self.signals, parent=self
        )
        self.search = SearchController(
            service,
            self.spawn,
            self.search_bar,
            self.model,
            self.results,
            self.preview,
            self.opener,
            parent=self,
        )
        self.notes_editor = EditorController(
            service,
            self.spawn,
            self.notes_list,
            self.editor,
            self.undo_bar,
            show_editor=self.show_editor,
            parent=self,
        )
        self.ask = AskController(
            self.spawn,
            create_thread=create_thread or _no_chat,
            read_hit=service.read_hit,
            chat_target=chat_target,
            parent=self,
        )

        # -- wiring --
        for source in (self.sources, self.search, self.notes_editor, self.ask):
            source.message.connect(self.show_message)
        self.sources.indexingStarted.connect(self.indexing.follow)
        self.sources.indexingStarted.connect(lambda _id: self.show_message(""))
        self.sources.sourcesLoaded.connect(self._update_empty_state)
        self.indexing.finished.connect(lambda _job: self.spawn(self.sources.refresh()))
        self.signals.sources.connect(lambda: self.spawn(self.sources.refresh()))
        self.signals.notes.connect(lambda _note: self.spawn(self.notes_editor.refresh()))
        self.search.searched.connect(self._on_searched)
        self.search.appNoteOpened.connect(lambda nid: self.spawn(self.notes_editor.open_note(nid)))
        self.search_bar.query_edit.escapePressed.connect(self._on_query_escape)
        self.search_bar.askRequested.connect(
            lambda q: self.spawn(self.ask.ask(q, self.search.top_hits()))
        )
        self.ask.askReady.connect(self.askInChatRequested)
        self.results.escapePressed.connect(self.focus_search)
        self.open_button.clicked.connect(self.search.open_current)
        self.reveal_button.clicked.connect(self.search.reveal_current)
        self.search.previewShown.connect(self._on_preview)
        self.empty_state.addFolderClicked.connect(
            lambda: self.spawn(self.sources.add_folder_flow())
        )
        self.empty_state.newNoteClicked.connect(self.notes_editor.new_note)
        self._sync_preview_actions(None)

        for keys, slot in (
            ("Ctrl+F", self.focus_search),
            ("Ctrl+Shift+N", self.notes_editor.new_note),
            ("Ctrl+Return", self.search_bar.ask_button.click),
            ("Ctrl+Z", self._undo),
            ("Esc", self._on_escape),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        self.sources.refresh_profiles()
        self.loaded = self.spawn(self._load())

    def focus_primary(self) -> None:
        """Put the keyboard focus in the tab's main field (the host calls this when shown)."""
        self.focus_search()

    # -- tasks --

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """Run `coro` under the tab's TaskOwner; a known error is shown in the tab, a bug goes
        to the owner's error hook (the excepthook)."""

        async def guarded() -> Any:
            try:
                result = await coro
            except SwitchboardError as exc:
                log.info("notes: %s", exc)
                self.show_problem(exc.user_message)
                return None
            return result

        task = self.tasks.spawn(guarded())
        task.add_done_callback(lambda _t: close_if_unstarted(coro))
        return task

    async def _load(self) -> None:
        await self.sources.refresh()
        await self.notes_editor.refresh()
        await self.indexing.load()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.signals.close()
        self.notes_editor.close()
        await self.tasks.aclose()

    # -- what the main window calls --

    async def save_as_note(self, title: str, text: str) -> AppNote:
        """Save as note, from a chat message: a new app note, shown in the editor."""
        return await self.notes_editor.save_as_note(title, text)

    async def open_note_link(self, url: str) -> NoteHit | None:
        """A `switchboard-note://<chunk id>` link clicked in a chat answer."""
        self.show_editor(False)
        return await self.search.open_link(url)

    def refresh_profiles(self) -> None:
        self.sources.refresh_profiles()

    # -- messages --

    def show_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))
        self.problemShown.emit(text)

    def show_message(self, text: str) -> None:
        self.problem_label.hide()
        self.message_label.setText(text)

    # -- views --

    def show_editor(self, on: bool) -> None:
        self.right_stack.setCurrentWidget(self.editor if on else self.right_stack.widget(0))
        self._sync_right_pane()
        if not on:
            self.focus_search()

    def focus_search(self) -> None:
        self.search_bar.query_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_bar.query_edit.selectAll()

    def _on_query_escape(self) -> None:
        if self.search_bar.query_edit.text():
            self.search_bar.query_edit.clear()
        elif self.model.rowCount():
            self.model.clear()
            self.search_bar.ask_button.setEnabled(False)
            self.preview.clear_preview()
            self._update_empty_state(self.sources.sources)

    def _on_escape(self) -> None:
        # The tab's Esc shortcut sees the key before the focused widget does.
        if self.right_stack.currentWidget() is self.editor:
            self.show_editor(False)
        elif self.search_bar.query_edit.hasFocus():
            self._on_query_escape()
        else:
            self.focus_search()

    def _undo(self) -> None:
        if self.undo_bar.isVisible():
            self.spawn(self.notes_editor.undo_delete())

    def _on_searched(self, query: str, count: int) -> None:
        if self.right_stack.currentWidget() is self.editor and not self.editor.dirty:
            self.show_editor(False)
        if count:
            self.results_stack.setCurrentWidget(self.results)
            self.show_message(f"{count} result{'s' if count != 1 else ''} for “{query}”.")
        else:
            self.empty_state.show_no_results(query)
            self.results_stack.setCurrentWidget(self.empty_state)
            self.show_message("")
        self._sync_preview_actions(self.search.current_hit())
        self._sync_right_pane()

    def _sync_right_pane(self) -> None:
        # An empty preview beside an empty state says nothing: the pane shows with results or
        # with the editor.
        self.right_stack.setVisible(
            self.right_stack.currentWidget() is self.editor or self.model.rowCount() > 0
        )

    def _on_preview(self, shown: Any) -> None:
        self._sync_preview_actions(shown.hit)
        if self.model.rowCount():
            self.results_stack.setCurrentWidget(self.results)
        self._sync_right_pane()

    def _sync_preview_actions(self, hit: NoteHit | None) -> None:
        on_disk = hit is not None and bool(hit.path)
        self.open_button.setEnabled(hit is not None)
        self.open_button.setText(
            "Edit note" if hit is not None and not hit.path else "Open in editor"
        )
        self.reveal_button.setEnabled(on_disk)

    def _update_empty_state(self, sources: Sequence[NoteSource]) -> None:
        if self.model.rowCount():
            return
        has_text = any(s.kind == "folder" or s.chunks or s.files for s in sources)
        if has_text or self.notes_list.notes:
            self.empty_state.show_ready()
        else:
            self.empty_state.show_no_sources()
        self.results_stack.setCurrentWidget(self.empty_state)
        self._sync_right_pane()

    async def _choose_folder(self) -> str | None:
        dialog = QFileDialog(self, "Add a folder of notes")
        dialog.setObjectName("folderChooser")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        done = signal_future(dialog.finished)
        dialog.open()
        try:
            result = await done
            files = dialog.selectedFiles()
            return files[0] if result and files else None
        finally:
            dialog.deleteLater()


async def _no_chat(*_args: Any, **_kwargs: Any) -> Any:
    raise SwitchboardError("Chat is not available in this build, so there is nobody to ask.")

"""Helpers for the Notes tab tests: awaiting conditions without sleeping, finding dialogs, and an
in-memory stand-in for NotesService (the same public surface and records) for the UI-only tests;
the tests of test_real_service.py use the real service over SQLite and the loopback server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from app.core.errors import ConfigError
from app.core.jobs import JobRecord
from app.core.services.notes import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    INDEX_KIND,
    AppNote,
    HitPreview,
    IndexEstimate,
    IndexProgress,
    IndexSpec,
    NoteHit,
    NotesEvent,
    NoteSource,
    RebuildCost,
)
from app.ui.async_bridge import signal_future


async def until(
    signal: SignalInstance, condition: Callable[[], bool], timeout: float = 8.0
) -> None:
    """Await emissions of `signal` until `condition()` holds (checked first)."""

    async def loop() -> None:
        while not condition():
            await signal_future(signal)

    await asyncio.wait_for(loop(), timeout)


async def activate(window: Any) -> None:
    """Make `window` the active window (shortcuts only fire there), awaiting the focus change."""
    app = QApplication.instance()
    if QApplication.activeWindow() is not window and isinstance(app, QApplication):
        changed = signal_future(app.focusWindowChanged)
        window.activateWindow()
        await changed


async def next_turns(n: int = 3) -> None:
    """Let already-scheduled callbacks run (a few loop turns, no waiting on time)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def find_box(timeout: float = 5.0) -> QMessageBox:
    """The confirmation box the tab opened (async_bridge.confirm names it "confirmBox")."""
    return await _find(
        lambda w: isinstance(w, QMessageBox) and w.objectName() == "confirmBox" and w.isVisible(),
        timeout,
    )


async def find_dialog(name: str, timeout: float = 5.0) -> QDialog:
    return await _find(
        lambda w: isinstance(w, QDialog) and w.objectName() == name and w.isVisible(), timeout
    )


async def _find(pred: Callable[[Any], bool], timeout: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for w in QApplication.topLevelWidgets():
            if pred(w):
                return w
        await asyncio.sleep(0)
    raise AssertionError("dialog not shown")


def click_box(box: QMessageBox, text: str) -> None:
    for button in box.buttons():
        if button.text() == text:
            button.click()
            return
    raise AssertionError(f"no button {text!r} in {[b.text() for b in box.buttons()]}")


class FakeNotesService:
    """In memory, same surface as NotesService. Keyword search matches words of the query;
    "indexing" a source emits progress and job events like the real one, step by step, with
    a gate the test opens so pause / cancel can be exercised mid-run."""

    def __init__(self, *, provider: str = "Demo (offline)") -> None:
        self.provider = provider
        self.listeners: list[Callable[[NotesEvent], None]] = []
        self.sources: list[NoteSource] = [NoteSource(id=1, kind="app", path="")]
        self.files: dict[int, list[tuple[str, str]]] = {}  # source id -> (path, text)
        self.notes: dict[int, AppNote] = {}
        self.spec: IndexSpec | None = None
        self.specs: list[IndexSpec] = []
        self.jobs_: dict[int, JobRecord] = {}
        self.calls: list[tuple[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False
        self._progress: dict[int, IndexProgress] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # lifecycle
    def subscribe(self, fn: Callable[[NotesEvent], None]) -> Callable[[], None]:
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn) if fn in self.listeners else None

    def _emit(self, event: NotesEvent) -> None:
        for fn in list(self.listeners):
            fn(event)

    async def recover(self) -> list[JobRecord]:
        return []

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # sources
    async def add_folder(
        self, path: Any, excludes: Any = (), max_file_size: int = 5 << 20
    ) -> NoteSource:
        self.calls.append(("add_folder", (str(path), list(excludes), max_file_size)))
        if any(s.path == str(path) for s in self.sources):
            raise ConfigError("This folder is already in Notes.")
        files = [
            (str(p), p.read_text("utf-8"))
            for p in sorted(Path(path).rglob("*.md"))
            if p.stat().st_size <= max_file_size
        ]
        source = NoteSource(
            id=max(s.id for s in self.sources) + 1,
            kind="folder",
            path=str(path),
            excludes=list(excludes),
            max_file_size=max_file_size,
        )
        self.sources.append(source)
        self.files[source.id] = files
        return source

    async def update_folder(
        self, source_id: int, *, excludes: Any = None, max_file_size: Any = None
    ) -> NoteSource:
        s = next(s for s in self.sources if s.id == source_id)
        if excludes is not None:
            s.excludes = list(excludes)
        if max_file_size is not None:
            s.max_file_size = max_file_size
        self.calls.append(("update_folder", (source_id, s.excludes, s.max_file_size)))
        return s

    async def remove_folder(self, source_id: int) -> None:
        self.calls.append(("remove_folder", source_id))
        self.sources = [s for s in self.sources if s.id != source_id]
        self.files.pop(source_id, None)

    async def list_sources(self) -> list[NoteSource]:
        return list(self.sources)

    async def estimate(self, source_id: int | None = None) -> IndexEstimate:
        if self.spec is None:
            raise ConfigError("Choose the index model first.")
        files = [f for sid, fs in self.files.items() if source_id in (None, sid) for f in fs]
        tokens = sum(len(t) // 4 for _p, t in files)
        return IndexEstimate(
            len(files),
            tokens,
            sum(len(t) for _p, t in files),
            self.provider,
            self.spec.profile_id,
            self.spec.model,
        )

    # indexes
    async def index_spec(self) -> IndexSpec | None:
        return self.spec

    async def indexes(self) -> list[IndexSpec]:
        return list(self.specs)

    async def set_index_model(
        self, profile_id: str, model: str, dim: int | None = None
    ) -> RebuildCost:
        self.calls.append(("set_index_model", (profile_id, model, dim)))
        spec = next(
            (s for s in self.specs if (s.profile_id, s.model, s.dim) == (profile_id, model, dim)),
            None,
        )
        if spec is None:
            spec = IndexSpec(id=len(self.specs) + 1, profile_id=profile_id, model=model, dim=dim)
            self.specs.append(spec)
        for s in self.specs:
            s.active = s is spec
        self.spec = spec
        chunks = sum(s.chunks for s in self.sources) - spec.vectors
        return RebuildCost(spec, max(0, chunks), max(0, chunks) * 100, self.provider)

    # indexing
    async def index(self, source_id: int | None = None) -> int:
        self.calls.append(("index", source_id))
        job = JobRecord(
            id=len(self.jobs_) + 1,
            kind=INDEX_KIND,
            state="running",
            params={"source_id": source_id},
            created_at=time.time(),
            updated_at=time.time(),
        )
        self.jobs_[job.id] = job
        self._emit(NotesEvent("job", job=job))
        self._start(job)
        return job.id

    def _start(self, job: JobRecord) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: JobRecord) -> None:
        sid = job.params.get("source_id")
        files = [f for s, fs in self.files.items() if sid in (None, s) for f in fs]
        total = len(files)
        for i in range(total):
            await self.gate.wait()
            if job.state != "running":
                return
            p = IndexProgress(
                job.id,
                "embedding",
                files_done=i + 1,
                files_total=total,
                chunks_done=i + 1,
                chunks_total=total,
                tokens=(i + 1) * 100,
                eta_seconds=float(total - i - 1),
            )
            self._progress[job.id] = p
            self._emit(NotesEvent("progress", progress=p))
            await asyncio.sleep(0)
        if self.fail_next:
            self.fail_next = False
            p = IndexProgress(
                job.id, "embedding", total, total, total - 1, total, total * 100, failed_batches=1
            )
            self._emit(NotesEvent("progress", progress=p))
            self._set(job, "failed", "1 batch could not be embedded: the provider answered 503.")
            return
        for s in self.sources:
            if sid in (None, s.id) and s.kind == "folder":
                s.files = len(self.files.get(s.id, []))
                s.chunks = s.files
                s.last_indexed_at = time.time()
        if self.spec is not None:
            self.spec.vectors = sum(s.chunks for s in self.sources)
        self._emit(
            NotesEvent(
                "progress",
                progress=IndexProgress(job.id, "done", total, total, total, total, total * 100),
            )
        )
        self._set(job, "completed")

    def _set(self, job: JobRecord, state: Any, error: str | None = None) -> None:
        job.state = state
        job.error = error
        job.updated_at = time.time()
        self._emit(NotesEvent("job", job=job))

    async def pause(self, job_id: int) -> None:
        self.calls.append(("pause", job_id))
        self._set(self.jobs_[job_id], "interrupted", "Paused.")

    async def resume(self, job_id: int) -> None:
        self.calls.append(("resume", job_id))
        job = self.jobs_[job_id]
        self._set(job, "running")
        self._start(job)

    async def cancel(self, job_id: int) -> None:
        self.calls.append(("cancel", job_id))
        self._set(self.jobs_[job_id], "cancelled")

    async def retry_failed(self, job_id: int) -> None:
        self.calls.append(("retry_failed", job_id))
        job = self.jobs_[job_id]
        self._set(job, "running")
        self._start(job)

    async def jobs(self, *, active_only: bool = False, limit: int = 50) -> list[JobRecord]:
        return list(self.jobs_.values())[-limit:]

    async def wait(self, job_id: int) -> JobRecord | None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.jobs_.get(job_id)

    def progress(self, job_id: int) -> IndexProgress | None:
        return self._progress.get(job_id)

    async def watch(self, source_id: int, on: bool = True) -> None:
        self.calls.append(("watch", (source_id, on)))
        next(s for s in self.sources if s.id == source_id).watching = on

    async def stop_watching(self) -> None:
        return None

    # search
    def _documents(self) -> list[tuple[int, str, str, int | None]]:
        docs = [(sid, p, t, None) for sid, fs in self.files.items() for p, t in fs]
        docs += [
            (1, "", f"# {n.title}\n\n{n.body}", n.id)
            for n in self.notes.values()
            if n.deleted_at is None
        ]
        return docs

    async def search(self, query: str, mode: str = "both", limit: int = 20) -> list[NoteHit]:
        self.calls.append(("search", (query, mode)))
        if mode == "semantic" and (self.spec is None or not self.spec.vectors):
            raise ConfigError(
                "Semantic search needs an index: choose the index model and index your notes."
            )
        words = [w.lower() for w in query.split() if len(w) > 2]
        hits: list[NoteHit] = []
        for k, (sid, path, text, note_id) in enumerate(self._documents()):
            lines = text.splitlines()
            best: tuple[int, int] | None = None  # (words found, line index): the best line
            for i, line in enumerate(lines):
                n = sum(w in line.lower() for w in words)
                if n and (best is None or n > best[0]):
                    best = (n, i)
            if best is None:
                continue
            i = best[1]
            end = i  # a chunk runs to the end of its paragraph
            while end + 1 < len(lines) and lines[end + 1].strip():
                end += 1
            snippet = lines[i]
            for w in words:
                start = snippet.lower().find(w)
                if start >= 0:
                    snippet = (
                        snippet[:start]
                        + HIGHLIGHT_START
                        + snippet[start : start + len(w)]
                        + HIGHLIGHT_END
                        + snippet[start + len(w) :]
                    )
            heading = [ln.lstrip("# ").strip() for ln in lines[:i] if ln.startswith("#")][-1:]
            title = Path(path).name if path else lines[0].lstrip("# ")
            hits.append(
                NoteHit(
                    chunk_id=1000 * k + i,
                    source_id=sid,
                    file_id=k,
                    path=path,
                    title=title,
                    heading_path=heading,
                    line_start=i + 1,
                    line_end=end + 1,
                    page=None,
                    snippet=snippet,
                    score=best[0] / max(1, len(words)),
                    note_id=note_id,
                )
            )
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]

    async def read_hit(self, hit: NoteHit) -> HitPreview:
        if hit.path:
            text = Path(hit.path).read_text("utf-8")
        else:
            n = self.notes[hit.note_id or 0]
            text = f"# {n.title}\n\n{n.body}"
        return HitPreview(hit, text, "markdown", hit.line_start, hit.line_end, hit.page)

    # app notes
    async def create_note(self, title: str, body: str = "") -> AppNote:
        now = time.time()
        note = AppNote(
            id=len(self.notes) + 1, title=title, body=body, created_at=now, updated_at=now
        )
        self.notes[note.id] = note
        self._emit(NotesEvent("notes", note=note))
        return note

    async def update_note(
        self, note_id: int, *, title: str | None = None, body: str | None = None
    ) -> AppNote:
        n = self.notes[note_id]
        n.title = title if title is not None else n.title
        n.body = body if body is not None else n.body
        n.updated_at = time.time()
        self._emit(NotesEvent("notes", note=n))
        return n

    async def delete_note(self, note_id: int) -> AppNote:
        n = self.notes[note_id]
        n.deleted_at = time.time()
        self._emit(NotesEvent("notes", note=n))
        return n

    async def restore_note(self, note_id: int) -> AppNote:
        n = self.notes[note_id]
        n.deleted_at = None
        self._emit(NotesEvent("notes", note=n))
        return n

    async def get_note(self, note_id: int) -> AppNote | None:
        return self.notes.get(note_id)

    async def list_notes(self) -> list[AppNote]:
        live = [n for n in self.notes.values() if n.deleted_at is None]
        return sorted(live, key=lambda n: -n.updated_at)

    async def save_message_as_note(self, message_id: int, title: str | None = None) -> AppNote:
        raise NotImplementedError

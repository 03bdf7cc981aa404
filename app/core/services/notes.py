"""The Notes use cases: sources, indexing as a durable job, and semantic + keyword search.

`NotesService` is what the Notes tab talks to (it never touches the store, files or vectors).
No Qt: listeners are plain callables called on the loop's thread; the UI adapts them.

Sources. `add_folder(path, excludes, max_file_size)` -> `NoteSource` (recursive; `.md`,
`.markdown`, `.txt`, `.rst`, `.org`, `.html`/`.htm` and `.pdf`; gitignore-style `excludes` on
top of `DEFAULT_EXCLUDES`; files above `max_file_size` bytes are skipped and counted).
`remove_folder(source_id)` forgets the folder, its files, chunks and their vectors (the files
on disk are never touched). `list_sources()`. Notes written in the app live in one built-in
source (`kind == "app"`, `APP_SOURCE_ID`) and are indexed like files.

Before the first indexing. `await estimate(source_id)` -> `IndexEstimate`: how many files and
roughly how many tokens would be sent, and to which provider/model (scans; sends nothing).

Indexing. `await index(source_id=None)` -> job id (kind `INDEX_KIND` of the job engine; None:
every source). The run scans, extracts, chunks (by headings, paragraphs, code blocks kept
whole) and stores chunks, then embeds the chunks whose text hash has no vector in the active
index, in batches with a bounded number of requests in flight. Progress reaches listeners as
`NotesEvent("progress", progress=IndexProgress)` (files, chunks, tokens, ETA) and the job row
as `NotesEvent("job", job=JobRecord)`. `pause(job_id)` / `resume(job_id)` / `cancel(job_id)`;
`retry_failed(job_id)` re-runs a job that failed (only chunks still without a vector are sent).
Crash or kill: chunks are in SQLite before any request; a vector is written the moment its
batch returns, so the next start (`recover()`) embeds only what is still pending. Nothing
already embedded is sent twice (vectors are keyed by (index, chunk text hash)).

Incremental. Each file has a content hash and each chunk a text hash: an unchanged file (size,
mtime, then hash) is skipped; a changed file re-chunks and re-embeds only chunks whose text
changed; deleted files are removed. `watch(source_id, True)` watches a folder (a stat-only
polling scan on a worker thread, debounced until the change is still) and indexes changes in
the background; an edit during a run re-runs it afterwards, so nothing is embedded twice.
`stop_watching()` stops all. (Polling, not watchfiles/inotify: the same on every platform and
network drive, and a stat walk of 2,000 files takes milliseconds.)

Indexes. One per (profile, model, dimension): `index_spec()` is the active one, `indexes()`
lists them. `set_index_model(profile_id, model, dim)` -> `RebuildCost` makes that index
active (creating it); its cost says how many chunks/tokens lack a vector there. Nothing is
embedded until `index()` is called: changing the model never re-embeds by itself, and vectors
of different indexes are never compared (search uses the active index only).

Search. `await search(query, mode="both", limit=20)` -> `list[NoteHit]` best first. `semantic`
embeds the query with the index's model (query task type where the dialect has one) and
searches nearest neighbours over stored vectors; `keyword` uses FTS5 (bm25); `both` fuses the
two lists with weighted reciprocal-rank fusion (`NoteHit.score`). Snippets mark matches with
`HIGHLIGHT_START`/`HIGHLIGHT_END`. `await read_hit(hit)` -> `HitPreview`: the document's text
(as extracted) with the hit's line range / page, for a preview pane and "open at line".

App notes. `create_note(title, body)`, `update_note(note_id, title=..., body=...)`,
`delete_note(note_id)` (soft; `restore_note(note_id)` undoes), `get_note`, `list_notes()`,
`save_message_as_note(message_id)` (title from the message's thread). Each change is indexed
when `index()` next runs, or at once (debounced) when the app source is watched.

Events. `subscribe(fn)` -> unsubscribe; `fn(NotesEvent)` with kind
- `"progress"`: `progress` (IndexProgress) of a running indexing job;
- `"job"`: `job` (JobRecord) changed state (started, paused, failed, completed);
- `"sources"`: the list of sources or their counts changed;
- `"notes"`: an app note changed (`note`).

The search copy. Up to `exact_limit` vectors are searched exactly; above it an HNSW graph is
built on a worker thread in the background (searches are exact over the float16 vectors
meanwhile, never waiting for it; `search_ready`, `await wait_search_ready()`), then saved to
`index_dir` (default `notes-vectors/` beside the database) as `index-<id>.usearch` with a
fingerprint `index-<id>.json` (index id, profile, model, dimensions, created_at, vector count
and the index's generation, which every vector write bumps). `warm()` (also a few seconds after
`recover()`) loads the saved graph when its fingerprint matches SQLite, else loads the vectors
and rebuilds it. SQLite stays the source of truth: a missing, stale or damaged file only costs
a rebuild. The graph is saved after an indexing run that changed it and at `aclose()`.

Start-up and shutdown. `await recover()` once at start (resumes an indexing run left by a
crash or quit). `await aclose()` stops watching and background work; indexing jobs run on the
shared `JobEngine`, whose `aclose()` leaves their rows for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # numpy and usearch load on first use (an index or a search), not at start-up (issue 9).
    import numpy as np

    from app.core.notes.vectors import VectorIndex

from app.core.errors import ConfigError, MalformedResponseError, SwitchboardError
from app.core.jobs import ACTIVE_STATES, JobContext, JobEngine, JobEvent, JobKind, JobRecord
from app.core.jobs.listeners import Listeners
from app.core.latency import shorter_switch_interval
from app.core.notes.chunking import chunk_document, estimate_tokens
from app.core.notes.extract import ExtractionError, PdfWorker, decode, extract_html, format_for
from app.core.notes.scan import ScannedFile, scan_folder
from app.core.protocol.gemini import MAX_BATCH_EMBED
from app.core.protocol.types import EmbeddingRequest
from app.core.services.tasks import TaskOwner
from app.core.store.db import Database
from app.core.store.notes import (
    HEADING_SEP,
    ChunkRow,
    FileRow,
    IndexRow,
    NewChunk,
    NoteRepository,
    NotesIndexStore,
    SourceRow,
    keyword_query,
)
from app.core.store.records import Note

log = logging.getLogger(__name__)

__all__ = [
    "APP_SOURCE_ID",
    "DEFAULT_EXCLUDES",
    "DEFAULT_MAX_FILE_SIZE",
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "INDEX_KIND",
    "sample_notes_dir",
    "AppNote",
    "HitPreview",
    "IndexEstimate",
    "IndexProgress",
    "IndexSpec",
    "NoteHit",
    "NoteSource",
    "NotesEvent",
    "NotesListener",
    "NotesService",
    "RebuildCost",
    "SearchMode",
]

INDEX_KIND = "notes.index"


@functools.cache
def _sample_notes_path() -> str:
    """`sample_notes_dir()` as `add_folder` stores it (resolved), or "" if it is missing."""
    try:
        return str(sample_notes_dir().resolve())
    except OSError:  # ResourcesMissing is one
        return ""


def sample_notes_dir() -> Path:
    """The ~20 short notes bundled for the offline demo (`index_sample_notes`): the top-level
    `resources/notes/`, found like every other resource (a wheel and the frozen bundle too)."""
    from app.resources import resource_path

    return resource_path("notes")


APP_SOURCE_ID = 1  # the built-in source holding notes written in the app
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024
DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    ".obsidian/",
    ".trash/",
    "__pycache__/",
    ".venv/",
    ".DS_Store",
    "*.tmp",
    "*~",
)
# Markers around matched words in `NoteHit.snippet` (control characters never found in notes).
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"

SearchMode = Literal["semantic", "keyword", "both"]


@dataclass
class NoteSource:
    """A folder the user added, or the built-in source of app notes (`kind == "app"`)."""

    id: int
    kind: Literal["folder", "app"]
    path: str  # absolute folder path; "" for the app source
    excludes: list[str] = field(default_factory=list)  # the user's, on top of DEFAULT_EXCLUDES
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    watching: bool = False
    created_at: float = 0.0
    files: int = 0  # files indexed (extracted and chunked)
    skipped: int = 0  # too big, unreadable or failed extraction
    chunks: int = 0
    pending_chunks: int = 0  # chunks without a vector in the active index
    last_indexed_at: float | None = None

    @property
    def name(self) -> str:
        if self.kind == "app":
            return "Notes written here"
        if self.path == _sample_notes_path():
            return "Sample notes"  # the demo's bundled folder (its own name is "notes")
        return Path(self.path).name or self.path


@dataclass
class IndexSpec:
    """One vector index: every vector in it comes from this (profile, model, dimension)."""

    id: int
    profile_id: str
    model: str
    dim: int | None  # None: the model's own size (learned from the first vector)
    active: bool = False
    vectors: int = 0
    created_at: float = 0.0


@dataclass
class IndexEstimate:
    """What indexing a source (or all) would send, before anything is sent."""

    files: int
    tokens: int  # roughly: characters / 4 of the chunks still lacking a vector
    bytes: int
    provider: str  # the profile's display name (who receives the notes' text)
    profile_id: str
    model: str
    skipped: int = 0  # files above the size limit or excluded by type


@dataclass
class RebuildCost:
    """What making an index active would cost to fill: chunks (and tokens) it lacks."""

    index: IndexSpec
    chunks: int
    tokens: int
    provider: str


@dataclass
class IndexProgress:
    """A running indexing job's progress (sent often; the job row is written at most ~2/s)."""

    job_id: int
    phase: Literal["scanning", "embedding", "done"]
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0  # embedded in this run (or found already embedded)
    chunks_total: int = 0  # to embed in this run
    tokens: int = 0  # tokens sent in this run (roughly)
    failed_batches: int = 0
    eta_seconds: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.phase == "scanning":
            return None if not self.files_total else 0.1 * self.files_done / self.files_total
        if not self.chunks_total:
            return 1.0 if self.phase == "done" else None
        return 0.1 + 0.9 * self.chunks_done / self.chunks_total


@dataclass
class NoteHit:
    """One search result: a chunk of a file (or app note) and where it is."""

    chunk_id: int
    source_id: int
    file_id: int
    path: str  # absolute file path; "" for an app note
    title: str  # file name or the app note's title
    heading_path: list[str]  # e.g. ["Networking", "VPN"]
    line_start: int  # 1-based, inclusive, in the extracted text
    line_end: int
    page: int | None  # 1-based page for PDFs
    snippet: str  # with HIGHLIGHT_START/HIGHLIGHT_END around matched words
    score: float  # higher is better (cosine for semantic, fused RRF for both, -bm25 keyword)
    note_id: int | None = None  # for app notes
    semantic_rank: int | None = None  # 1-based rank in each list (None: not in it)
    keyword_rank: int | None = None


@dataclass
class HitPreview:
    """The document around a hit, for the preview pane."""

    hit: NoteHit
    text: str  # the whole document's extracted text (Markdown for .md and app notes)
    format: Literal["markdown", "text", "html", "pdf", "rst", "org"]
    line_start: int
    line_end: int
    page: int | None


@dataclass
class AppNote:
    id: int
    title: str
    body: str
    created_at: float
    updated_at: float
    deleted_at: float | None = None


@dataclass
class NotesEvent:
    kind: Literal["progress", "job", "sources", "notes"]
    progress: IndexProgress | None = None
    job: JobRecord | None = None
    note: AppNote | None = None


NotesListener = Callable[[NotesEvent], None]


# Reciprocal-rank fusion: score = Σ weight / (RRF_K + rank). 60 is the constant of the original
# paper (Cormack et al. 2009). Weights by `python -m benchmarks notes` (2,000 notes, 120
# queries, demo embeddings): keyword weight 0.5 -> fused nDCG@10 0.62, 2.0 -> 0.745 (semantic
# alone 0.43, keyword alone 0.71). Real embedding models are stronger than the demo's hashing:
# re-measure with the interop llama.cpp server before trusting these for them.
RRF_K = 60
SEMANTIC_WEIGHT = 1.0
KEYWORD_WEIGHT = 2.0
# Provider limits on one embeddings request (inputs; rough tokens).
# How long a pause waits for the batches already sent to come back before it stops the run.
PAUSE_DRAIN_S = 120.0
OPENAI_MAX_INPUTS = 2048  # OpenAI's documented maximum of inputs per request
BATCH_MAX_TOKENS = 100_000  # well under OpenAI's 300k tokens per request
WRITE_EVERY_FILES = 64
RESCORE_FACTOR = 4  # approximate search: candidates fetched per hit wanted, then rescored  # files per transaction while scanning
_WORD = re.compile(r"\w+", re.UNICODE)


def embed_text(heading: str, text: str) -> str:
    """What was hashed and is sent: the heading path (title first) then the chunk's text."""
    path = [h for h in heading.split(HEADING_SEP) if h] if heading else []
    return (" > ".join(path) + "\n\n" + text) if path else text


def _to_note(n: Note, deleted_at: float | None = None) -> AppNote:
    return AppNote(n.id, n.title, n.body, n.created_at, n.updated_at, deleted_at)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _highlight(text: str, words: set[str], width: int = 220) -> str:
    """A window of `text` around the first query word, with matched words marked."""
    flat = " ".join(text.split())
    lower = flat.lower()
    first = min((i for w in words if (i := lower.find(w)) >= 0), default=0)
    start = max(0, first - width // 3)
    piece = flat[start : start + width]
    if not words:
        return piece
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    marked = pattern.sub(lambda m: HIGHLIGHT_START + m.group(0) + HIGHLIGHT_END, piece)
    return ("…" if start else "") + marked + ("…" if start + width < len(flat) else "")


# A vector's key in the search copy: the first 60 bits of its text hash. At 1M vectors two
# hashes share a key with a chance of ~4e-7; if they do, the copy holds one of the two, and both
# are rescored (SQLite returns every hash with that prefix), so the other is still found when
# its twin is a candidate.
KEY_HEX = 15
LOAD_PAGE = 20_000  # vectors read from SQLite per page when loading the copy


def _keys(shas: Sequence[str]) -> np.ndarray:
    import numpy as np

    return np.fromiter((int(s[:KEY_HEX], 16) for s in shas), np.int64, len(shas))


def _add_page(vindex: VectorIndex, page: list[tuple[str, bytes]], dim: int) -> None:
    import numpy as np

    matrix = np.frombuffer(b"".join(b for _, b in page), dtype="<f2").reshape(-1, dim)
    vindex.add(_keys([s for s, _ in page]), matrix)


def _unit_vectors(
    raw: list[list[float]], count: int, dim: int | None
) -> tuple[np.ndarray, list[bytes]]:
    """An embeddings reply's vectors as unit float32 rows and their float16 blobs (on a worker
    thread); MalformedResponseError when they do not match the texts or the index's size."""
    import numpy as np

    from app.core.notes.vectors import normalise

    try:
        vectors = np.asarray(raw, dtype=np.float32)
    except ValueError:  # rows of different lengths
        vectors = np.zeros(0, np.float32)
    if vectors.ndim != 2 or len(vectors) != count:
        raise MalformedResponseError(
            "The embeddings reply did not have one vector per text. Try again.",
        )
    dim = dim or vectors.shape[1]
    if vectors.shape[1] != dim:
        raise MalformedResponseError(
            f"The model returned vectors of {vectors.shape[1]} numbers, but this index holds "
            f"{dim}. Choose the model again to build a new index.",
        )
    vectors = normalise(vectors)
    return vectors, [row.tobytes() for row in vectors.astype("<f2")]


@dataclass
class _Prepared:
    rel_path: str
    size: int
    mtime_ns: int
    sha256: str = ""
    format: str = "text"
    title: str = ""
    chunks: list[NewChunk] | None = None
    unchanged: bool = False
    error: str | None = None


class NotesService:
    """Notes sources, indexing and search over one database (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        jobs: JobEngine,
        clients: Any,  # ClientPool (anything with `async get(profile_id) -> ProviderClient`)
        *,
        profiles: Any = None,  # anything with `get(profile_id) -> ProviderProfile | None`
        batch_size: int = 64,  # inputs per embeddings request (lowered to the provider's limit)
        max_in_flight: int = 2,
        chunk_tokens: int = 400,
        chunk_overlap: int = 40,
        poll_interval: float = 2.0,  # watching: seconds between scans when polling
        debounce: float = 1.0,
        pdf_timeout: float = 30.0,  # seconds per PDF in the worker process
        exact_limit: int = 20_000,  # vectors searched exactly; beyond: HNSW + rescoring
        index_dir: str | Path | None = None,  # saved graphs; default: notes-vectors/ beside the db
        warm_after: float | None = 3.0,  # seconds after recover() to load the search copy; None: at first search
        on_error: Callable[[BaseException], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.db = db
        self._engine = jobs
        self.clients = clients
        self.profiles = profiles
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.poll_interval = poll_interval
        self.debounce = debounce
        self.exact_limit = exact_limit
        self.warm_after = warm_after
        self._clock = clock or time.time
        self.store = NotesIndexStore(db, clock=self._clock)
        self.notes = NoteRepository(db, clock=self._clock)
        self._on_error = on_error
        self._owner = TaskOwner("notes", on_error=on_error)
        self._listeners: Listeners[NotesEvent] = Listeners(log, "notes listener failed", on_error)
        self._progress: dict[int, IndexProgress] = {}
        self._pdf = PdfWorker(pdf_timeout)
        self._vindex: VectorIndex | None = None
        self._vindex_id: int | None = None
        self._vgen = 0  # the generation of the vectors the loaded copy holds
        self._vsaved = -1  # the generation saved in the index file (-1: not saved)
        self._vbuild: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None  # the load a few seconds after recover()
        # Loading the copy, and every vector write together with its change to the copy, hold
        # this lock, so the copy and `_vgen` always describe the same state of SQLite.
        self._vlock = asyncio.Lock()
        # A pause lets the batches already sent finish and keeps their vectors (they are paid
        # for); these track them: job id -> batches in flight, and -> set when none are left.
        self._in_flight: dict[int, int] = {}
        self._pausing: dict[int, asyncio.Event] = {}
        if index_dir is not None:
            self.index_dir: Path | None = Path(index_dir)
        else:
            self.index_dir = None if db.path is None else Path(db.path).parent / "notes-vectors"
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._dirty: set[int | None] = set()  # scopes changed while their job was running
        jobs.register(
            JobKind(INDEX_KIND, self._run, resume_states=frozenset({"submitting", "running"}))
        )
        self._unsubscribe = jobs.subscribe(self._job_event)

    @property
    def engine(self) -> JobEngine:
        return self._engine

    # --- lifecycle ----------------------------------------------------------------------------

    async def recover(self) -> list[JobRecord]:
        """Resume an indexing run left by a crash or quit; restart saved watchers."""
        resolved = await self._engine.recover(INDEX_KIND)
        for source in await self.store.list_sources():
            if source.watching:
                self._start_watcher(source.id)
        if self.warm_after is not None and not self._owner.closed:
            self._warming = self._owner.spawn(self._warm_later(self.warm_after), name="notes-warm")
        return resolved

    async def _warm_later(self, delay: float) -> None:
        # After start-up has settled: loading the saved graph imports numpy and usearch.
        await asyncio.sleep(delay)
        try:
            await self.warm()
        except SwitchboardError as exc:
            log.warning("the notes search copy could not be loaded: %s", exc)

    async def aclose(self) -> None:
        self._unsubscribe()
        await self.stop_watching()
        if self._vindex is not None:
            self._vindex.cancel_build()  # a graph half built is not kept; the next start builds it
        await self._owner.aclose()
        with contextlib.suppress(Exception):
            await self._save_vindex()
        await asyncio.to_thread(self._pdf.close)

    def subscribe(self, listener: NotesListener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def _emit(self, event: NotesEvent) -> None:
        # A view's bug must not stop indexing: Listeners sends it to on_error or the log.
        self._listeners.emit(event)

    def _job_event(self, event: JobEvent) -> None:
        if event.job.kind != INDEX_KIND:
            return
        if event.what != "progress":
            self._emit(NotesEvent("job", job=event.job))
        if not event.job.active:
            self._progress.pop(event.job.id, None)
            if not self._owner.closed and self._vsaved != self._vgen:
                self._owner.spawn(self._save_vindex(), name="notes-save-index")
            if self._dirty and not self._owner.closed:
                # Changes seen while a run was under way: index them now, once.
                dirty, self._dirty = sorted(self._dirty, key=lambda s: s or 0), set()
                for scope in dirty:
                    self._owner.spawn(self._index_quietly(scope), name="notes-reindex")

    # --- sources ------------------------------------------------------------------------------

    def _source(self, row: SourceRow, pending: dict[int, tuple[int, int]]) -> NoteSource:
        return NoteSource(
            id=row.id,
            kind="app" if row.kind == "app" else "folder",
            path=row.path,
            excludes=json.loads(row.excludes_json or "[]"),
            max_file_size=row.max_file_size,
            watching=bool(row.watching),
            created_at=row.created_at,
            files=row.files,
            skipped=row.skipped,
            chunks=row.chunks,
            pending_chunks=pending.get(row.id, (0, 0))[0],
            last_indexed_at=row.last_indexed_at,
        )

    async def _active(self, *, counts: bool = True) -> IndexRow | None:
        return next((i for i in await self.store.indexes(counts=counts) if i.active), None)

    async def add_folder(
        self,
        path: str | Path,
        excludes: Sequence[str] = (),
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    ) -> NoteSource:
        """Add a folder (ConfigError if it is not a readable directory or already added)."""
        folder = Path(path).expanduser()
        try:
            folder = folder.resolve(strict=True)
        except OSError:
            raise ConfigError(f"The folder {path} does not exist.") from None
        if not folder.is_dir() or not os.access(folder, os.R_OK | os.X_OK):
            raise ConfigError(f"{folder} is not a folder this app can read.")
        existing = {s.path for s in await self.store.list_sources()}
        if str(folder) in existing:
            raise ConfigError(f"{folder} is already one of your notes folders.")
        if max_file_size <= 0:
            raise ConfigError("The largest file size must be more than zero.")
        row = await self.store.add_source(str(folder), list(excludes), max_file_size)
        self._emit(NotesEvent("sources"))
        return self._source(row, {})

    async def update_folder(
        self,
        source_id: int,
        *,
        excludes: Sequence[str] | None = None,
        max_file_size: int | None = None,
    ) -> NoteSource:
        values: dict[str, Any] = {}
        if excludes is not None:
            values["excludes_json"] = json.dumps(list(excludes))
        if max_file_size is not None:
            values["max_file_size"] = max_file_size
        if values:
            await self.store.update_source(source_id, **values)
        row = await self.store.get_source(source_id)
        if row is None:
            raise ConfigError("This notes folder is no longer in the list.")
        self._emit(NotesEvent("sources"))
        return self._source(row, {})

    async def remove_folder(self, source_id: int) -> None:
        if source_id == APP_SOURCE_ID:
            raise ConfigError("Notes written here cannot be removed as a folder.")
        await self.watch(source_id, False)
        await self.store.remove_source(source_id)
        await self._collect_garbage()
        self._emit(NotesEvent("sources"))

    async def list_sources(self) -> list[NoteSource]:
        """Every source with its counts (the app source first)."""
        index = await self._active()
        pending = await self.store.pending_count(index.id if index else None)
        return [self._source(r, pending) for r in await self.store.list_sources()]

    async def estimate(self, source_id: int | None = None) -> IndexEstimate:
        """Files and rough tokens indexing would send, and to whom (ConfigError: no index set).

        Scans and chunks without storing: files already chunked count only their chunks still
        lacking a vector."""
        index = await self._require_index()
        provider = await self._provider_name(index.profile_id)
        files = tokens = size = skipped = 0
        for source in await self._sources(source_id):
            known = await self.store.files(source.id)
            pending = await self.store.pending_count(index.id)
            if source.kind == "app":
                notes = await self.notes.list_all()
                files += len(notes)
                size += sum(len(n.body.encode()) for n in notes)
                fresh = [n for n in notes if f"note:{n.id}" not in known]
                tokens += sum(estimate_tokens(n.title + "\n" + n.body) for n in fresh)
                tokens += pending.get(source.id, (0, 0))[1]
                continue
            excludes = [*DEFAULT_EXCLUDES, *json.loads(source.excludes_json)]
            scanned = await asyncio.to_thread(
                scan_folder, source.path, excludes, source.max_file_size
            )
            for f in scanned:
                if f.too_big:
                    skipped += 1
                    continue
                files += 1
                size += f.size
                old = known.get(f.rel_path)
                if old is None or (old.size, old.mtime_ns) != (f.size, f.mtime_ns):
                    # A PDF's text is far smaller than its bytes; ~1/3 is typical.
                    ratio = 0.3 if f.rel_path.lower().endswith(".pdf") else 1.0
                    tokens += int(f.size * ratio) // 4
            tokens += pending.get(source.id, (0, 0))[1]
        return IndexEstimate(files, tokens, size, provider, index.profile_id, index.model, skipped)

    async def _sources(self, source_id: int | None) -> list[SourceRow]:
        rows = await self.store.list_sources()
        if source_id is None:
            return rows
        chosen = [r for r in rows if r.id == source_id]
        if not chosen:
            raise ConfigError("This notes folder is no longer in the list.")
        return chosen

    async def _provider_name(self, profile_id: str) -> str:
        profile = None
        if self.profiles is not None:
            profile = self.profiles.get(profile_id)
        if profile is None:
            try:
                profile = (await self.clients.get(profile_id)).profile
            except SwitchboardError:
                return profile_id
        return str(getattr(profile, "name", profile_id))

    # --- indexes ------------------------------------------------------------------------------

    def _spec(self, row: IndexRow) -> IndexSpec:
        return IndexSpec(
            row.id, row.profile_id, row.model, row.dim or None, bool(row.active), row.vectors,
            row.created_at,
        )

    async def index_spec(self) -> IndexSpec | None:
        row = await self._active()
        return None if row is None else self._spec(row)

    async def indexes(self) -> list[IndexSpec]:
        return [self._spec(r) for r in await self.store.indexes()]

    async def _require_index(self) -> IndexRow:
        row = await self._active()
        if row is None:
            raise ConfigError("Choose a provider and an embedding model for your notes first.")
        return row

    async def set_index_model(
        self, profile_id: str, model: str, dim: int | None = None
    ) -> RebuildCost:
        """Make (profile, model, dim) the active index; its cost to fill. Sends nothing."""
        if not profile_id or not model.strip():
            raise ConfigError("Choose a provider and an embedding model for your notes.")
        if dim is not None and dim <= 0:
            raise ConfigError("The number of dimensions must be more than zero.")
        index_id = await self.store.activate_index(profile_id, model.strip(), dim or 0)
        row = next(r for r in await self.store.indexes() if r.id == index_id)
        pending = await self.store.pending_count(index_id)
        chunks = sum(c for c, _ in pending.values())
        tokens = sum(t for _, t in pending.values())
        self._emit(NotesEvent("sources"))
        return RebuildCost(self._spec(row), chunks, tokens, await self._provider_name(profile_id))

    async def drop_index(self, index_id: int) -> None:
        """Delete an inactive index's vectors (ConfigError for the active one)."""
        active = await self._active()
        if active is not None and active.id == index_id:
            raise ConfigError("This index is in use. Choose another model first.")
        await self.store.drop_index(index_id)
        files = self._index_files(index_id)
        if files is not None:
            for path in files:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)

    async def index_sample_notes(self, profile_id: str, model: str) -> int | None:
        """The offline demo: add the bundled sample folder and index it with the demo's model.

        Only when no index is chosen yet or the demo's is already active: notes are never sent
        to a provider the user did not choose. Returns the job id, or None when skipped."""
        active = await self._active()
        if active is not None and (active.profile_id, active.model) != (profile_id, model):
            return None
        if active is None:
            await self.set_index_model(profile_id, model)
        folder = str(sample_notes_dir().resolve())
        source = next((s for s in await self.store.list_sources() if s.path == folder), None)
        # Its README suggests the demo's queries word for word: indexed, it would be the top hit
        # of each of them instead of the note it points to.
        source_id = source.id if source is not None else (
            await self.add_folder(folder, excludes=["/README.md"])
        ).id
        return await self.index(source_id)

    # --- indexing -----------------------------------------------------------------------------

    async def index(self, source_id: int | None = None) -> int:
        """Start an indexing job (one source, or all); its job id. An active job for the same
        scope is returned instead of starting a second one."""
        index = await self._require_index()
        await self._sources(source_id)  # ConfigError for a removed folder
        for job in await self.jobs(active_only=True):
            if job.params.get("source_id") == source_id:
                return job.id
        job = await self._engine.start(
            INDEX_KIND, {"source_id": source_id, "index_id": index.id}, owner_key=index.profile_id
        )
        return job.id

    async def _index_quietly(self, source_id: int | None) -> None:
        try:
            await self.index(source_id)
        except ConfigError:
            pass  # no model chosen yet: nothing to do until the user picks one

    async def pause(self, job_id: int) -> None:
        """Pause an indexing run. Batches already sent to the provider are let finish and their
        vectors kept (cancelling them would pay for them again at the resume); no new batch is
        sent meanwhile. Then the run stops, resumable (`resume`)."""
        drained = asyncio.Event()
        self._pausing[job_id] = drained
        try:
            if self._in_flight.get(job_id, 0) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(drained.wait(), PAUSE_DRAIN_S)
            await self._engine.pause(job_id)
        finally:
            self._pausing.pop(job_id, None)

    async def resume(self, job_id: int) -> None:
        await self._engine.rerun(job_id)

    async def cancel(self, job_id: int) -> None:
        await self._engine.cancel(job_id)

    async def retry_failed(self, job_id: int) -> None:
        """Run a failed (or interrupted) job again; only chunks still without a vector go."""
        if await self._engine.rerun(job_id) is None:
            raise ConfigError("This indexing run is not stopped, so there is nothing to retry.")

    async def jobs(self, *, active_only: bool = False, limit: int = 50) -> list[JobRecord]:
        return await self._engine.store.list(
            kind=INDEX_KIND, states=ACTIVE_STATES if active_only else None, limit=limit
        )

    async def wait(self, job_id: int) -> JobRecord | None:
        """Until the job's current run ends (tests, scripts)."""
        return await self._engine.wait(job_id)

    def progress(self, job_id: int) -> IndexProgress | None:
        return self._progress.get(job_id)

    async def _report(self, ctx: JobContext, prog: IndexProgress) -> None:
        text = (
            f"{prog.files_done:,}/{prog.files_total:,} files · "
            f"{prog.chunks_done:,}/{prog.chunks_total:,} chunks · ~{prog.tokens:,} tokens"
        )
        if prog.eta_seconds is not None:
            text += f" · about {int(prog.eta_seconds) + 1} s left"
        if prog.failed_batches:
            text += f" · {prog.failed_batches} batch(es) failed"
        self._progress[ctx.id] = prog
        self._emit(NotesEvent("progress", progress=prog))
        await ctx.progress(prog.fraction, text)

    async def _run(self, ctx: JobContext) -> dict[str, Any]:
        # The loop shares the GIL with the busy scan, database and numpy threads while this
        # runs: a shorter switch interval keeps it responsive (app/core/latency.py).
        with shorter_switch_interval():
            return await self._run_index(ctx)

    async def _run_index(self, ctx: JobContext) -> dict[str, Any]:
        scope: int | None = ctx.job.params.get("source_id")
        index_id = int(ctx.job.params["index_id"])
        index = next((i for i in await self.store.indexes() if i.id == index_id), None)
        if index is None:
            raise ConfigError("The embedding model of this run was removed. Index again.")
        await ctx.set_state("running")
        prog = IndexProgress(ctx.id, "scanning")
        sources = await self._sources(scope)
        for source in sources:
            await self._scan(source, prog, ctx)
        await self._collect_garbage()
        failed, error = await self._embed_pending(ctx, index, [s.id for s in sources], prog)
        now = self._clock()
        for source in sources:
            await self.store.update_source(source.id, last_indexed_at=now)
        self._emit(NotesEvent("sources"))
        if failed:
            raise SwitchboardError(
                f"{failed} batch(es) of notes could not be embedded; the rest is indexed. "
                "Retry to send the missing ones.",
                detail=None if error is None else str(error),
            )
        prog.phase = "done"
        prog.eta_seconds = None
        await self._report(ctx, prog)
        return {"files": prog.files_total, "embedded": prog.chunks_done, "tokens": prog.tokens}

    # --- scanning -----------------------------------------------------------------------------

    def _chunks(self, text: str, fmt: str, title: str) -> list[NewChunk]:
        return [
            NewChunk(
                c.ord, c.sha256, HEADING_SEP.join(c.heading_path), c.line_start, c.line_end,
                c.page, c.tokens, c.text,
            )
            for c in chunk_document(
                text, fmt, target_tokens=self.chunk_tokens, overlap_tokens=self.chunk_overlap,
                title=title,
            )
        ]

    def _prepare(self, root: str, items: list[tuple[ScannedFile, FileRow | None]]) -> list[_Prepared]:
        """Read, hash, extract and chunk files (on a worker thread)."""
        out: list[_Prepared] = []
        for f, old in items:
            p = _Prepared(f.rel_path, f.size, f.mtime_ns)
            out.append(p)
            fmt = format_for(f.rel_path) or "text"
            p.format = fmt
            p.title = Path(f.rel_path).stem
            full = os.path.join(root, f.rel_path)
            try:
                with open(full, "rb") as fh:
                    data = fh.read(f.size + 1)
                p.sha256 = _sha(data)
                if old is not None and old.sha256 == p.sha256 and old.status == "ok":
                    p.unchanged = True
                    continue
                if fmt == "pdf":
                    text = self._pdf.extract(full).text
                elif fmt == "html":
                    extracted = extract_html(data)
                    text = extracted.text
                    p.title = extracted.title or p.title
                else:
                    text = decode(data)
                p.chunks = self._chunks(text, fmt, p.title)
            except ExtractionError as exc:
                p.error = str(exc)
            except OSError as exc:
                p.error = f"This file could not be read ({exc.strerror or exc})."
        return out

    async def _scan(self, source: SourceRow, prog: IndexProgress, ctx: JobContext | None) -> bool:
        """Bring one source's files and chunks up to date. True when anything changed."""
        known = await self.store.files(source.id)
        changed = False
        if source.kind == "app":
            notes = await self.notes.list_all()
            prog.files_total += len(notes)
            writes: list[tuple[dict[str, Any], Sequence[NewChunk] | None]] = []
            seen: set[str] = set()
            for n in notes:
                rel = f"note:{n.id}"
                seen.add(rel)
                sha = _sha(f"{n.title}\n{n.body}".encode())
                old = known.get(rel)
                if old is None or old.sha256 != sha:
                    writes.append(self._note_write(n, sha))
                prog.files_done += 1
            gone = [r.id for rel, r in known.items() if rel not in seen]
            if writes:
                await self.store.write_files(writes)
            await self.store.delete_files(gone)
            if ctx is not None:
                await self._report(ctx, prog)
            return bool(writes or gone)
        excludes = [*DEFAULT_EXCLUDES, *json.loads(source.excludes_json)]
        if not os.path.isdir(source.path):
            return False  # an unplugged drive is not "every note deleted"
        scanned = await asyncio.to_thread(scan_folder, source.path, excludes, source.max_file_size)
        prog.files_total += len(scanned)
        seen = {f.rel_path for f in scanned}
        todo: list[tuple[ScannedFile, FileRow | None]] = []
        skipped_writes: list[tuple[dict[str, Any], Sequence[NewChunk] | None]] = []
        for f in scanned:
            old = known.get(f.rel_path)
            if old is not None and (old.size, old.mtime_ns) == (f.size, f.mtime_ns):
                prog.files_done += 1
                continue
            if f.too_big:
                skipped_writes.append((self._file_meta(source.id, f, "", "skipped",
                    f"Larger than the {source.max_file_size // 1024:,} KB limit."), []))
                prog.files_done += 1
                continue
            todo.append((f, old))
        if skipped_writes:
            await self.store.write_files(skipped_writes)
            changed = True
        groups = [todo[s : s + WRITE_EVERY_FILES] for s in range(0, len(todo), WRITE_EVERY_FILES)]
        # One group is read and chunked (a worker thread) while the one before it is stored
        # (the database thread; SQLite and FTS5 run without the GIL): the scan takes about the
        # longer of the two instead of their sum.
        ahead: asyncio.Future[list[_Prepared]] | None = None
        try:
            for k, group in enumerate(groups):
                if ahead is None:
                    ahead = asyncio.ensure_future(asyncio.to_thread(self._prepare, source.path, group))
                prepared = await ahead
                ahead = None
                if k + 1 < len(groups):
                    ahead = asyncio.ensure_future(
                        asyncio.to_thread(self._prepare, source.path, groups[k + 1])
                    )
                changed |= await self._store_prepared(source, group, prepared)
                prog.files_done += len(group)
                if ctx is not None:
                    await self._report(ctx, prog)
        finally:
            if ahead is not None:  # paused or cancelled: the group read ahead is dropped
                ahead.cancel()
                ahead.add_done_callback(lambda f: f.cancelled() or f.exception())
        gone = [r.id for rel, r in known.items() if rel not in seen]
        if gone:
            await self.store.delete_files(gone)
            changed = True
        if ctx is not None:
            await self._report(ctx, prog)
        return changed

    async def _store_prepared(
        self, source: SourceRow, group: list[tuple[ScannedFile, FileRow | None]], prepared: list[_Prepared]
    ) -> bool:
        """Write one group's files and chunks (one transaction). True when anything changed."""
        writes: list[tuple[dict[str, Any], Sequence[NewChunk] | None]] = []
        touches: list[tuple[int, int, int]] = []
        for (f, old), p in zip(group, prepared):
            if p.unchanged and old is not None:
                touches.append((old.id, p.size, p.mtime_ns))
                continue
            # Built here rather than by `_file_meta`: its path parsing is already done (`p`),
            # and this runs on the loop.
            meta = {
                "source_id": source.id, "rel_path": f.rel_path, "note_id": None,
                "format": p.format, "title": p.title, "size": f.size, "mtime_ns": f.mtime_ns,
                "sha256": p.sha256, "status": "error" if p.error else "ok", "error": p.error,
            }
            writes.append((meta, p.chunks if p.chunks is not None else []))
        if writes:
            await self.store.write_files(writes)
        if touches:
            await self.store.touch_files(touches)
        return bool(writes)

    @staticmethod
    def _file_meta(source_id: int, f: ScannedFile, sha: str, status: str, error: str | None) -> dict[str, Any]:
        return {
            "source_id": source_id, "rel_path": f.rel_path, "note_id": None,
            "format": format_for(f.rel_path) or "text", "title": Path(f.rel_path).stem,
            "size": f.size, "mtime_ns": f.mtime_ns, "sha256": sha, "status": status, "error": error,
        }

    def _note_write(self, n: Note, sha: str) -> tuple[dict[str, Any], list[NewChunk]]:
        title = n.title.strip() or "Untitled note"
        meta = {
            "source_id": APP_SOURCE_ID, "rel_path": f"note:{n.id}", "note_id": n.id,
            "format": "markdown", "title": title, "size": len(n.body.encode()),
            "mtime_ns": int(n.updated_at * 1e9), "sha256": sha, "status": "ok", "error": None,
        }
        return meta, self._chunks(n.body, "markdown", title)

    async def _collect_garbage(self) -> None:
        """Forget vectors whose text no chunk has any more (kept in memory too)."""
        for index in await self.store.indexes():
            orphans = await self.store.orphan_vectors(index.id)
            if not orphans:
                continue
            async with self._vlock:
                generation = await self.store.delete_vectors(index.id, orphans)
                if self._vindex is not None and self._vindex_id == index.id:
                    await asyncio.to_thread(self._vindex.remove, _keys(orphans))
                    self._vgen = generation or self._vgen

    # --- embedding ----------------------------------------------------------------------------

    def _batch_limit(self, client: Any) -> int:
        limit = MAX_BATCH_EMBED if getattr(client, "is_gemini", False) else OPENAI_MAX_INPUTS
        # Chunks are at most ~chunk_tokens (+ heading path): keep a request under the token cap.
        by_tokens = BATCH_MAX_TOKENS // max(1, self.chunk_tokens + self.chunk_overlap + 50)
        return max(1, min(self.batch_size, limit, by_tokens))

    async def _embed(self, client: Any, index: IndexRow, texts: list[str], task: str) -> np.ndarray:
        """Unit vectors (float32 [len(texts), dim]) of `texts` from the index's model."""
        vectors, _ = await self._embed_packed(client, index, texts, task)
        return vectors

    async def _embed_packed(
        self, client: Any, index: IndexRow, texts: list[str], task: str
    ) -> tuple[np.ndarray, list[bytes]]:
        """`_embed`, and each vector as the float16 blob stored in SQLite. The list -> array
        conversion, normalising and packing of a batch (~5 ms for 64 × 1,536) run on a worker
        thread, not on the loop."""
        result = await client.embed(
            EmbeddingRequest(inputs=texts, model=index.model, dimensions=index.dim or None, task=task)
        )
        vectors, blobs = await asyncio.to_thread(
            _unit_vectors, result.vectors, len(texts), index.actual_dim
        )
        if index.actual_dim is None:
            dim = int(vectors.shape[1])
            await self.store.set_actual_dim(index.id, dim)
            index.actual_dim = dim
        return vectors, blobs

    async def _embed_pending(
        self, ctx: JobContext, index: IndexRow, source_ids: list[int], prog: IndexProgress
    ) -> tuple[int, SwitchboardError | None]:
        pending = await self.store.pending(index.id, source_ids)
        prog.phase = "embedding"
        prog.chunks_total = len(pending)
        prog.chunks_done = 0
        await self._report(ctx, prog)
        if not pending:
            return 0, None
        client = await self.clients.get(index.profile_id)
        limit = self._batch_limit(client)
        batches: list[list[tuple[str, int]]] = [
            pending[i : i + limit] for i in range(0, len(pending), limit)
        ]
        started = time.monotonic()
        errors: list[SwitchboardError] = []
        gate = asyncio.Semaphore(self.max_in_flight)

        async def one(batch: list[tuple[str, int]]) -> None:
            # Not read ahead of its slot: a pause stops sending at once, and lets what was sent
            # finish (see `pause`).
            async with gate:
                if ctx.id in self._pausing:
                    # Pausing: not sent. Parked until the pause stops the run (the batch stays
                    # pending for the resume).
                    await asyncio.Event().wait()
                self._in_flight[ctx.id] = self._in_flight.get(ctx.id, 0) + 1
                try:
                    await embed_batch(batch)
                finally:
                    left = self._in_flight.pop(ctx.id) - 1
                    if left:
                        self._in_flight[ctx.id] = left
                    elif ctx.id in self._pausing:
                        self._pausing[ctx.id].set()

        async def embed_batch(batch: list[tuple[str, int]]) -> None:
            # A file edited since the list was made: its old chunks are gone, skip them
            # (texts are read by hash: an unchanged chunk of a re-chunked file has a new
            # id but the same text). One database call for texts and known vectors.
            alive, known = await self.store.texts_to_embed(index.id, [s for s, _ in batch])
            gone = len(batch) - sum(1 for s, _ in batch if s in alive)
            batch = [(s, c) for s, c in batch if s in alive]
            todo = [(s, c) for s, c in batch if s not in known]
            texts = [embed_text(*alive[s]) for s, _ in todo]
            tokens_by_id = {c: estimate_tokens(t) for (_, c), t in zip(todo, texts)}
            if todo:
                try:
                    vectors, blobs = await self._embed_packed(client, index, texts, "document")
                except SwitchboardError as exc:
                    prog.failed_batches += 1
                    errors.append(exc)
                    await self._report(ctx, prog)
                    return
                shas = [s for s, _ in todo]
                await self._put_vectors(index.id, shas, blobs, vectors)
                prog.tokens += sum(tokens_by_id[c] for _, c in todo)
            prog.chunks_done += len(todo) + gone + (len(batch) - len(todo))
            elapsed = time.monotonic() - started
            if prog.chunks_done:
                rate = prog.chunks_done / max(elapsed, 1e-6)
                prog.eta_seconds = (prog.chunks_total - prog.chunks_done) / rate
            await self._report(ctx, prog)

        async with asyncio.TaskGroup() as group:
            for batch in batches:
                group.create_task(one(batch))
        return len(errors), (errors[-1] if errors else None)

    # --- the vector copy ----------------------------------------------------------------------

    async def _put_vectors(
        self, index_id: int, shas: list[str], blobs: list[bytes], vectors: np.ndarray
    ) -> None:
        async with self._vlock:
            generation = await self.store.put_vectors(index_id, list(zip(shas, blobs)))
            if self._vindex is None or self._vindex_id != index_id:
                return  # not loaded: the next search loads everything from SQLite
            await asyncio.to_thread(self._vindex.add, _keys(shas), vectors)
            self._vgen = generation
            if self._vindex.wants_graph:
                self._start_build(self._vindex, index_id)

    def _index_files(self, index_id: int) -> tuple[Path, Path] | None:
        if self.index_dir is None:
            return None
        return self.index_dir / f"index-{index_id}.usearch", self.index_dir / f"index-{index_id}.json"

    @staticmethod
    def _fingerprint(index: IndexRow, count: int, generation: int, dim: int) -> dict[str, Any]:
        """What a saved graph must have been built from to be used instead of a rebuild."""
        from app.core.notes.vectors import GRAPH_FORMAT

        return {
            "format": GRAPH_FORMAT, "index_id": index.id, "profile_id": index.profile_id,
            "model": index.model, "dim": dim, "created_at": index.created_at,
            "count": count, "generation": generation,
        }

    async def _restore_saved(self, index: IndexRow, count: int, generation: int, dim: int) -> VectorIndex | None:
        """The saved graph when its fingerprint matches SQLite's vectors; else None."""
        files = self._index_files(index.id)
        if files is None:
            return None
        graph_file, print_file = files
        expected = self._fingerprint(index, count, generation, dim)

        def restore() -> VectorIndex | None:
            from app.core.notes.vectors import VectorIndex

            try:
                saved = json.loads(print_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            if saved != expected or not graph_file.exists():
                return None
            vindex = VectorIndex.restore(graph_file, dim, exact_limit=self.exact_limit)
            return vindex if len(vindex) == count else None

        try:
            return await asyncio.to_thread(restore)
        except Exception as exc:  # noqa: BLE001 - a damaged file is rebuilt, never trusted
            log.warning("the saved notes index %s could not be loaded (%s); rebuilding it", graph_file, exc)
            return None

    async def _save_vindex(self) -> None:
        """Save the loaded graph (with its fingerprint) if it changed since it was last saved."""
        async with self._vlock:
            vindex, index_id, generation = self._vindex, self._vindex_id, self._vgen
            if vindex is None or index_id is None or not vindex.approximate or self._vsaved == generation:
                return
            files = self._index_files(index_id)
            index = next((i for i in await self.store.indexes() if i.id == index_id), None)
            if files is None or index is None:
                return
            graph_file, print_file = files
            fingerprint = self._fingerprint(index, len(vindex), generation, vindex.dim)

            def save() -> None:
                graph_file.parent.mkdir(parents=True, exist_ok=True)
                # The fingerprint goes first and comes back last: a crash in between leaves
                # a graph without one, which is rebuilt, never a graph with another's.
                print_file.unlink(missing_ok=True)
                vindex.save(graph_file)
                tmp = print_file.with_name(print_file.name + ".tmp")
                tmp.write_text(json.dumps(fingerprint), encoding="utf-8")
                os.replace(tmp, print_file)

            try:
                await asyncio.to_thread(save)
            except OSError as exc:  # a full disk costs a rebuild at the next start, nothing more
                log.warning("the notes index could not be saved: %s", exc)
                return
            self._vsaved = generation

    def _start_build(self, vindex: VectorIndex, index_id: int) -> None:
        if self._owner.closed or (self._vbuild is not None and not self._vbuild.done()):
            return

        async def build() -> None:
            from app.core.notes.vectors import BuildCancelled

            started = time.monotonic()
            try:
                await asyncio.to_thread(vindex.build_graph)
            except BuildCancelled:
                return
            log.info("built the notes graph of %d vectors in %.1f s", len(vindex), time.monotonic() - started)
            if self._vindex is vindex:
                await self._save_vindex()

        self._vbuild = self._owner.spawn(build(), name="notes-build-graph")

    async def warm(self) -> None:
        """Load the active index's search copy now (the saved graph, or the exact vectors and a
        graph built in the background), so the first search does not wait for it."""
        index = await self._active()
        if index is not None:
            await self._load_vindex(index)

    async def wait_search_ready(self) -> None:
        """Until a graph being built in the background is done (tests, benchmarks)."""
        task = self._vbuild
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    @property
    def search_ready(self) -> bool:
        """False while a loaded index's graph is being built (searches are exact meanwhile)."""
        return self._vbuild is None or self._vbuild.done()

    async def _load_vindex(self, index: IndexRow) -> VectorIndex | None:
        if self._vindex is not None and self._vindex_id == index.id:
            return self._vindex
        if self._vindex is not None:
            await self._save_vindex()  # another index was active: keep its graph
        async with self._vlock:
            if self._vindex is not None and self._vindex_id == index.id:
                return self._vindex
            if self._vindex is not None:
                self._vindex.cancel_build()
            count, generation = await self.store.vector_state(index.id)
            if not count:
                return None
            first = await self.store.vector_page(index.id, "", 1)
            dim = index.actual_dim or len(first[0][1]) // 2
            vindex = None
            if count > self.exact_limit:
                vindex = await self._restore_saved(index, count, generation, dim)
            restored = vindex is not None
            if vindex is None:
                from app.core.notes.vectors import VectorIndex

                vindex = VectorIndex(dim, exact_limit=self.exact_limit)
                after = ""
                while True:  # a page at a time: 1M vectors never sit in memory twice
                    page = await self.store.vector_page(index.id, after, LOAD_PAGE)
                    if not page:
                        break
                    after = page[-1][0]
                    await asyncio.to_thread(_add_page, vindex, page, dim)
            self._vindex, self._vindex_id = vindex, index.id
            self._vgen = generation
            self._vsaved = generation if restored else -1
            if vindex.wants_graph:
                self._start_build(vindex, index.id)
            return vindex

    # --- watching -----------------------------------------------------------------------------

    async def watch(self, source_id: int, on: bool = True) -> None:
        """Watch a folder (saved: watching resumes at next start) and index its changes."""
        await self.store.update_source(source_id, watching=1 if on else 0)
        if on:
            self._start_watcher(source_id)
        else:
            task = self._watchers.pop(source_id, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._emit(NotesEvent("sources"))

    def _start_watcher(self, source_id: int) -> None:
        if source_id in self._watchers or self._owner.closed:
            return
        self._watchers[source_id] = self._owner.spawn(self._watch_loop(source_id), name="notes-watch")

    async def stop_watching(self) -> None:
        tasks = list(self._watchers.values())
        self._watchers.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _snapshot(self, source: SourceRow) -> dict[str, tuple[int, int]]:
        if source.kind == "app":
            return {f"note:{n.id}": (len(n.body), int(n.updated_at * 1e9)) for n in await self.notes.list_all()}
        excludes = [*DEFAULT_EXCLUDES, *json.loads(source.excludes_json)]
        files = await asyncio.to_thread(scan_folder, source.path, excludes, source.max_file_size)
        return {f.rel_path: (f.size, f.mtime_ns) for f in files}

    async def _watch_loop(self, source_id: int) -> None:
        """Poll (stat only), and once a change has been still for `debounce` seconds, index.

        Polling rather than inotify: it works the same on every platform and network drive,
        and a stat walk of 2,000 files is a few milliseconds on a worker thread."""
        while True:
            source = await self.store.get_source(source_id)
            if source is None:
                return
            known = {rel: (r.size, r.mtime_ns) for rel, r in (await self.store.files(source_id)).items()}
            if source.kind == "app":
                known = {rel: v for rel, v in known.items()}
            now = await self._snapshot(source)
            if now != known:
                await asyncio.sleep(self.debounce)
                again = await self._snapshot(source)
                if again == now:  # still: the editor finished saving
                    await self._request_index(source_id)
            await asyncio.sleep(self.poll_interval)

    async def _request_index(self, source_id: int) -> None:
        for job in await self.jobs(active_only=True):
            if job.params.get("source_id") in (source_id, None):
                self._dirty.add(source_id)  # re-run after it: the edit is not lost or doubled
                return
        await self._index_quietly(source_id)

    # --- search -------------------------------------------------------------------------------

    async def search(
        self, query: str, mode: SearchMode = "both", limit: int = 20
    ) -> list[NoteHit]:
        """Best hits first. `semantic`/`both` need an active index with vectors (otherwise
        `both` falls back to keyword and `semantic` raises ConfigError)."""
        query = query.strip()
        if not query:
            return []
        words = {w.lower() for w in _WORD.findall(query) if len(w) > 1}
        depth = max(limit * 3, 30)
        semantic: list[tuple[ChunkRow, float]] = []
        keyword: list[ChunkRow] = []
        if mode in ("semantic", "both"):
            index = await self._active(counts=False)  # a count reads every vector (1M: ~1 s)
            vindex = None if index is None else await self._load_vindex(index)
            if vindex is None or index is None:
                if mode == "semantic":
                    raise ConfigError("Your notes are not indexed by meaning yet. Index them first.")
            else:
                client = await self.clients.get(index.profile_id)
                qv = (await self._embed(client, index, [query], "query"))[0]
                # The copy finds the neighbourhood (over-fetched when approximate); the stored
                # vectors decide the order. Keys are hash prefixes (`_keys`): SQLite maps them
                # back, so no table of 1M hashes is kept in memory.
                wanted = depth * RESCORE_FACTOR if vindex.approximate else depth
                found = await asyncio.to_thread(vindex.search, qv, wanted)
                stored = await self.store.vectors_by_prefix(
                    index.id, [f"{k:0{KEY_HEX}x}" for k, _ in found]
                )
                shas = []
                if stored:
                    import numpy as np

                    from app.core.notes.vectors import rescore
                    matrix = np.frombuffer(b"".join(b for _, b in stored), dtype="<f2")
                    found = rescore(qv, list(range(len(stored))), matrix.reshape(len(stored), -1), depth)
                    shas = [stored[i][0] for i, _ in found]
                rows = await self.store.chunks_by_sha(shas)
                semantic = [(rows[s], score) for s, (_, score) in zip(shas, found) if s in rows]
        if mode in ("keyword", "both"):
            match = keyword_query(query)
            if match is not None:
                keyword = await self.store.keyword(match, depth)
        return self._fuse(semantic, keyword, mode, limit, words)

    def _hit(self, row: ChunkRow, words: set[str]) -> NoteHit:
        heading = [h for h in row.heading.split(HEADING_SEP) if h]
        path = "" if row.note_id is not None else os.path.join(row.source_path, row.rel_path)
        snippet = row.snippet or _highlight(row.text, words)
        return NoteHit(
            chunk_id=row.id, source_id=row.source_id, file_id=row.file_id, path=path,
            title=row.title, heading_path=heading[1:], line_start=row.line_start,
            line_end=row.line_end, page=row.page, snippet=snippet, score=0.0, note_id=row.note_id,
        )

    def _fuse(
        self,
        semantic: list[tuple[ChunkRow, float]],
        keyword: list[ChunkRow],
        mode: SearchMode,
        limit: int,
        words: set[str],
    ) -> list[NoteHit]:
        hits: dict[int, NoteHit] = {}
        for rank, (row, score) in enumerate(semantic, start=1):
            hit = hits.setdefault(row.id, self._hit(row, words))
            hit.semantic_rank = rank
            hit.score = score if mode == "semantic" else SEMANTIC_WEIGHT / (RRF_K + rank)
        for rank, row in enumerate(keyword, start=1):
            hit = hits.get(row.id)
            if hit is None:
                hit = hits[row.id] = self._hit(row, words)
            else:
                hit.snippet = row.snippet or hit.snippet  # FTS5 marks the exact matches
            hit.keyword_rank = rank
            if mode == "keyword":
                hit.score = -row.rank
            else:
                hit.score += KEYWORD_WEIGHT / (RRF_K + rank)
        return sorted(hits.values(), key=lambda h: -h.score)[:limit]

    async def read_hit(self, hit: NoteHit) -> HitPreview:
        file = await self.store.get_file(hit.file_id)
        if file is None:
            raise ConfigError("This note is no longer indexed. Search again.")
        if file.note_id is not None:
            note = await self.notes.get(file.note_id)
            if note is None:
                raise ConfigError("This note was deleted.")
            return HitPreview(hit, note.body, "markdown", hit.line_start, hit.line_end, None)
        fmt = file.format
        full = hit.path

        def read() -> str:
            if fmt == "pdf":
                return self._pdf.extract(full).text.replace("\f", "")
            with open(full, "rb") as fh:
                data = fh.read()
            return extract_html(data).text if fmt == "html" else decode(data)

        try:
            text = await asyncio.to_thread(read)
        except OSError:
            raise ConfigError(f"{full} can no longer be read. It may have been moved.") from None
        return HitPreview(hit, text, fmt if fmt in ("markdown", "text", "html", "pdf", "rst", "org") else "text",  # type: ignore[arg-type]
                          hit.line_start, hit.line_end, hit.page)

    # --- app notes ----------------------------------------------------------------------------

    async def _chunk_note_now(self, note: Note) -> None:
        """Keyword search sees an app note at once; its vector comes with the next index run."""
        sha = _sha(f"{note.title}\n{note.body}".encode())
        await self.store.write_files([self._note_write(note, sha)])
        if (await self.store.get_source(APP_SOURCE_ID) or SourceRow(0, "", "", "", 0, 0, 0, None)).watching:
            await self._request_index(APP_SOURCE_ID)

    async def _drop_note_file(self, note_id: int) -> None:
        files = await self.store.files(APP_SOURCE_ID)
        row = files.get(f"note:{note_id}")
        if row is not None:
            await self.store.delete_files([row.id])

    async def create_note(self, title: str, body: str = "") -> AppNote:
        note = await self.notes.create(title, body)
        await self._chunk_note_now(note)
        out = _to_note(note)
        self._emit(NotesEvent("notes", note=out))
        return out

    async def update_note(
        self, note_id: int, *, title: str | None = None, body: str | None = None
    ) -> AppNote:
        note = await self.notes.get(note_id)
        if note is None:
            raise ConfigError("This note no longer exists.")
        await self.notes.update(
            note_id, title=note.title if title is None else title, body=note.body if body is None else body
        )
        note = await self.notes.get(note_id)
        assert note is not None
        if await self.notes.deleted_at(note_id) is None:
            await self._chunk_note_now(note)
        out = _to_note(note)
        self._emit(NotesEvent("notes", note=out))
        return out

    async def delete_note(self, note_id: int) -> AppNote:
        """Soft delete (leaves search at once); `restore_note` undoes it."""
        note = await self.notes.get(note_id)
        if note is None:
            raise ConfigError("This note no longer exists.")
        await self.notes.set_deleted(note_id, True)
        # Its chunks go; vectors are kept by text hash, so an undo costs no embedding.
        await self._drop_note_file(note_id)
        out = _to_note(note, await self.notes.deleted_at(note_id))
        self._emit(NotesEvent("notes", note=out))
        return out

    async def restore_note(self, note_id: int) -> AppNote:
        note = await self.notes.get(note_id)
        if note is None:
            raise ConfigError("This note was deleted for good.")
        await self.notes.set_deleted(note_id, False)
        await self._chunk_note_now(note)
        out = _to_note(note)
        self._emit(NotesEvent("notes", note=out))
        return out

    async def get_note(self, note_id: int) -> AppNote | None:
        note = await self.notes.get(note_id)
        return None if note is None else _to_note(note, await self.notes.deleted_at(note_id))

    async def list_notes(self) -> list[AppNote]:
        """Live app notes, most recently updated first."""
        return [_to_note(n) for n in await self.notes.list_all()]

    async def save_message_as_note(self, message_id: int, title: str | None = None) -> AppNote:
        """A chat message's text as a new app note (title: given, else the thread's)."""
        found = await self.store.message_text(message_id)
        if found is None:
            raise ConfigError("This message no longer exists.")
        content, thread_title = found
        if not content.strip():
            raise ConfigError("This message has no text to save.")
        return await self.create_note(title or thread_title or "Saved from chat", content)

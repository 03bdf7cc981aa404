"""The SQLite database: one connection owned by one worker thread, migrated on open.

Every statement runs on the database's own thread (a single-thread executor), so the Qt/asyncio
thread never blocks on disk I/O and the connection is never shared between threads:

    db = Database.open(path)                  # sync: connect, pragmas, backup, migrate
    rows = await db.run(fetch_rows, thread_id) # fn(conn, *args) runs on the DB thread
    db.run_sync(fn, ...)                      # the same, blocking: start-up, shutdown, tests
    db.close()                                # checkpoint WAL, close, stop the thread

The connection is in autocommit mode (`isolation_level=None`); a function that needs several
statements to be atomic wraps them in `with transaction(conn): ...`.

SQLite failures a user can act on (disk full, I/O error, read-only file, locked by another
process, corrupt file) become `StorageError` with a sentence; anything else is a bug and
propagates unchanged. A failure to *open* is a `DatabaseOpenError` (a StorageError) whose
`kind` says which start-up failure it is, so the start-up window can offer the right actions:

    damaged  not-a-database  newer-schema  locked  read-only  disk-full  io-error  unopenable

A database written by a newer Switchboard is refused before anything touches it: its version
is read from the file header with plain file I/O, before SQLite opens it (no WAL switch, no
backup, no migration). `Database.open(path, read_only=True)` opens with a `mode=ro` URI and
never migrates or writes (the start-up window's "Open read-only").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

from app.core.errors import StorageError
from app.core.store.migrations import MIGRATIONS, Migration

__all__ = [
    "Database",
    "DatabaseOpenError",
    "backup_path_for",
    "backups_of",
    "failure_kind",
    "restore_backup",
    "storage_error_from",
    "transaction",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# While opening, a lock held by another program is reported after this long rather than after
# BUSY_TIMEOUT_MS: the user is looking at a start-up window, not waiting on a write.
OPEN_BUSY_TIMEOUT_MS = 1500

SQLITE_MAGIC = b"SQLite format 3\x00"

# (substring of sqlite3's message, start-up failure kind, user sentence)
_KNOWN_FAILURES: tuple[tuple[str, str, str], ...] = (
    (
        "database or disk is full",
        "disk-full",
        (
            "The disk is full, so the database could not be written. Free some disk space and try "
            "again; nothing already saved was lost."
        ),
    ),
    (
        "disk i/o error",
        "io-error",
        (
            "The disk reported an error while writing the database. Check the drive and the data "
            "directory, then try again."
        ),
    ),
    (
        "readonly",
        "read-only",
        "The database file is read-only. Check the permissions of the data directory.",
    ),
    (
        "unable to open database",
        "unopenable",
        (
            "The database file could not be opened. Check that the data directory exists and is "
            "writable."
        ),
    ),
    (
        "database is locked",
        "locked",
        (
            "The database is locked by another program (perhaps a second Switchboard window). Close "
            "it and try again."
        ),
    ),
    (
        "malformed",
        "damaged",
        (
            "The database file is damaged. Restore it from a backup copy (files named *.bak-v*) in "
            "the data directory."
        ),
    ),
    (
        "file is not a database",
        "not-a-database",
        (
            "The file is not a Switchboard database. Pick another data directory or move the file "
            "away."
        ),
    ),
)


def storage_error_from(exc: sqlite3.Error) -> StorageError | None:
    """The StorageError for a SQLite failure a user can act on, or None for a bug."""
    if not isinstance(exc, (sqlite3.OperationalError, sqlite3.DatabaseError)):
        return None
    if isinstance(exc, (sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.InterfaceError)):
        return None
    text = str(exc).lower()
    for needle, _kind, sentence in _KNOWN_FAILURES:
        if needle in text:
            return StorageError(sentence, detail=str(exc))
    return None


class DatabaseOpenError(StorageError):
    """The database could not be opened; `kind` names the failure (see the module docstring)."""

    def __init__(
        self,
        user_message: str,
        *,
        kind: str,
        path: Path | None = None,
        detail: str | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.kind = kind
        self.path = path
        self.version = version
        self.generic = False


def failure_kind(exc: BaseException) -> str | None:
    """The start-up failure kind of a StorageError or SQLite error ("disk-full", "locked", ...),
    from its `kind` or else from SQLite's own words in it; None when it is none of them."""
    kind = getattr(exc, "kind", None)
    if kind:
        return str(kind)
    text = f"{exc} {getattr(exc, 'detail', '') or ''}".lower()
    for needle, found, _sentence in _KNOWN_FAILURES:
        if needle in text:
            return found
    return None


def _open_error_from(exc: sqlite3.Error, path: Path | None) -> DatabaseOpenError | None:
    if storage_error_from(exc) is None:
        return None
    text = str(exc).lower()
    for needle, kind, sentence in _KNOWN_FAILURES:
        if needle in text:
            error = DatabaseOpenError(sentence, kind=kind, path=path, detail=str(exc))
            error.generic = True  # the sentence of any write failure, not one about opening
            return error
    return None  # pragma: no cover  (storage_error_from matched one of the same needles)


def backups_of(path: Path) -> list[Path]:
    """The `<name>.bak-v*` copies that exist beside `path`, newest schema version first."""

    def version(p: Path) -> int:
        tail = p.name.rsplit(".bak-v", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    found = [p for p in path.parent.glob(f"{path.name}.bak-v*") if p.is_file() and version(p) >= 0]
    return sorted(found, key=version, reverse=True)


def restore_backup(path: Path, backup: Path, *, now: float | None = None) -> Path:
    """Put the copy `backup` in place of the database at `path`, moving the current file (and
    its -wal/-shm) aside as `<name>.damaged-<YYYYmmdd-HHMMSS>`, never deleting it. The backup
    itself is copied, so it stays available. Returns where the old file went."""
    import shutil
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    if path.exists():
        os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    partial = path.with_name(path.name + ".restoring")
    shutil.copy2(backup, partial)
    os.replace(partial, path)  # a crash mid-copy never leaves half a database under its name
    log.warning("restored %s from %s; the previous file is %s", path.name, backup.name, aside.name)
    return aside


def _check_file(path: Path, latest: int) -> None:
    """Refuse, with plain file reads only, a file that is not a SQLite database, one cut short,
    or one written by a newer schema. SQLite has not touched the file when this raises."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
            size = fh.seek(0, 2)
    except FileNotFoundError:
        return
    except PermissionError as exc:
        raise DatabaseOpenError(
            "The database file cannot be read: permission denied. Check the permissions of the "
            "data folder, or choose another one.",
            kind="unopenable",
            path=path,
            detail=str(exc),
        ) from exc
    if size == 0:
        return  # SQLite treats an empty file as a new database
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DatabaseOpenError(
            f"{path.name} is not a Switchboard database (it is not a SQLite file at all). Move it "
            "away or restore a backup copy, or choose another data folder.",
            kind="not-a-database",
            path=path,
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    change_counter = header[24:28]
    valid_for = header[92:96]
    # The page count in the header is valid only when the two counters agree (SQLite >= 3.7.0).
    if page_size and pages and change_counter == valid_for and size < pages * page_size:
        raise DatabaseOpenError(
            f"{path.name} is damaged: the file is shorter than its header says ({size:,} of "
            f"{pages * page_size:,} bytes), so part of it is missing. Restore a backup copy, or "
            "choose another data folder.",
            kind="damaged",
            path=path,
            detail=f"truncated to {size} bytes of {pages * page_size}",
        )
    version = int.from_bytes(header[60:64], "big")
    if version > latest:
        raise DatabaseOpenError(
            f"This database was written by a newer Switchboard (schema v{version}; this version "
            f"knows up to v{latest}). It was left untouched. Update Switchboard, open it "
            "read-only, or choose another data folder.",
            kind="newer-schema",
            path=path,
            version=version,
        )


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[None]:
    """Run the block in one transaction (the connection is in autocommit mode otherwise)."""
    if conn.in_transaction:  # nested use: the outer block owns the transaction
        yield
        return
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def backup_path_for(path: Path, version: int) -> Path:
    """Where the copy taken before migrating from `version` goes: `<name>.bak-v{version}`."""
    return path.with_name(f"{path.name}.bak-v{version}")


def _configure(conn: sqlite3.Connection, *, wal: bool, read_only: bool = False) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {OPEN_BUSY_TIMEOUT_MS}")
    # Reading the schema here finds a damaged first page (and a lock held by another program)
    # now, as an open failure, rather than at the first query of the chat tab.
    conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    conn.execute("PRAGMA foreign_keys = ON")
    if wal and not read_only:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _is_empty(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"
    ).fetchone()
    return int(row[0]) == 0


def _backup(conn: sqlite3.Connection, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
    finally:
        target.close()


def _migrate(conn: sqlite3.Connection, path: Path | None, migrations: Sequence[Migration]) -> None:
    latest = len(migrations)
    version = _user_version(conn)
    if version > latest:  # a :memory: database, or a file whose header check was skipped
        raise DatabaseOpenError(
            f"This database was written by a newer Switchboard (schema v{version}; this version "
            f"knows up to v{latest}). Update Switchboard or pick another data directory.",
            kind="newer-schema",
            path=path,
            version=version,
        )
    if version == latest:
        return
    if path is not None and not _is_empty(conn):
        _backup(conn, backup_path_for(path, version))
    for target in range(version, latest):
        step = migrations[target]
        try:
            with transaction(conn):
                step(conn)
                conn.execute(f"PRAGMA user_version = {target + 1}")
        except sqlite3.Error as exc:
            known = _open_error_from(exc, path)
            raise DatabaseOpenError(
                f"Updating the database from v{target} to v{target + 1} failed; it was left at "
                f"v{target}"
                + (f" and a copy is in {backup_path_for(path, version).name}" if path else "")
                + ". "
                + (known.user_message if known else "Please report this."),
                kind=known.kind if known else "migration-failed",
                path=path,
                detail=str(exc),
            ) from exc


class Database:
    """A SQLite database whose connection lives on one worker thread."""

    def __init__(
        self,
        path: Path | None,
        conn: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        thread_ident: int,
    ) -> None:
        self.path = path
        self._conn = conn
        self._executor = executor
        self._thread_ident = thread_ident
        self._closed = False
        self.read_only = False

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        migrations: Sequence[Migration] | None = None,
        read_only: bool = False,
    ) -> Database:
        """Open (creating if needed) and migrate the database at `path`.

        `":memory:"` opens a private in-memory database (no WAL, no backup). With `read_only`
        the file is opened with a `mode=ro` URI: nothing is created, migrated or written, and
        every write raises the "read-only" StorageError. Raises DatabaseOpenError (a
        StorageError with a `kind`) when the file cannot be opened or migrated.
        """
        memory = str(path) == ":memory:"
        file_path = None if memory else Path(path)
        steps = MIGRATIONS if migrations is None else migrations
        if file_path is not None and not read_only:
            _check_file(file_path, len(steps))
        if file_path is not None and read_only and not file_path.exists():
            raise DatabaseOpenError(
                f"There is no database to read in {file_path.parent}.",
                kind="unopenable",
                path=file_path,
            )
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="switchboard-db")

        def connect_ro(immutable: bool) -> sqlite3.Connection:
            assert file_path is not None
            query = "mode=ro&immutable=1" if immutable else "mode=ro"
            return sqlite3.connect(
                f"{file_path.absolute().as_uri()}?{query}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )

        def connect() -> tuple[sqlite3.Connection, int]:
            if read_only:
                conn = connect_ro(immutable=False)
                try:
                    _configure(conn, wal=True, read_only=True)
                except sqlite3.Error as exc:
                    conn.close()
                    # A WAL database in a folder SQLite cannot write (a read-only mount) cannot
                    # get its -shm file; nobody else can write there either, so read it as is.
                    if not isinstance(exc, sqlite3.OperationalError) or os.access(
                        file_path.parent,  # type: ignore[union-attr]
                        os.W_OK,
                    ):
                        raise
                    conn = connect_ro(immutable=True)
            else:
                conn = sqlite3.connect(
                    ":memory:" if file_path is None else file_path,
                    isolation_level=None,
                    check_same_thread=False,
                )
            try:
                _configure(conn, wal=file_path is not None, read_only=read_only)
                if read_only:
                    version = _user_version(conn)
                    if version != len(steps):
                        log.info("reading a v%d database read-only (app: v%d)", version, len(steps))
                else:
                    _migrate(conn, file_path, steps)
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            except BaseException:
                conn.close()
                raise
            return conn, threading.get_ident()

        try:
            conn, ident = executor.submit(connect).result()
        except sqlite3.Error as exc:
            executor.shutdown(wait=True)
            known = _open_error_from(exc, file_path)
            if known is not None:
                raise known from exc
            raise
        except BaseException:
            executor.shutdown(wait=True)
            raise
        db = cls(file_path, conn, executor, ident)
        db.read_only = read_only
        return db

    # --- running work ----------------------------------------------------------------------

    @property
    def thread_ident(self) -> int:
        """`threading.get_ident()` of the thread that owns the connection."""
        return self._thread_ident

    @property
    def closed(self) -> bool:
        return self._closed

    def on_db_thread(self) -> bool:
        return threading.get_ident() == self._thread_ident

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return fn(self._conn, *args)
        except sqlite3.Error as exc:
            known = storage_error_from(exc)
            if known is not None:
                raise known from exc
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the database is closed")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the database thread and return its result."""
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the database thread, blocking until it is done."""
        self._check_open()
        if self.on_db_thread():
            return self._call(fn, args)
        return self._executor.submit(self._call, fn, args).result()

    @property
    def version(self) -> int:
        return self.run_sync(lambda conn: _user_version(conn))

    # --- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint the WAL, close the connection and stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True

        def shut(conn: sqlite3.Connection) -> None:
            try:
                if not self.read_only:
                    if self.path is not None:
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    conn.execute("PRAGMA optimize")
            except sqlite3.Error as exc:  # closing must still happen
                log.warning("database checkpoint failed: %s", exc)
            finally:
                conn.close()

        try:
            self._executor.submit(shut, self._conn).result()
        finally:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

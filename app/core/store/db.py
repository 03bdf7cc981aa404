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
propagates unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

from app.core.errors import StorageError
from app.core.store.migrations import MIGRATIONS, Migration

__all__ = ["Database", "backup_path_for", "storage_error_from", "transaction"]

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000

# (substring of sqlite3's message, user sentence)
_KNOWN_FAILURES: tuple[tuple[str, str], ...] = (
    (
        "database or disk is full",
        (
            "The disk is full, so the database could not be written. Free some disk space and try "
            "again; nothing already saved was lost."
        ),
    ),
    (
        "disk i/o error",
        (
            "The disk reported an error while writing the database. Check the drive and the data "
            "directory, then try again."
        ),
    ),
    (
        "readonly",
        "The database file is read-only. Check the permissions of the data directory.",
    ),
    (
        "unable to open database",
        (
            "The database file could not be opened. Check that the data directory exists and is "
            "writable."
        ),
    ),
    (
        "database is locked",
        (
            "The database is locked by another program (perhaps a second Switchboard window). Close "
            "it and try again."
        ),
    ),
    (
        "malformed",
        (
            "The database file is damaged. Restore it from a backup copy (files named *.bak-v*) in "
            "the data directory."
        ),
    ),
    (
        "file is not a database",
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
    for needle, sentence in _KNOWN_FAILURES:
        if needle in text:
            return StorageError(sentence, detail=str(exc))
    return None


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


def _configure(conn: sqlite3.Connection, *, wal: bool) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if wal:
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
    if version > latest:
        raise StorageError(
            f"This database was written by a newer Switchboard (schema v{version}; this version "
            f"knows up to v{latest}). Update Switchboard or pick another data directory."
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
            known = storage_error_from(exc)
            raise StorageError(
                f"Updating the database from v{target} to v{target + 1} failed; it was left at "
                f"v{target}"
                + (f" and a copy is in {backup_path_for(path, version).name}" if path else "")
                + ". "
                + (known.user_message if known else "Please report this."),
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

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, migrations: Sequence[Migration] | None = None) -> Database:
        """Open (creating if needed) and migrate the database at `path`.

        `":memory:"` opens a private in-memory database (no WAL, no backup). Raises
        StorageError when the file cannot be opened or migrated.
        """
        memory = str(path) == ":memory:"
        file_path = None if memory else Path(path)
        steps = MIGRATIONS if migrations is None else migrations
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="switchboard-db")

        def connect() -> tuple[sqlite3.Connection, int]:
            conn = sqlite3.connect(
                ":memory:" if file_path is None else file_path,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                _configure(conn, wal=file_path is not None)
                _migrate(conn, file_path, steps)
            except BaseException:
                conn.close()
                raise
            return conn, threading.get_ident()

        try:
            conn, ident = executor.submit(connect).result()
        except sqlite3.Error as exc:
            executor.shutdown(wait=True)
            known = storage_error_from(exc)
            if known is not None:
                raise known from exc
            raise
        except BaseException:
            executor.shutdown(wait=True)
            raise
        return cls(file_path, conn, executor, ident)

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

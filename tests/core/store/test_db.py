"""Database: pragmas, the one-thread rule, error mapping, opening and closing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.core.errors import StorageError
from app.core.store.db import (
    Database,
    DatabaseOpenError,
    backups_of,
    storage_error_from,
    transaction,
)
from app.core.store.migrations import LATEST_VERSION
from app.core.store.threads import ThreadRepository


def test_pragmas_are_set(db: Database) -> None:
    def read(conn: sqlite3.Connection) -> dict[str, object]:
        return {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in (
                "journal_mode",
                "foreign_keys",
                "busy_timeout",
                "synchronous",
                "user_version",
            )
        }

    values = db.run_sync(read)
    assert values == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,  # NORMAL
        "user_version": LATEST_VERSION,
    }
    assert db.version == LATEST_VERSION


def test_run_returns_the_result_from_the_db_thread(db: Database, arun) -> None:
    async def main() -> tuple[int, int]:
        return await db.run(lambda conn, a, b: (threading.get_ident(), a + b), 2, 3)

    ident, total = arun(main())
    assert total == 5
    assert ident == db.thread_ident
    assert ident != threading.get_ident()
    assert db.run_sync(lambda conn: threading.get_ident()) == db.thread_ident


def test_every_statement_of_the_repository_runs_on_the_db_thread(db: Database, arun) -> None:
    seen: list[tuple[int, str]] = []

    def trace(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(lambda sql: seen.append((threading.get_ident(), sql)))

    db.run_sync(trace)
    repo = ThreadRepository(db)

    async def main() -> None:
        thread = await repo.create_thread("t")
        message = await repo.add_message(thread.id, None, "user", "hello")
        await repo.journal_stream(message.id, "hello again", "")
        await repo.update_message(message.id, status="complete")
        await repo.search("hello")
        await repo.delete_subtree(message.id)

    arun(main())
    db.run_sync(lambda conn: conn.set_trace_callback(None))
    writes = [
        sql for _, sql in seen if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert len(writes) >= 5
    assert {ident for ident, _ in seen} == {db.thread_ident}


def test_run_sync_from_the_db_thread_does_not_deadlock(db: Database) -> None:
    inner = db.run_sync(lambda conn: db.run_sync(lambda c: threading.get_ident()))
    assert inner == db.thread_ident


def test_disk_full_becomes_storage_error(db: Database, arun) -> None:
    repo = ThreadRepository(db)

    def cap(conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return pages

    async def main() -> None:
        thread = await repo.create_thread("small disk")
        db.run_sync(cap)
        with pytest.raises(StorageError) as info:
            await repo.add_message(thread.id, None, "user", "x" * 200_000)
        assert "disk is full" in info.value.user_message
        assert "database or disk is full" in str(info.value)
        # The failed write left nothing half-done: the thread has no message and still works.
        assert await repo.thread_messages(thread.id) == []
        await repo.rename(thread.id, "still writable")
        assert (await repo.get_thread(thread.id)).title == "still writable"  # type: ignore[union-attr]

    arun(main())


def test_bugs_are_not_turned_into_storage_errors(db: Database, arun) -> None:
    async def main() -> None:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await db.run(lambda conn: conn.execute("SELECT * FROM nowhere"))
        with pytest.raises(sqlite3.IntegrityError):
            await db.run(
                lambda conn: conn.execute(
                    "INSERT INTO messages (thread_id, role, created_at, updated_at)"
                    " VALUES (999, 'user', 0, 0)"
                )
            )

    arun(main())


def test_storage_error_mapping() -> None:
    assert isinstance(storage_error_from(sqlite3.OperationalError("disk I/O error")), StorageError)
    err = storage_error_from(sqlite3.OperationalError("attempt to write a readonly database"))
    assert err is not None and "read-only" in err.user_message
    assert storage_error_from(sqlite3.OperationalError("no such column: x")) is None
    assert storage_error_from(sqlite3.IntegrityError("database or disk is full")) is None


def test_read_only_file_becomes_storage_error(tmp_path: Path, arun) -> None:
    path = tmp_path / "ro.db"
    Database.open(path).close()
    db = Database.open(path)
    try:
        db.run_sync(lambda conn: conn.execute("PRAGMA query_only = ON"))
        repo = ThreadRepository(db)
        with pytest.raises(StorageError):
            arun(repo.create_thread("x"))
    finally:
        db.close()


def test_not_a_database_becomes_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError, match="not a Switchboard database"):
        Database.open(path)


def test_newer_schema_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    with pytest.raises(StorageError, match="newer Switchboard"):
        Database.open(db_path)


def test_close_is_idempotent_and_checkpoints(db_path: Path) -> None:
    db = Database.open(db_path)
    db.run_sync(lambda conn: conn.execute("INSERT INTO settings VALUES ('k', '1')"))
    db.close()
    db.close()
    assert db.closed
    with pytest.raises(RuntimeError):
        db.run_sync(lambda conn: None)
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT value FROM settings").fetchone() == ("1",)
    finally:
        conn.close()


def test_transaction_rolls_back_on_error(db: Database) -> None:
    def failing(conn: sqlite3.Connection) -> None:
        with transaction(conn):
            conn.execute("INSERT INTO settings VALUES ('a', '1')")
            raise ValueError("boom")

    with pytest.raises(ValueError):
        db.run_sync(failing)
    assert (
        db.run_sync(lambda conn: conn.execute("SELECT count(*) FROM settings").fetchone()[0]) == 0
    )


def test_in_memory_database(arun) -> None:
    db = Database.open(":memory:")
    try:
        assert db.path is None
        assert db.version == LATEST_VERSION
        thread = arun(ThreadRepository(db).create_thread("mem"))
        assert thread.title == "mem"
    finally:
        db.close()


# --- open failures: each a DatabaseOpenError with the kind the start-up window acts on --------


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_newer_schema_is_refused_before_anything_is_written(db_path: Path) -> None:
    Database.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = DELETE")  # WAL would hide later writes in the -wal file
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    before = _files(db_path.parent)
    with pytest.raises(DatabaseOpenError) as info:
        Database.open(db_path)
    assert info.value.kind == "newer-schema"
    assert info.value.version == LATEST_VERSION + 1
    assert "newer Switchboard" in info.value.user_message
    # No WAL switch, no backup copy, no migration: the folder holds the same bytes.
    assert _files(db_path.parent) == before
    assert not backups_of(db_path)


def test_garbage_in_the_schema_page_is_damaged(db_path: Path, arun) -> None:
    db = Database.open(db_path)
    arun(ThreadRepository(db).create_thread("kept"))
    db.close()
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # page 1 after the header: the schema's b-tree
    db_path.write_bytes(bytes(data))
    with pytest.raises(DatabaseOpenError) as info:
        Database.open(db_path)
    assert info.value.kind == "damaged"
    assert "backup" in info.value.user_message


def test_a_truncated_file_is_damaged(db_path: Path, arun) -> None:
    db = Database.open(db_path)
    repo = ThreadRepository(db)
    for i in range(30):
        arun(repo.create_thread(f"thread {i} " + "x" * 500))
    db.close()
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatabaseOpenError) as info:
        Database.open(db_path)
    assert info.value.kind == "damaged"
    assert "shorter than its header says" in info.value.user_message


def test_a_file_that_is_not_a_database(db_path: Path) -> None:
    db_path.write_bytes(b"PK\x03\x04 a zip, not sqlite" * 50)
    with pytest.raises(DatabaseOpenError) as info:
        Database.open(db_path)
    assert info.value.kind == "not-a-database"
    assert db_path.read_bytes().startswith(b"PK")


def test_an_exclusive_lock_held_by_another_program_is_locked(db_path: Path) -> None:
    Database.open(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode = DELETE")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseOpenError) as info:
            Database.open(db_path)
        assert info.value.kind == "locked"
        assert "another program" in info.value.user_message
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_read_only_open_reads_and_refuses_writes_without_touching_the_file(
    db_path: Path, arun
) -> None:
    db = Database.open(db_path)
    arun(ThreadRepository(db).create_thread("history"))
    db.close()
    before = _files(db_path.parent)
    ro = Database.open(db_path, read_only=True)
    try:
        assert ro.read_only
        repo = ThreadRepository(ro)
        assert [t.title for t in arun(repo.list_threads())] == ["history"]
        with pytest.raises(StorageError, match="read-only"):
            arun(repo.create_thread("new"))
    finally:
        ro.close()
    # A WAL reader may leave empty -wal/-shm files beside it; the database itself is unchanged.
    assert _files(db_path.parent)[db_path.name] == before[db_path.name]


def test_read_only_open_of_a_newer_schema_reads_it(db_path: Path, arun) -> None:
    db = Database.open(db_path)
    arun(ThreadRepository(db).create_thread("from the future"))
    db.close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    ro = Database.open(db_path, read_only=True)
    try:
        assert [t.title for t in arun(ThreadRepository(ro).list_threads())] == ["from the future"]
    finally:
        ro.close()


def test_backups_of_lists_only_real_backup_files(db_path: Path) -> None:
    assert backups_of(db_path) == []
    for name in ("switchboard.db.bak-v3", "switchboard.db.bak-v12", "switchboard.db.bak-vx"):
        (db_path.parent / name).write_bytes(b"x")
    assert [p.name for p in backups_of(db_path)] == [
        "switchboard.db.bak-v12",
        "switchboard.db.bak-v3",
    ]


def test_restore_backup_moves_the_damaged_file_aside_and_keeps_the_backup(
    db_path: Path, arun
) -> None:
    from app.core.store.db import restore_backup

    db = Database.open(db_path)
    arun(ThreadRepository(db).create_thread("saved"))
    db.close()
    backup = db_path.with_name(db_path.name + "-copy.bak-v1")
    backup.write_bytes(db_path.read_bytes())
    db_path.write_bytes(b"garbage" * 1000)
    aside = restore_backup(db_path, backup, now=1_700_000_000)
    assert aside.read_bytes() == b"garbage" * 1000
    assert aside.name.startswith("switchboard.db.damaged-")
    assert backup.exists()
    db = Database.open(db_path)
    try:
        assert [t.title for t in arun(ThreadRepository(db).list_threads())] == ["saved"]
    finally:
        db.close()

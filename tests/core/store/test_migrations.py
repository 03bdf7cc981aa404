"""Migrations: from every earlier version (empty and with data) to the latest, with backups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.core.errors import StorageError
from app.core.store.db import Database, backup_path_for
from app.core.store.migrations import LATEST_VERSION, MIGRATIONS, execute_script
from app.core.store.threads import ThreadRepository


def build_at_version(path: Path, version: int) -> None:
    """A database file at schema `version`, made by running the first `version` steps."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for step in range(version):
            conn.execute("BEGIN")
            MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
            conn.execute("COMMIT")
    finally:
        conn.close()


def seed(path: Path, version: int) -> dict[str, int]:
    """Write threads, a branched message tree and other rows using only columns of `version`."""
    assert version >= 1  # v0 has no tables
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(
            "INSERT INTO threads (id, title, created_at, updated_at, params_json)"
            " VALUES (1, 'Alpha', 1, 1, '{\"temperature\": 0.5}'), (2, 'Beta', 2, 2, '{}')"
        )
        conn.execute(
            "INSERT INTO messages (id, thread_id, parent_id, role, content, status, usage_json,"
            " created_at, updated_at) VALUES"
            " (1, 1, NULL, 'user', 'tell me about zebras', 'complete', NULL, 1, 1),"
            " (2, 1, 1, 'assistant', 'zebras are striped', 'complete', '{\"completion_tokens\": 4}', 2, 2),"
            " (3, 1, 1, 'assistant', 'a second answer', 'streaming', NULL, 3, 3),"
            " (4, 2, NULL, 'user', 'hello beta', 'complete', NULL, 4, 4)"
        )
        conn.execute("UPDATE threads SET selected_leaf_id = 2 WHERE id = 1")
        conn.execute("INSERT INTO settings VALUES ('theme', '\"dark\"')")
        conn.execute(
            "INSERT INTO notes (title, body, created_at, updated_at) VALUES ('n', 'quokka', 1, 1)"
        )
    finally:
        conn.close()
    return {"threads": 2, "messages": 4}


def schema_shape(path: Path) -> dict[str, object]:
    """Tables with their columns, plus index and trigger names: what a migration must produce."""
    conn = sqlite3.connect(path)
    try:
        objects = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
        shape: dict[str, object] = {}
        for kind, name, _ in objects:
            if kind == "table":
                shape[f"table:{name}"] = sorted(
                    (r[1], r[2], r[3], r[4]) for r in conn.execute(f"PRAGMA table_info('{name}')")
                )
            else:
                shape[f"{kind}:{name}"] = True
        return shape
    finally:
        conn.close()


def test_migrations_are_numbered_by_list_position() -> None:
    assert LATEST_VERSION == len(MIGRATIONS) >= 2


def test_empty_file_migrates_to_latest_without_backup(db_path: Path) -> None:
    Database.open(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    finally:
        conn.close()
    assert list(db_path.parent.glob("*.bak-v*")) == []


@pytest.mark.parametrize("version", range(LATEST_VERSION))
def test_schema_from_every_version_matches_a_fresh_one(tmp_path: Path, version: int) -> None:
    fresh = tmp_path / "fresh.db"
    Database.open(fresh).close()
    old = tmp_path / "old.db"
    build_at_version(old, version)
    Database.open(old).close()
    assert schema_shape(old) == schema_shape(fresh)


@pytest.mark.parametrize("version", range(1, LATEST_VERSION))
def test_data_survives_migration_from_every_version(tmp_path: Path, version: int, arun) -> None:
    path = tmp_path / "data.db"
    build_at_version(path, version)
    counts = seed(path, version)

    db = Database.open(path)
    try:
        assert db.version == LATEST_VERSION
        repo = ThreadRepository(db)

        async def check() -> None:
            threads = await repo.list_threads()
            assert {t.title for t in threads} == {"Alpha", "Beta"}
            assert len(threads) == counts["threads"]
            alpha = next(t for t in threads if t.title == "Alpha")
            assert alpha.params.temperature == 0.5
            messages = [m for t in threads for m in await repo.thread_messages(t.id)]
            assert len(messages) == counts["messages"]
            path_ = await repo.path_to(2)
            assert [m.content for m in path_] == ["tell me about zebras", "zebras are striped"]
            assert path_[-1].usage is not None and path_[-1].usage.completion_tokens == 4
            assert path_[-1].refusal == "" and path_[-1].tool_calls == []
            assert (await repo.default_leaf(alpha.id)).id == 2  # type: ignore[union-attr]
            # Indexed rows written before the migration are still searchable.
            hits = await repo.search("zebra")
            assert {h.message_id for h in hits} == {1, 2}
            # ...and the leftover streaming row is recovered as usual.
            assert await repo.mark_streaming_interrupted() == 1
            assert {h.message_id for h in await repo.search("second")} == {3}

        arun(check())
    finally:
        db.close()

    backup = backup_path_for(path, version)
    assert backup.exists()
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == counts["messages"]
    finally:
        conn.close()


def test_a_failing_migration_leaves_the_old_version_and_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "fail.db"
    build_at_version(path, 1)
    seed(path, 1)

    def broken(conn: sqlite3.Connection) -> None:
        execute_script(conn, "ALTER TABLE messages ADD COLUMN half_done TEXT;\nSELECT * FROM nope;")

    with pytest.raises(StorageError, match="from v1 to v2 failed"):
        Database.open(path, migrations=[MIGRATIONS[0], broken])

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = {r[1] for r in conn.execute("PRAGMA table_info('messages')")}
        assert "half_done" not in columns  # the step's transaction was rolled back
    finally:
        conn.close()
    assert backup_path_for(path, 1).exists()


def test_execute_script_keeps_trigger_bodies_whole_and_rejects_partial_sql() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        execute_script(
            conn,
            "CREATE TABLE a (x);\nCREATE TABLE log (x);\n"
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO log VALUES (new.x);\nEND;\n",
        )
        conn.execute("INSERT INTO a VALUES (7)")
        assert conn.execute("SELECT x FROM log").fetchall() == [(7,)]
        with pytest.raises(ValueError, match="incomplete"):
            execute_script(conn, "CREATE TABLE b (x)")
    finally:
        conn.close()


def test_v3_refills_search_without_streaming_rows_and_indexes_prefixes(tmp_path: Path, arun) -> None:
    path = tmp_path / "switchboard.db"
    build_at_version(path, 2)
    seed(path, 2)
    with Database.open(path) as db:
        repo = ThreadRepository(db)
        # Completed messages are found again, by whole word and by a two-letter prefix.
        assert {h.message_id for h in arun(repo.search("zebras"))} == {1, 2}
        assert {h.message_id for h in arun(repo.search("ze"))} == {1, 2}
        # The row that was streaming is not indexed until it ends, as the triggers do it.
        assert arun(repo.search("second")) == []
        arun(repo.update_message(3, status="interrupted"))
        assert [h.message_id for h in arun(repo.search("second"))] == [3]
        options = db.run_sync(
            lambda c: c.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'")
            .fetchone()[0]
        )
        assert "prefix='2 3'" in options
        # The index is consistent with its content table.
        db.run_sync(
            lambda c: c.execute(
                "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"
            )
        )


def test_a_failing_migration_is_an_open_error_the_start_up_window_can_name(
    tmp_path: Path,
) -> None:
    from app.core.store.db import DatabaseOpenError, backups_of

    path = tmp_path / "fail.db"
    build_at_version(path, 1)
    seed(path, 1)

    def full(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT * FROM nope")

    with pytest.raises(DatabaseOpenError) as info:
        Database.open(path, migrations=[MIGRATIONS[0], full])
    assert info.value.kind == "disk-full"
    assert "Free some disk space" in info.value.user_message
    with pytest.raises(DatabaseOpenError) as info:
        Database.open(path, migrations=[MIGRATIONS[0], broken])
    assert info.value.kind == "migration-failed"
    # The start-up window offers the copy taken before the step.
    assert backups_of(path) == [backup_path_for(path, 1)]


def test_newer_schema_leaves_the_file_and_its_folder_as_they_were(tmp_path: Path) -> None:
    from app.core.store.db import DatabaseOpenError

    path = tmp_path / "future.db"
    build_at_version(path, LATEST_VERSION)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(DatabaseOpenError, match="newer Switchboard"):
        Database.open(path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_v5_indexes_the_selected_leaf_so_deletes_do_not_scan_threads(tmp_path: Path) -> None:
    path = tmp_path / "switchboard.db"
    build_at_version(path, 3)
    Database.open(path).close()
    conn = sqlite3.connect(path)
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM threads WHERE selected_leaf_id = 5"
        ).fetchall()
        assert any("threads_selected_leaf" in str(row[-1]) for row in plan), plan
    finally:
        conn.close()

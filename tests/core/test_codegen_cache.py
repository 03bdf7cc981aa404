"""app.codegen_cache: code compiled from text at start-up is kept between runs, never reused for
other text, and a bad or unwritable file only means compiling as before."""

from __future__ import annotations

import builtins
import dataclasses
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import codegen_cache
from app.codegen_cache import CodeCache


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    codegen_cache.uninstall()
    yield
    codegen_cache.uninstall()
    assert builtins.compile is codegen_cache._builtin_compile
    assert "exec" not in vars(dataclasses)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names the cache really compiled (a hit compiles nothing)."""
    seen: list[str] = []
    real = codegen_cache._builtin_compile

    def counting(source, filename, mode, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(filename)
        return real(source, filename, mode, *args, **kwargs)

    monkeypatch.setattr(codegen_cache, "_builtin_compile", counting)
    return seen


def test_code_is_compiled_once_kept_in_the_file_and_run_from_it(
    tmp_path: Path, compiles: list[str]
) -> None:
    path = tmp_path / "c.marshal"
    first = CodeCache(path)
    ns: dict[str, object] = {}
    exec(first.code("x = 6 * 7", "m.py", "exec"), ns)  # noqa: S102 (running the cached code is the point)
    first.code("x = 6 * 7", "m.py", "exec")
    assert compiles == ["m.py"] and first.new == 1 and first.hits == 1
    assert first.save() and path.exists()
    assert not first.save()  # nothing new since: not written again

    again = CodeCache(path)
    ns2: dict[str, object] = {}
    exec(again.code("x = 6 * 7", "m.py", "exec"), ns2)  # noqa: S102 (running the cached code is the point)
    assert ns["x"] == ns2["x"] == 42
    assert compiles == ["m.py"] and again.hits == 1 and again.new == 0


def test_other_text_a_other_file_name_or_mode_is_compiled_not_reused(
    tmp_path: Path, compiles: list[str]
) -> None:
    store = CodeCache(tmp_path / "c.marshal")
    store.code("x = 1", "a.py", "exec")
    store.code("x = 2", "a.py", "exec")
    store.code("x = 1", "b.py", "exec")
    store.code("1", "a.py", "eval")
    assert compiles == ["a.py", "a.py", "b.py", "a.py"]
    ns: dict[str, object] = {}
    exec(store.code("x = 2", "a.py", "exec"), ns)  # noqa: S102 (running the cached code is the point)
    assert ns["x"] == 2


@pytest.mark.parametrize("content", [b"", b"\x00garbage", b"{", None])
def test_a_corrupt_or_missing_file_means_compiling_and_saving_over_it(
    tmp_path: Path, compiles: list[str], content: bytes | None
) -> None:
    path = tmp_path / "c.marshal"
    if content is not None:
        path.write_bytes(content)
    store = CodeCache(path)
    assert store.codes == {}
    store.code("y = 3", "m.py", "exec")
    assert store.save()
    assert list(CodeCache(path).codes) == [("exec", "m.py", "y = 3")]


def test_a_folder_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    store = CodeCache(blocker / "c.marshal")
    store.code("z = 1", "m.py", "exec")
    assert store.save() is False
    assert blocker.read_text().startswith("a file")


def test_the_file_name_belongs_to_this_python_only() -> None:
    name = codegen_cache.file_name("dataclass")
    assert sys.implementation.cache_tag in name
    assert importlib.util.MAGIC_NUMBER.hex() in name


def test_dataclasses_take_their_generated_code_from_the_cache(
    tmp_path: Path, compiles: list[str]
) -> None:
    def make() -> type:
        @dataclasses.dataclass(frozen=True)
        class Point:
            """A point."""

            x: int
            y: int = 2

        return Point

    store = codegen_cache.install(tmp_path)
    point_class = make()
    point = point_class(1)
    assert (point.x, point.y, point == point_class(1)) == (1, 2, True)
    assert repr(point).endswith("Point(x=1, y=2)")
    make()
    assert compiles == ["<string>"] and store.hits == 1  # the second class was a hit
    assert codegen_cache.save() == 1

    codegen_cache.uninstall()  # as in a new process: the cache comes from the file
    store = codegen_cache.install(tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        make()(5).x = 6  # type: ignore[misc]
    assert compiles == ["<string>"] and store.hits == 1 and codegen_cache.save() == 0


def test_pyside_import_caches_plain_compile_calls_only_while_open(
    tmp_path: Path, compiles: list[str]
) -> None:
    before = builtins.compile
    with codegen_cache.pyside_import(tmp_path) as store:
        assert builtins.compile is not before
        compile(b"a = 1", "shibokensupport/x.py", "exec")
        compile(b"a = 1", "shibokensupport/x.py", "exec")
        # Anything but compile(source, filename, mode) is passed on, uncached.
        compile("a = 1", "other.py", "exec", dont_inherit=True)
    assert builtins.compile is before
    assert compiles == ["shibokensupport/x.py", "other.py"] and store.hits == 1
    assert codegen_cache.save() == 1
    assert (tmp_path / codegen_cache.file_name("pyside")).exists()


def test_the_app_keeps_both_caches_and_a_second_start_compiles_nothing(tmp_path: Path) -> None:
    from tests.e2e.helpers import start_app

    first = start_app(tmp_path)
    assert first.returncode == 0 and first.stdout.startswith("painted "), first.stderr
    files = {
        kind: tmp_path / "cache" / codegen_cache.file_name(kind) for kind in ("pyside", "dataclass")
    }
    stamps = {kind: os.stat(path).st_mtime_ns for kind, path in files.items()}
    assert len(CodeCache(files["dataclass"]).codes) > 40  # the records, drafts, errors, ...
    second = start_app(tmp_path)
    assert second.returncode == 0 and second.stdout.startswith("painted "), second.stderr
    # Written only when something new was compiled: the second start found all of it.
    assert {kind: os.stat(path).st_mtime_ns for kind, path in files.items()} == stamps


def test_an_entry_that_does_not_load_is_compiled_again(tmp_path: Path, compiles: list[str]) -> None:
    import marshal

    path = tmp_path / "c.marshal"
    path.write_bytes(marshal.dumps({("exec", "m.py", "w = 9"): b"\x00not code"}))
    store = CodeCache(path)
    ns: dict[str, object] = {}
    exec(store.code("w = 9", "m.py", "exec"), ns)  # noqa: S102 (running the cached code is the point)
    assert ns["w"] == 9 and compiles == ["m.py"]


def test_a_cache_opened_on_another_folder_is_saved_where_the_start_keeps_it(
    tmp_path: Path, compiles: list[str]
) -> None:
    guessed, real = tmp_path / "guessed", tmp_path / "real"
    with codegen_cache.pyside_import(guessed):
        compile(b"b = 2", "shibokensupport/y.py", "exec")
    with codegen_cache.pyside_import(real) as store:
        compile(b"b = 2", "shibokensupport/y.py", "exec")  # the same store: a hit
    assert compiles == ["shibokensupport/y.py"] and store.hits == 1
    assert codegen_cache.save() == 1
    assert (real / codegen_cache.file_name("pyside")).exists()
    assert not (guessed / codegen_cache.file_name("pyside")).exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--data-dir", "D", "--demo"], "D"),
        (["--theme", "dark", "--data-dir=D"], "D"),
        ([], "default"),
        (["--demo", "--read-only"], "default"),
        (["--version"], None),
        (["--data-dir", "D", "--self-test"], None),
        (["-h"], None),
        (["--help"], None),
        (["--data-dir"], None),  # run() refuses it too
        (["--multiprocessing-fork", "tracker_fd=5"], None),
        (["-c", "from multiprocessing.resource_tracker import main; main(5)"], None),
    ],
)
def test_the_early_cache_folder_is_the_one_run_will_use(
    argv: list[str], expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app.main, "default_data_dir", lambda: tmp_path / "default")
    folder = app.main.early_code_cache_folder(argv)
    if expected is None:
        assert folder is None
    else:
        assert folder == (tmp_path / expected).resolve() / "cache"

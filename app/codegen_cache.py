"""Keep code that is compiled from text at every start between runs, as Python keeps `.pyc`.

Two things compile Python source at each start, on the GUI thread, with no `.pyc` to fall back
on (measured on the CI machine, issue 9's start-up figures):

- **PySide6's signature support.** Importing PySide6 makes shiboken compile 14 modules of its
  own (`shibokensupport`, ~130 KiB of source kept inside its shared library): 35-50 ms, 155 M
  instructions under callgrind, before the first paint. A bare PySide6 window pays the same.
- **`dataclasses`.** Every `@dataclass` writes the source of its `__init__`, `__repr__`,
  `__eq__` (frozen ones also `__setattr__`, `__delattr__`, `__hash__`) and compiles it with
  `exec` when its module is imported: 48 classes before the composer accepts typing, whose
  `exec` calls took 49 ms of the 63 ms those classes cost.

The same text gives the same code at every start for the same Python, so a `CodeCache` keeps
the code objects in a file (`marshal`, like `.pyc`) and hands them back instead of compiling:
`pyside_import()` puts a caching `compile` in `builtins` while PySide6 is first imported, and
`install()` makes `dataclasses` call a caching `exec` (it looks `exec` up as a module global,
which this sets). The key holds the whole source text, the file name and the mode, so an entry
never runs for text it was not compiled from; the file name carries the interpreter's cache tag
and bytecode magic number, so another Python never reads it (as `__pycache__` does). A missing,
unreadable or corrupt file means compiling as before; `save()` writes the file only when
something new was compiled (a first start, an update of Switchboard, PySide6 or Python).
Measured after: both files load in about 1 ms and 3 ms; the dataclasses cost 14 ms instead of
63, PySide6's import 35-50 ms less.

Why not a library: none does this. The alternatives were rewriting the records as hand-written
classes (more code to keep, and `dataclasses` would still compile the rest) or a C-defined
struct library (msgspec), which would change how every record is copied, compared and replaced
across the app; neither helps PySide6's own start.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import marshal
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

_builtin_exec = builtins.exec
_builtin_compile = builtins.compile
# Entries beyond this are not kept (a safety bound; the app makes ~150 distinct classes).
MAX_ENTRIES = 2000


def file_name(kind: str) -> str:
    """The cache file's name for `kind` on this interpreter (cache tag, bytecode magic)."""
    tag = sys.implementation.cache_tag or "python"
    return f"{kind}-code.{tag}-{importlib.util.MAGIC_NUMBER.hex()}.marshal"


class CodeCache:
    """Code objects by (mode, file name, source), loaded from and saved to one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Each code object is kept marshalled and loaded on its first hit: the file holds every
        # class the app made (the media services' too), the composer needs half of them.
        self.codes: dict[tuple[str, str, str | bytes], CodeType | bytes] = {}
        self.new = 0  # compiled since the load or the last save
        self.hits = 0
        try:
            data = path.read_bytes()
        except OSError:
            return
        try:
            loaded = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return  # corrupt or truncated: compile as before, and save over it
        if isinstance(loaded, dict):
            for key, code in loaded.items():
                if isinstance(key, tuple) and len(key) == 3 and isinstance(code, bytes):
                    self.codes[key] = code

    def code(self, source: str | bytes, filename: str, mode: str) -> CodeType:
        """The code for `source`: the kept one, else compiled now (and kept)."""
        key = (mode, filename, source)
        kept = self.codes.get(key)
        if isinstance(kept, bytes):
            try:
                kept = marshal.loads(kept)
            except (EOFError, ValueError, TypeError):
                kept = None
        if isinstance(kept, CodeType):
            self.codes[key] = kept
            self.hits += 1
            return kept
        code = _builtin_compile(source, filename, mode)
        if len(self.codes) < MAX_ENTRIES:
            self.codes[key] = code
            self.new += 1
        return code

    def save(self) -> bool:
        """Write the file if something was compiled since it was read; True if written. A
        folder that cannot be written (read-only, full disk) leaves the file as it was."""
        if not self.new:
            return False
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            entries = {
                key: code if isinstance(code, bytes) else marshal.dumps(code)
                for key, code in self.codes.items()
            }
            tmp.write_bytes(marshal.dumps(entries))
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return False
        self.new = 0
        return True


_caches: dict[str, CodeCache] = {}


def cache(kind: str) -> CodeCache | None:
    """The cache of `kind` ("pyside", "dataclass") this process uses, if one was set up."""
    return _caches.get(kind)


@contextlib.contextmanager
def pyside_import(folder: Path) -> Iterator[CodeCache]:
    """While this is open, `compile(source, filename, "exec")` (shiboken's own loader, when
    PySide6 is first imported) uses the cache kept in `folder`. Any other call is passed on."""
    path = folder / file_name("pyside")
    store = _caches.get("pyside")
    if store is None:
        store = _caches["pyside"] = CodeCache(path)
    elif store.path != path:
        # Opened before on another folder (the frozen bundle's runtime hook guessed the data
        # folder before the arguments were parsed): keep its code, save it where this start
        # keeps its cache.
        store.path = path
        store.new = max(store.new, len(store.codes))

    def caching_compile(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(source, (str, bytes)) or not isinstance(filename, str):
            return _builtin_compile(source, filename, mode, *args, **kwargs)
        return store.code(source, filename, mode)

    previous = builtins.compile
    builtins.compile = caching_compile
    try:
        yield store
    finally:
        builtins.compile = previous


def install(folder: Path) -> CodeCache:
    """Make `dataclasses` take the code it generates from the cache kept in `folder`."""
    import dataclasses

    store = _caches.get("dataclass") or _caches.setdefault(
        "dataclass", CodeCache(folder / file_name("dataclass"))
    )

    def caching_exec(source: Any, globals_: Any = None, locals_: Any = None, /) -> None:
        if isinstance(source, str):
            source = store.code(source, "<string>", "exec")
        _builtin_exec(source, globals_, locals_)

    dataclasses.exec = caching_exec  # type: ignore[attr-defined]
    return store


def uninstall() -> None:
    """Give `dataclasses` the builtin `exec` back and forget the caches (tests start the app
    more than once in one process)."""
    dataclasses = sys.modules.get("dataclasses")
    if dataclasses is not None and "exec" in vars(dataclasses):
        del dataclasses.exec  # type: ignore[attr-defined]
    _caches.clear()


def save() -> int:
    """Write every cache that compiled something new; returns how many files were written."""
    return sum(store.save() for store in _caches.values())

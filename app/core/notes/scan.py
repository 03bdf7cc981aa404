"""Walking a notes folder: which files are notes, minus gitignore-style excludes.

`scan_folder` is iterative (`os.scandir` with a stack: no recursion limit on deep trees), does
not follow directory symlinks (a link back to a parent would loop), prunes excluded directories
before descending into them, and returns each candidate's relative POSIX path, size and mtime —
enough to skip unchanged files without reading them. Patterns use `pathspec`'s gitignore
dialect, the user's on top of the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from app.core.notes.extract import FORMATS

__all__ = ["ScannedFile", "build_spec", "scan_folder"]


@dataclass(frozen=True)
class ScannedFile:
    rel_path: str  # POSIX, relative to the folder
    size: int
    mtime_ns: int
    too_big: bool = False


def build_spec(patterns: Sequence[str]) -> pathspec.PathSpec:
    lines = [p.strip() for p in patterns if p.strip() and not p.strip().startswith("#")]
    return pathspec.PathSpec.from_lines("gitignore", lines)


def scan_folder(
    root: str | Path, patterns: Sequence[str], max_file_size: int
) -> list[ScannedFile]:
    """Note files under `root` (sorted). Files over `max_file_size` are listed with `too_big`."""
    spec = build_spec(patterns)
    root = os.fspath(root)
    out: list[ScannedFile] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(root, rel_dir) if rel_dir else root))
        except OSError:
            continue  # unreadable directory: skipped, as a user would expect
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not spec.match_file(rel + "/"):
                        stack.append(rel)
                    continue
                if not entry.is_file():
                    continue
                if os.path.splitext(entry.name)[1].lower() not in FORMATS:
                    continue
                if spec.match_file(rel):
                    continue
                st = entry.stat()
            except OSError:
                continue
            out.append(ScannedFile(rel, st.st_size, st.st_mtime_ns, st.st_size > max_file_size))
    out.sort(key=lambda f: f.rel_path)
    return out

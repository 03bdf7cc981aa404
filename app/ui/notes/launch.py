"""Opening a note in the user's editor at a line, and revealing it in the file manager.

`editor_command(path, line, environ)` builds the argv for a known *graphical* editor named by
`$VISUAL` or `$EDITOR` (each has its own "go to line" syntax). A terminal editor (vim, nano, …)
cannot be started without a terminal, so it gets None and the caller opens the file with the
desktop's default application (QDesktopServices), without the line. `reveal_command` does the same
for "show in folder": Explorer and Finder select the file; on Linux the freedesktop FileManager1
D-Bus call selects it when `gdbus` is present, otherwise the folder is opened. Pure (no Qt): the
tab runs the argv with QProcess.startDetached, which tests replace.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["TERMINAL_EDITORS", "editor_command", "reveal_command"]

# Terminal editors: they need a terminal the app does not have.
TERMINAL_EDITORS = frozenset(
    {"vi", "vim", "nvim", "nano", "pico", "emacs", "hx", "helix", "micro", "kak", "joe", "ne", "mg"}
)


def _line_args(name: str, path: str, line: int) -> list[str] | None:
    """Arguments after the editor's own for opening `path` at `line`; None for an unknown one."""
    if name in ("code", "code-insiders", "codium", "vscodium", "cursor", "windsurf"):
        return ["--goto", f"{path}:{line}"]
    if name in ("subl", "sublime_text", "zed", "zeditor", "mate", "lapce"):
        return [f"{path}:{line}"]
    if name in ("gedit", "gnome-text-editor", "xed", "pluma", "mousepad", "geany", "gvim", "mvim"):
        return [f"+{line}", path]
    if name in ("kate", "kwrite"):
        return ["--line", str(line), path]
    if name == "emacsclient":
        return ["-n", f"+{line}", path]
    if name in ("idea", "pycharm", "charm", "webstorm", "clion", "goland"):
        return ["--line", str(line), path]
    if name == "notepad++":
        return [f"-n{line}", path]
    return None


def editor_command(
    path: Path | str,
    line: int,
    environ: Mapping[str, str] | None = None,
    *,
    which: Callable[[str], str | None] | None = None,
) -> list[str] | None:
    """argv opening `path` at `line` (1-based) in `$VISUAL`/`$EDITOR`, or None (use the default
    application) when neither names a known graphical editor that is installed."""
    env = os.environ if environ is None else environ
    which = which or shutil.which
    line = max(1, int(line))
    for var in ("VISUAL", "EDITOR"):
        value = env.get(var, "").strip()
        if not value:
            continue
        try:
            parts = shlex.split(value)
        except ValueError:
            continue
        if not parts:
            continue
        exe = parts[0]
        name = Path(exe).name.lower().removesuffix(".exe")
        if name in TERMINAL_EDITORS:
            continue
        args = _line_args(name, str(path), line)
        if args is None or which(exe) is None:
            continue
        return [*parts, *args]
    return None


def reveal_command(
    path: Path | str,
    *,
    platform: str = sys.platform,
    which: Callable[[str], str | None] | None = None,
) -> list[str] | None:
    """argv showing `path` selected in the file manager, or None (open its folder instead)."""
    which = which or shutil.which
    p = str(Path(path).absolute())
    if platform == "darwin":
        return ["open", "-R", p]
    if platform.startswith("win"):
        return ["explorer", f"/select,{p}"]
    if which("gdbus") is not None:
        uri = Path(p).as_uri()
        return [
            "gdbus",
            "call",
            "--session",
            "--dest",
            "org.freedesktop.FileManager1",
            "--object-path",
            "/org/freedesktop/FileManager1",
            "--method",
            "org.freedesktop.FileManager1.ShowItems",
            f"['{uri}']",
            "",
        ]
    return None

"""Runs what launch.py decides: a hit's file opened at its line, or shown in the file manager.

`Opener(run=..., open_url=...)` takes the two side effects as callables so tests can record them
instead of starting programs. Returns a sentence for the status line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

from app.ui.notes.launch import editor_command, reveal_command

__all__ = ["Opener"]


def _run_detached(argv: Sequence[str]) -> bool:
    ok, _pid = QProcess.startDetached(argv[0], list(argv[1:]))
    return bool(ok)


def _open_url(url: QUrl) -> bool:
    return bool(QDesktopServices.openUrl(url))


class Opener:
    def __init__(
        self,
        *,
        run: Callable[[Sequence[str]], bool] = _run_detached,
        open_url: Callable[[QUrl], bool] = _open_url,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._run = run
        self._open_url = open_url
        self._environ = environ

    def open_at_line(self, path: str, line: int) -> str:
        if not path:
            return "This note lives in Switchboard: it opens in the editor here."
        if not Path(path).exists():
            return f"{path} is no longer there (moved or deleted since it was indexed)."
        env = os.environ if self._environ is None else self._environ
        argv = editor_command(path, line, env)
        if argv is not None and self._run(argv):
            return f"Opened {Path(path).name} at line {line} in {Path(argv[0]).name}."
        if self._open_url(QUrl.fromLocalFile(path)):
            return (
                f"Opened {Path(path).name} with the default application (set $VISUAL to an "
                "editor such as code, subl, kate or gedit to land on the line)."
            )
        return f"No application could open {path}."

    def reveal(self, path: str) -> str:
        if not path:
            return "This note lives in Switchboard, not in a folder."
        p = Path(path)
        if not p.exists():
            return f"{path} is no longer there (moved or deleted since it was indexed)."
        argv = reveal_command(p)
        if argv is not None and self._run(argv):
            return f"Showing {p.name} in the file manager."
        if self._open_url(QUrl.fromLocalFile(str(p.parent))):
            return f"Opened the folder of {p.name}."
        return f"No file manager could show {path}."

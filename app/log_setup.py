"""The log set-up: a rotating file in the data folder, redacted after formatting, with a
fallback (a temp folder, else stderr) when that folder cannot be written.

Imported after the first paint (app.main), like everything the window shell does not need.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class RedactingFormatter(logging.Formatter):
    """Formats a record completely (message, traceback, stack) and only then redacts the text.

    Redacting in a filter, before formatting, misses the traceback: `Formatter.format` fills in
    `exc_text` after the filters ran, so `log.exception` wrote a key in clear. Here the whole
    line a handler is about to write goes through `redact`.
    """

    def __init__(self, redact: Callable[[str], str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


@dataclass(frozen=True)
class LogSetup:
    """Where the log goes: `path` (None: stderr only) and, if the data dir's log folder could
    not be used, `problem` (a sentence for the user) and the OSError text in `detail`."""

    path: Path | None
    problem: str | None = None
    detail: str | None = None


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_dir: Path, redact: Callable[[str], str]) -> LogSetup:
    """A rotating log file in `log_dir`, or (if that folder cannot be written) in a folder of
    the system's temp dir, or else stderr alone. Every handler, and Python's last-resort
    handler, redacts the formatted text. Never raises OSError: a start-up failure must still be
    shown in a window, and the window must not depend on the log."""
    import logging.handlers
    import tempfile

    formatter = RedactingFormatter(redact, LOG_FORMAT)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    # Records logged while no handler is installed reach stderr through lastResort: redact it too.
    last_resort = logging.StreamHandler(sys.stderr)
    last_resort.setLevel(logging.WARNING)
    last_resort.setFormatter(formatter)
    logging.lastResort = last_resort

    class FileHandler(logging.handlers.RotatingFileHandler):
        """A log file that, once it cannot be written (a full disk), says so once on stderr and
        then writes its records there, instead of a "--- Logging error ---" per record."""

        failed = False

        def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging name)
            if not self.failed:
                self.failed = True
                err = sys.exc_info()[1]
                sys.stderr.write(f"switchboard: the log file {self.baseFilename} cannot be "
                                 f"written ({err}); logging to stderr from now on\n")
            try:
                sys.stderr.write(self.format(record) + "\n")
            except Exception:  # stderr gone too: drop the record, never raise from logging
                pass

    def file_handler(directory: Path) -> tuple[logging.Handler, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "switchboard.log"
        handler = FileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        return handler, path

    problem: str | None = None
    detail: str | None = None
    try:
        handler, path = file_handler(log_dir)
    except OSError as exc:
        detail = f"{type(exc).__name__}: {exc}"
        user = os.getuid() if hasattr(os, "getuid") else "user"
        fallback = Path(tempfile.gettempdir()) / f"switchboard-logs-{user}"
        try:
            handler, path = file_handler(fallback)
        except OSError:
            handler, path = logging.StreamHandler(sys.stderr), None
        where = f"to {path}" if path is not None else "only to the terminal"
        why = exc.strerror or str(exc)
        if log_dir.exists() and not log_dir.is_dir():
            why = "a file of that name is in the way"
        problem = (
            f"The log folder {log_dir} cannot be written ({why}), so the log goes {where} for "
            "this session."
        )
    handler.setFormatter(formatter)
    root.addHandler(handler)
    # httpx logs full request lines at INFO; keep them out (URLs may carry `?key=`).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return LogSetup(path, problem, detail)

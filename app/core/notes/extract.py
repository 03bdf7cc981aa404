"""Text out of note files: plain formats read as UTF-8, HTML with the standard library's parser,
PDF with pypdf (BSD licence) in a worker process with a time limit.

Why a process for PDFs: some PDFs make extractors loop or allocate for minutes; a thread cannot
be stopped, a process can. `PdfWorker` keeps one spawned process (imports once), sends it one
path at a time and kills and restarts it when a file takes longer than `timeout` seconds: that
file becomes a known `ExtractionError`, and the run goes on. Pages are joined with form feeds
(`\\f`) so the chunker can give every chunk its page.
"""

from __future__ import annotations

import html
import multiprocessing
import multiprocessing.connection
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

from app.core.errors import SwitchboardError

__all__ = [
    "FORMATS",
    "Extracted",
    "ExtractionError",
    "PdfWorker",
    "extract_html",
    "extract_text_file",
    "format_for",
]

FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".rst": "rst",
    ".org": "org",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


class ExtractionError(SwitchboardError):
    """A file whose text could not be read (it is skipped and listed; the run goes on)."""


@dataclass
class Extracted:
    text: str
    format: str
    title: str = ""


def format_for(path: str | Path) -> str | None:
    return FORMATS.get(Path(path).suffix.lower())


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1: a note must never fail on one odd byte."""
    if b"\x00" in data[:8192]:
        raise ExtractionError("This file looks binary, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def extract_text_file(data: bytes, fmt: str) -> Extracted:
    return Extracted(decode(data), fmt)


class _HTMLText(HTMLParser):
    """Visible text with headings turned into Markdown `#` lines (so chunks get heading paths)."""

    _SKIP: ClassVar[set[str]] = {"script", "style", "noscript", "template", "svg", "head"}
    _BLOCK: ClassVar[set[str]] = {"p", "div", "section", "article", "li", "tr", "br", "pre", "blockquote", "table",
              "ul", "ol", "dd", "dt", "hr", "main", "header", "footer", "nav", "aside"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title = ""
        self._in_title = False
        self._heading: int = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self._SKIP:
            self.skip += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._heading = int(tag[1])
            self.parts.append("\n\n" + "#" * self._heading + " ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n" if tag in ("p", "pre", "blockquote", "table") else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._heading = 0
            self.parts.append("\n\n")
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self.skip:
            return
        if self._heading:
            data = " ".join(data.split())
        self.parts.append(data)


def extract_html(data: bytes) -> Extracted:
    parser = _HTMLText()
    parser.feed(decode(data))
    parser.close()
    raw = html.unescape("".join(parser.parts))
    lines = [line.rstrip() for line in raw.split("\n")]
    out: list[str] = []
    for line in lines:  # at most one blank line in a row
        if line.strip() or (out and out[-1].strip()):
            out.append(line.strip() if line.lstrip().startswith("#") else line)
    return Extracted("\n".join(out).strip() + "\n", "html", " ".join(parser.title.split()))


# --- PDF in a worker process ------------------------------------------------------------------


def _pdf_text(path: str) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    pages = []
    for page in reader.pages:
        pages.append((page.extract_text() or "").replace("\f", " "))
    return "\f".join(pages)


def _pdf_worker_main(conn: multiprocessing.connection.Connection) -> None:
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        try:
            conn.send(("ok", _pdf_text(path)))
        except Exception as exc:  # noqa: BLE001 - a broken PDF is reported, never kills the worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


class PdfWorker:
    """One worker process extracting PDFs, killed and restarted past `timeout` seconds.

    `extract(path)` blocks (call it from a worker thread); calls are serialised.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork: the parent has threads and a loop
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_pdf_worker_main, args=(child,), daemon=True, name="pdf-extract")
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    def _stop(self, *, kill: bool) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            if not kill:
                try:
                    conn.send(None)
                except OSError:
                    pass
            conn.close()
        if proc is not None:
            if kill:
                proc.kill()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
            proc.close()

    def extract(self, path: str | Path) -> Extracted:
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                if self._proc is not None:
                    self._stop(kill=True)
                self._start()
            assert self._conn is not None
            self._conn.send(str(path))
            if not self._conn.poll(self.timeout):
                self._stop(kill=True)
                raise ExtractionError(
                    f"Reading this PDF took longer than {self.timeout:g} s; it was skipped."
                )
            try:
                status, value = self._conn.recv()
            except (EOFError, OSError):
                self._stop(kill=True)
                raise ExtractionError("The PDF reader stopped on this file; it was skipped.") from None
        if status != "ok":
            raise ExtractionError("This PDF could not be read; it was skipped.", detail=value)
        return Extracted(value, "pdf")

    def close(self) -> None:
        with self._lock:
            self._stop(kill=False)

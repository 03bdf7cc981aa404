"""Cutting a document into chunks by its structure, to a target size in tokens with overlap.

A document is first split into blocks: headings (Markdown `#`, setext, reStructuredText
underlines, Org `*`), fenced code blocks (kept whole), and paragraphs (blank-line separated).
Blocks are packed into chunks up to `target_tokens`; a chunk never crosses a heading (so its
heading path is exact), a code block larger than the target is split by lines only then, and
a paragraph larger than the target is split by sentences/words. Consecutive chunks of one
section share `overlap_tokens` of trailing text, so a sentence cut at a border is findable
from both sides. Tokens are estimated (≈ 4 characters, or 0.75 words, whichever is more):
the exact count depends on the provider's tokenizer, which the client does not have.

Every chunk keeps its heading path, 1-based inclusive line range, and page (PDFs: pages are
separated by form feeds `\\f` in the extracted text), and a SHA-256 of the text that is embedded
(heading path + text), which keys its vector: a chunk whose text did not change keeps it.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from operator import add

__all__ = ["Chunk", "chunk_document", "estimate_tokens"]

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ORG = re.compile(r"^(\*{1,6})\s+(.*\S)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_RST_UNDER = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


def estimate_tokens(text: str) -> int:
    """A rough token count: most tokenizers give ~4 characters or ~0.75 words per token."""
    if not text:
        return 0
    return max(len(text) // 4, int(len(text.split()) / 0.75), 1)


@dataclass
class Chunk:
    ord: int
    text: str
    heading_path: list[str]
    line_start: int
    line_end: int
    page: int | None = None
    tokens: int = 0
    sha256: str = ""

    def embed_text(self) -> str:
        """What is sent to the embeddings endpoint: the heading path gives a chunk its topic."""
        if self.heading_path:
            return " > ".join(self.heading_path) + "\n\n" + self.text
        return self.text


@dataclass
class _Block:
    kind: str  # "heading" | "code" | "para"
    lines: list[str]
    start: int  # 1-based line number of the first line
    level: int = 0
    title: str = ""
    pages: list[int] = field(default_factory=list)


def _blocks(text: str, fmt: str) -> list[_Block]:
    lines = text.split("\n")
    blocks: list[_Block] = []
    para: list[str] = []
    para_start = 0
    i = 0

    def flush() -> None:
        nonlocal para
        if para and any(s.strip() for s in para):
            blocks.append(_Block("para", para, para_start))
        para = []

    rst_levels: list[str] = []
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line) if fmt in ("markdown", "text", "org", "rst") else None
        if fence:
            flush()
            marker = fence.group(1)
            start = i
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(marker):
                i += 1
            blocks.append(_Block("code", lines[start : i + 1], start + 1))
            i += 1
            continue
        heading: tuple[int, str] | None = None
        consumed = 1
        if fmt in ("markdown", "text", "html"):
            m = _ATX.match(line)
            if m:
                heading = (len(m.group(1)), m.group(2))
            elif (
                fmt == "markdown"
                and line.strip()
                and i + 1 < len(lines)
                and _SETEXT.match(lines[i + 1])
                and not para
            ):
                heading = (1 if lines[i + 1].startswith("=") else 2, line.strip())
                consumed = 2
        elif fmt == "org":
            m = _ORG.match(line)
            if m:
                heading = (len(m.group(1)), m.group(2))
        elif fmt == "rst":
            if (
                line.strip()
                and i + 1 < len(lines)
                and _RST_UNDER.match(lines[i + 1])
                and len(lines[i + 1].strip()) >= len(line.strip())
            ):
                char = lines[i + 1].strip()[0]
                if char not in rst_levels:
                    rst_levels.append(char)
                heading = (rst_levels.index(char) + 1, line.strip())
                consumed = 2
        if heading is not None:
            flush()
            blocks.append(
                _Block("heading", lines[i : i + consumed], i + 1, level=heading[0], title=heading[1])
            )
            i += consumed
            continue
        if not line.strip():
            flush()
        else:
            if not para:
                para_start = i + 1
            para.append(line)
        i += 1
    flush()
    return blocks


def _max_words(target: int) -> int:
    """The most words a piece of `target` tokens may hold (`estimate_tokens`'s word term)."""
    n = max(1, int(target * 0.75))
    while n > 1 and int(n / 0.75) > target:
        n -= 1
    while int((n + 1) / 0.75) <= target:
        n += 1
    return n


def _split_words(words: list[str], target: int) -> list[str]:
    """`words` joined into pieces of at most `target` estimated tokens, each as long as it can
    be (a single over-long word is a piece of its own).

    The same pieces as adding one word at a time until the next would go over, found by
    bisecting running sums instead: a 5 KB paragraph is ~900 words, and the word-at-a-time
    loop was most of the chunker's CPU (and held the GIL while the event loop waited)."""
    # ends[j]: characters of words[:j] with one space after each; words[i:j] joined is
    # ends[j] - ends[i] - 1 characters long, and estimated at most `target` tokens while
    # that is < 4 * (target + 1) and it has at most `max_words` words.
    ends = list(map(add, accumulate(map(len, words), initial=0), range(len(words) + 1)))
    max_words = _max_words(target)
    room = 4 * target + 4
    pieces: list[str] = []
    i, n = 0, len(words)
    while i < n:
        j = bisect_right(ends, ends[i] + room, i + 1, min(n, i + max_words) + 1) - 1
        j = max(j, i + 1)
        pieces.append(" ".join(words[i:j]))
        i = j
    return pieces


def _split_big(lines: list[str], start: int, target: int, *, code: bool) -> list[tuple[list[str], int]]:
    """Pieces of an over-long block: by lines, and a single over-long line by sentences/words."""
    pieces: list[tuple[list[str], int]] = []
    cur: list[str] = []
    cur_start = start
    cur_tokens = 0
    for offset, line in enumerate(lines):
        words = line.split()
        t = max(len(line) // 4, int(len(words) / 0.75), 1) if line else 0  # estimate_tokens
        if t > target and not code:
            if cur:
                pieces.append((cur, cur_start))
                cur, cur_tokens = [], 0
            pieces += [([piece], start + offset) for piece in _split_words(words, target)]
            cur_start = start + offset + 1
            continue
        if cur and cur_tokens + t > target:
            pieces.append((cur, cur_start))
            cur, cur_tokens, cur_start = [], 0, start + offset
        cur.append(line)
        cur_tokens += t
    if cur:
        pieces.append((cur, cur_start))
    return pieces


def _page_of(line_no: int, page_starts: list[int]) -> int | None:
    if not page_starts:
        return None
    page = 1
    for p, first in enumerate(page_starts, start=1):
        if first <= line_no:
            page = p
    return page


def chunk_document(
    text: str,
    fmt: str = "markdown",
    *,
    target_tokens: int = 400,
    overlap_tokens: int = 40,
    title: str = "",
) -> list[Chunk]:
    """Chunks of `text` in document order. `fmt`: markdown | text | rst | org | html | pdf.

    PDF text uses form feeds between pages; every chunk gets the page of its first line.
    `title` (a file name or note title) starts every heading path, so a chunk names its note.
    """
    if fmt == "pdf":
        # Each page on its own: a chunk never spans two pages, so its page is exact.
        out: list[Chunk] = []
        line_offset = 0
        for page_no, page in enumerate(text.split("\f"), start=1):
            for c in chunk_document(
                page, "text", target_tokens=target_tokens, overlap_tokens=overlap_tokens,
                title=title,
            ):
                c.ord = len(out)
                c.page = page_no
                c.line_start += line_offset
                c.line_end += line_offset
                out.append(c)
            line_offset += page.count("\n")
        return out
    page_starts: list[int] = []
    text = text.replace("\f", "\n")
    blocks = _blocks(text, fmt)
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []
    cur: list[tuple[str, int, int]] = []  # (text, first line, last line)
    cur_tokens = 0
    base = [title] if title else []

    def emit(carry: bool) -> None:
        nonlocal cur, cur_tokens
        if not cur:
            return
        body = "\n\n".join(t for t, _, _ in cur).strip()
        if body:
            heading_path = base + [h for _, h in path]
            chunks.append(
                Chunk(
                    ord=len(chunks),
                    text=body,
                    heading_path=heading_path,
                    line_start=cur[0][1],
                    line_end=cur[-1][2],
                    page=_page_of(cur[0][1], page_starts),
                    tokens=estimate_tokens(body),
                )
            )
        tail: list[tuple[str, int, int]] = []
        if carry and overlap_tokens > 0 and cur:
            last_text, _, last_end = cur[-1]
            words = last_text.split()
            keep = max(1, int(overlap_tokens * 0.75))
            if len(words) > keep and estimate_tokens(last_text) > overlap_tokens:
                tail_text = " ".join(words[-keep:])
                tail = [(tail_text, last_end, last_end)]
        cur = tail
        cur_tokens = sum(estimate_tokens(t) for t, _, _ in cur)

    for block in blocks:
        if block.kind == "heading":
            emit(carry=False)
            cur = []
            cur_tokens = 0
            path = [(lvl, t) for lvl, t in path if lvl < block.level] + [(block.level, block.title)]
            continue
        end = block.start + len(block.lines) - 1
        block_text = "\n".join(block.lines)
        t = estimate_tokens(block_text)
        if t > target_tokens:
            emit(carry=True)
            for piece_lines, piece_start in _split_big(
                block.lines, block.start, target_tokens, code=block.kind == "code"
            ):
                cur = [("\n".join(piece_lines), piece_start, piece_start + len(piece_lines) - 1)]
                cur_tokens = estimate_tokens(cur[0][0])
                emit(carry=False)
            cur, cur_tokens = [], 0
            continue
        if cur and cur_tokens + t > target_tokens:
            emit(carry=block.kind != "code")
        cur.append((block_text, block.start, end))
        cur_tokens += t
    emit(carry=False)
    for c in chunks:
        c.sha256 = hashlib.sha256(c.embed_text().encode("utf-8")).hexdigest()
    return chunks

"""Markdown -> HTML for chat messages, with Pygments-highlighted code and no remote resources.

Pure Python (markdown + pygments, no Qt), so it is unit-tested without a screen.

Safety rules, because a model's output is untrusted text:
- raw HTML in the source is shown as text, never interpreted (the `html_block` preprocessor and the
  inline `html` pattern are removed, so `<img src=...>` arrives escaped);
- markdown images are never loaded unless they are inline `data:image/...` URIs: any other image
  becomes a plain `[image: alt]` text marker, so no tracking pixel or surprise request is possible;
- links keep only http(s)/mailto targets; the view opens them only when the user clicks.

Big code: a fenced block longer than `HIGHLIGHT_LIMIT` characters is shown as plain escaped code
in the same shaded box, without markdown or Pygments (24 KB of code cost 150 ms to highlight on the
UI thread); its "Copy" still gives the raw code.

Streaming: `IncrementalMarkdown` renders only the unfinished tail of a growing reply. Text before
the last block boundary (a blank line outside a code fence) is rendered once and cached, so the
total cost of a reply of N characters grows linearly with N instead of quadratically.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import markdown


def escape_html(text: str, quote: bool = True) -> str:
    """`html.escape`, importing `html` on first use: it builds its entity table (~2,000 names)
    on import, which start-up does not need (the sidebar's search snippets use this too)."""
    import html

    return html.escape(text, quote=quote)


__all__ = [
    "CODE_BACKGROUND",
    "HIGHLIGHT_LIMIT",
    "THEMES",
    "IncrementalMarkdown",
    "RenderedChunk",
    "has_reference_links",
    "open_fence",
    "render_markdown",
    "render_plain",
    "stable_boundary",
]

# (pygments style, code box background) per theme; Qt's rich text cannot read Pygments' CSS
# classes, so the colours are inlined (`noclasses`) and the box is a shaded one-cell table.
THEMES = {False: ("default", "#f4f6f8"), True: ("monokai", "#272822")}
CODE_BACKGROUND = THEMES[False][1]
# `switchboard-note:` links are citations of the Notes tab ("Ask about these"): the main window
# handles that scheme (QDesktopServices.setUrlHandler) by opening the hit in the Notes tab.
_SAFE_LINK = re.compile(r"^(https?:|mailto:|#|switchboard-note:)", re.IGNORECASE)
_SAFE_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)
_CODEHILITE_OPEN = re.compile(r'<div class="codehilite"[^>]*>')
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^(?:[*+-]|\d+[.)])(?:\s|$)")
HIGHLIGHT_LIMIT = 8_000  # characters of one code block beyond which it is not highlighted
_BIG_CODE_TOKEN = "SBBIGCODEBLOCK{}X"
_BIG_CODE_PARAGRAPH = re.compile(r"<p>SBBIGCODEBLOCK(\d+)X</p>")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*\S", re.MULTILINE)


def _safe_extension() -> Any:
    """The extension that keeps raw HTML as text and neutralises resources.

    markdown and pygments are imported here, on the first render, not with this module: the
    chat tab imports it to build an empty thread, which renders nothing (kept off the start-up
    path; checked with -X importtime and callgrind).
    """
    import xml.etree.ElementTree as etree

    from markdown.extensions import Extension
    from markdown.treeprocessors import Treeprocessor

    class _NeutraliseResources(Treeprocessor):
        """Replace remote/local images with a text marker and drop unsafe link targets."""

        def run(self, root: etree.Element) -> None:
            for parent in root.iter():
                for child in list(parent):
                    if child.tag == "img":
                        src = child.get("src", "")
                        if _SAFE_IMAGE.match(src):
                            continue
                        alt = child.get("alt") or "image"
                        marker = etree.Element("span")
                        marker.set("style", "color:#6a737d")
                        marker.set("title", src)
                        marker.text = f"[image: {alt}]"
                        marker.tail = child.tail
                        index = list(parent).index(child)
                        parent.remove(child)
                        parent.insert(index, marker)
                    elif child.tag == "a":
                        href = child.get("href", "")
                        if href and not _SAFE_LINK.match(href):
                            del child.attrib["href"]

    class _SafeExtension(Extension):
        def extendMarkdown(self, md: markdown.Markdown) -> None:
            # Raw HTML becomes text: without these two, "<img src=http://...>" would pass through.
            md.preprocessors.deregister("html_block")
            md.inlinePatterns.deregister("html")
            md.treeprocessors.register(_NeutraliseResources(md), "neutralise_resources", 0)

    return _SafeExtension()


# One Markdown instance per thread and style: an instance keeps state while it converts, and a
# finished streamed reply is re-rendered for checking on a worker thread (asyncio.to_thread).
_local = threading.local()


def _renderer(dark: bool) -> markdown.Markdown:
    style = THEMES[dark][0]
    _renderers: dict[str, markdown.Markdown] | None = getattr(_local, "renderers", None)
    if _renderers is None:
        _renderers = _local.renderers = {}
    md = _renderers.get(style)
    if md is None:
        import markdown
        from markdown.extensions.codehilite import CodeHiliteExtension
        from markdown.extensions.fenced_code import FencedCodeExtension
        from markdown.extensions.sane_lists import SaneListExtension
        from markdown.extensions.tables import TableExtension

        # Extension instances, not names: a name makes markdown scan the installed packages'
        # entry points (importlib.metadata), 100-300 ms at the first render, on the GUI thread.
        md = markdown.Markdown(
            extensions=[
                FencedCodeExtension(),
                CodeHiliteExtension(noclasses=True, guess_lang=False, pygments_style=style),
                TableExtension(),
                SaneListExtension(),
                _safe_extension(),
            ],
            output_format="html",
        )
        _renderers[style] = md
    return md


def _qt_friendly(fragment: str, dark: bool) -> str:
    # QTextDocument ignores the background of a <div>; a one-cell table keeps the code box shaded.
    background = THEMES[dark][1]
    fragment = _CODEHILITE_OPEN.sub(
        f'<table width="100%" cellpadding="8" cellspacing="0" bgcolor="{background}" '
        f'style="margin-top:4px; margin-bottom:6px">'
        "<tr><td>",
        fragment,
    )
    # Markdown tables: Qt draws no cell borders or padding unless the table asks for them.
    fragment = fragment.replace(
        "<table>",
        '<table border="1" cellspacing="0" cellpadding="5" '
        'style="border-collapse: collapse; margin-top:2px; margin-bottom:8px">',
    )
    # Pygments ends the block with a newline that Qt would show as an empty last line.
    fragment = fragment.replace("\n</code></pre></div>", "</code></pre></div>")
    # Pygments also ends the box with a newline outside it: dropped, so a reply rendered chunk by
    # chunk (joined with one newline, like markdown joins blocks) is byte-identical to a whole one.
    fragment = fragment.replace("</pre></div>\n", "</pre></div>")
    return fragment.replace("</pre></div>", "</pre></td></tr></table>")


def _closes(line: str, found: str, marker: str) -> bool:
    """True when a fence line (its fence `found`) closes a block opened with `marker`."""
    return found[0] == marker[0] and len(found) >= len(marker) and not line.strip()[len(found) :]


def open_fence(text: str) -> str | None:
    """The marker of a code fence left open at the end of `text` (e.g. "```"), else None."""
    marker: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if match is None:
            continue
        found = match.group(1)
        if marker is None:
            marker = found
        elif _closes(line, found, marker):
            marker = None
    return marker


def _lift_big_code(text: str, limit: int = HIGHLIGHT_LIMIT) -> tuple[str, list[str]]:
    """Replace each fenced block longer than `limit` characters by a token paragraph.

    Returns the text to convert and the raw code of each lifted block (token n = block n).
    Only texts with a long enough span between fences are scanned line by line.
    """
    if len(text) <= limit or ("```" not in text and "~~~" not in text):
        return text, []
    lines = text.split("\n")
    out: list[str] = []
    lifted: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        marker = match.group(1)
        j = i + 1
        while j < len(lines):
            close = _FENCE.match(lines[j])
            if close and close.group(1)[0] == marker[0] and len(close.group(1)) >= len(marker) and not lines[j].strip()[len(close.group(1)):]:
                break
            j += 1
        body = lines[i + 1 : j]
        size = sum(len(line) + 1 for line in body)
        if size > limit:
            out += ["", _BIG_CODE_TOKEN.format(len(lifted)), ""]
            lifted.append("\n".join(body))
        else:
            out += lines[i : j + 1]
        i = j + 1
    return "\n".join(out), lifted


def _code_box(code: str) -> str:
    """A lifted block as codehilite would frame it (so `_qt_friendly` shades it the same way)."""
    return f'<div class="codehilite"><pre><span></span><code>{escape_html(code, quote=False)}</code></pre></div>'


def render_markdown(text: str, *, dark: bool = False, highlight_limit: int = HIGHLIGHT_LIMIT) -> str:
    """Render a message's markdown to an HTML fragment safe to give to a QTextDocument.

    A code fence left open (a reply still streaming, or stopped half-way) is closed for display,
    so partial code still shows as code. Code blocks longer than `highlight_limit` characters
    are shown without Pygments (0: none is highlighted, e.g. the first page of a huge message,
    where Pygments' first use alone costs ~50 ms).
    """
    marker = open_fence(text)
    if marker is not None:
        text = text + ("" if text.endswith("\n") else "\n") + marker
    text, lifted = _lift_big_code(text, highlight_limit)
    md = _renderer(dark)
    md.reset()
    converted = md.convert(text)
    if lifted:
        converted = _BIG_CODE_PARAGRAPH.sub(lambda m: _code_box(lifted[int(m.group(1))]), converted)
    return _qt_friendly(converted, dark)


def render_plain(text: str) -> str:
    """Escape `text` for display as-is (user messages keep their exact characters and lines)."""
    escaped = escape_html(text).replace("\n", "<br>")
    return f'<p style="white-space:pre-wrap">{escaped}</p>'


def _fresh_block(line: str) -> bool:
    """True when `line`, after a blank line, starts a block that cannot continue the one above.

    An indented line (list item body, indented code), a quote and a list item after a blank line
    all join the block above in markdown (a loose list, a longer quote): never split there.
    """
    return bool(line) and not line[0].isspace() and line[0] != ">" and not _LIST_ITEM.match(line)


def stable_boundary(text: str, start: int = 0, in_fence: str = "") -> tuple[int, str, int]:
    """Find the last block boundary in `text[start:]`.

    Returns (boundary, open_fence_at_scan_end, scanned_to): `boundary` is the start of the last
    line that follows blank lines outside a code fence and begins a fresh block (or -1 when
    none), so `text[:boundary]` renders exactly as it does inside the whole text. Only complete
    lines are scanned; blank lines whose next line has not arrived are scanned again next time,
    and `scanned_to` says where the next call should resume. The fence is its marker ("```"),
    "" outside one: only a bare fence as long closes it (a "```python" line inside a block is
    code, as the renderer reads it), which `open_fence` also follows.
    """
    boundary = -1
    pos = start
    fence = in_fence
    blank_run = -1  # start of the blank lines just above the current line
    while True:
        newline = text.find("\n", pos)
        if newline < 0:
            break
        line = text[pos:newline]
        match = _FENCE.match(line)
        if match and (not fence or _closes(line, match.group(1), fence)):
            if not fence and blank_run >= 0 and _fresh_block(line):
                boundary = pos
            fence = "" if fence else match.group(1)
            blank_run = -1
        elif not fence and not line.strip():
            if blank_run < 0:
                blank_run = pos
        else:
            if not fence and blank_run >= 0 and _fresh_block(line):
                boundary = pos
            blank_run = -1
        pos = newline + 1
    return boundary, fence, blank_run if blank_run >= 0 else pos


def has_reference_links(text: str) -> bool:
    """True when `text` defines a reference link (`[id]: url`), which applies to the whole text:
    such a reply is rendered whole, not chunk by chunk."""
    return _REFERENCE.search(text) is not None


@dataclass
class RenderedChunk:
    """The result of one incremental render: HTML of newly stable text + HTML of the tail."""

    stable_html: str  # new stable HTML since the previous call (append it once)
    tail_html: str  # the whole unfinished tail (replace the previous tail with it)


class IncrementalMarkdown:
    """Render a growing markdown text, re-rendering only what follows the last block boundary."""

    def __init__(self, *, dark: bool = False) -> None:
        self._dark = dark
        self._stable_end = 0  # text[:stable_end] has been rendered into stable HTML
        self._scan_pos = 0
        self._scan_fence = ""

    @property
    def stable_end(self) -> int:
        return self._stable_end

    def update(self, text: str) -> RenderedChunk:
        """Render the new state of `text` (which only ever grows)."""
        boundary, fence, scanned = stable_boundary(text, self._scan_pos, self._scan_fence)
        self._scan_pos, self._scan_fence = scanned, fence
        new_stable = ""
        if boundary > self._stable_end:
            new_stable = render_markdown(text[self._stable_end : boundary], dark=self._dark)
            self._stable_end = boundary
        tail = text[self._stable_end :]
        tail_html = render_markdown(tail, dark=self._dark) if tail.strip() else ""
        return RenderedChunk(new_stable, tail_html)

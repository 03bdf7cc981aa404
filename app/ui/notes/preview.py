"""The preview pane: the note around a hit, rendered, with the hit's lines shaded and scrolled to.

Markdown (and app notes) go through the chat's safe renderer (`render_markdown`: no raw HTML, no
remote images); other formats are shown as text. The document is cut at the hit's line range into
before / hit / after, each rendered on its own, so the hit can be wrapped in a shaded box with an
anchor to scroll to. A cut inside a code fence closes and reopens it, so code stays code.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import QTextBrowser

from app.core.services.notes import HitPreview
from app.ui.chat.messages.markdown_render import open_fence, render_markdown, render_plain

__all__ = ["HIT_ANCHOR", "PreviewPane", "preview_html"]

HIT_ANCHOR = "switchboard-hit"
# Longer documents are shown from a window around the hit: rendering 5 MB of text on the Qt
# thread would freeze the tab.
WINDOW_LINES = 400


def _render(text: str, markdown: bool, dark: bool) -> str:
    if not text.strip():
        return ""
    return render_markdown(text, dark=dark) if markdown else render_plain(text)


def preview_html(preview: HitPreview, *, dark: bool = False) -> str:
    """HTML of the document with the hit's lines in a shaded, anchored box."""
    lines = preview.text.splitlines()
    start = max(1, preview.line_start)
    end = max(start, preview.line_end)
    first = max(0, start - 1 - WINDOW_LINES // 2)
    last = min(len(lines), end + WINDOW_LINES // 2)
    before = lines[first : start - 1]
    hit = lines[start - 1 : end]
    after = lines[end:last]
    markdown = preview.format == "markdown"
    before_text = "\n".join(before)
    hit_text = "\n".join(hit)
    after_text = "\n".join(after)
    if markdown:
        # A fence open at the cut is closed in `before` and reopened in the hit (and again after).
        fence = open_fence(before_text + "\n") if before_text else None
        if fence is not None:
            before_text += "\n" + fence
            hit_text = fence + "\n" + hit_text
        fence_after = open_fence(hit_text + "\n")
        if fence_after is not None:
            hit_text += "\n" + fence_after
            after_text = fence_after + "\n" + after_text
    shade = "#3a3520" if dark else "#fff8d6"
    border = "#8a7a2a" if dark else "#e0c65c"
    parts = []
    if first > 0:
        parts.append(f'<p style="color:gray">… {first} lines above</p>')
    parts.append(_render(before_text, markdown, dark))
    parts.append(
        f'<a name="{HIT_ANCHOR}"></a>'
        f'<table width="100%" cellpadding="6" cellspacing="0" style="background-color:{shade};'
        f'border-left:3px solid {border}"><tr><td>{_render(hit_text, markdown, dark)}</td></tr></table>'
    )
    parts.append(_render(after_text, markdown, dark))
    if last < len(lines):
        parts.append(f'<p style="color:gray">… {len(lines) - last} lines below</p>')
    return "".join(parts)


class PreviewPane(QTextBrowser):
    """Shows a `HitPreview`; links open only when clicked, and only http(s)/mailto."""

    shown = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Note preview")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.preview: HitPreview | None = None
        self.clear_preview()

    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def clear_preview(self, text: str = "Choose a result to see the note here.") -> None:
        self.preview = None
        self.setHtml(f'<p style="color:gray">{text}</p>')

    def show_preview(self, preview: HitPreview) -> None:
        self.preview = preview
        self.setHtml(preview_html(preview, dark=self._dark()))
        self.scrollToAnchor(HIT_ANCHOR)
        self.shown.emit()

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

"""The markdown renderer: safe output (no remote resources, raw HTML escaped) and highlighted code.

Pure functions: no Qt widget is involved.
"""

from __future__ import annotations

import re

from app.ui.chat.messages.markdown_render import (
    IncrementalMarkdown,
    has_reference_links,
    open_fence,
    render_markdown,
    render_plain,
    stable_boundary,
)


def test_markdown_images_with_remote_src_are_never_loaded() -> None:
    html = render_markdown("Look: ![tracking pixel](https://evil.example/p.gif?u=1) done")
    assert "<img" not in html
    assert "[image: tracking pixel]" in html
    # The URL is kept only as a title the user can read, never as a source.
    assert 'src="https://evil.example' not in html


def test_local_file_images_are_not_loaded_either() -> None:
    html = render_markdown("![x](file:///etc/passwd) ![y](/tmp/a.png)")
    assert "<img" not in html
    assert html.count("[image:") == 2


def test_inline_data_images_are_allowed() -> None:
    data = "data:image/png;base64,iVBORw0KGgo="
    html = render_markdown(f"![dot]({data})")
    assert f'src="{data}"' in html


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown('Hi <img src="http://evil.example/x.png"> <script>alert(1)</script>\n\n<div onclick="x">block</div>')
    assert "<img" not in html and "<script" not in html and "<div onclick" not in html
    assert "&lt;img" in html and "&lt;script&gt;" in html


def test_unsafe_link_targets_are_dropped_but_http_links_kept() -> None:
    html = render_markdown("[ok](https://example.com) [bad](javascript:alert(1))")
    assert 'href="https://example.com"' in html
    assert "javascript:" not in html


def test_code_blocks_are_highlighted_with_inline_styles() -> None:
    html = render_markdown("Intro\n\n```python\ndef f(x):\n    return x + 1\n```\n")
    assert "<pre" in html
    # Pygments token colours inlined (Qt rich text cannot use CSS classes) ...
    assert re.search(r'<span style="color: #[0-9A-Fa-f]{3,6}[^"]*">def</span>', html)
    # ... inside a shaded box Qt can paint.
    assert "<table" in html and "bgcolor=" in html
    assert 'class="codehilite"' not in html


def test_dark_theme_uses_a_dark_code_style() -> None:
    light = render_markdown("```python\nx = 1\n```")
    dark = render_markdown("```python\nx = 1\n```", dark=True)
    assert light != dark


def test_plain_render_escapes_and_keeps_lines() -> None:
    html = render_plain("a < b\n**not bold**")
    assert "a &lt; b<br>**not bold**" in html


def test_stable_boundary_ignores_blank_lines_inside_fences() -> None:
    text = "para one\n\n```python\nx = 1\n\ny = 2\n"
    boundary, in_fence, _ = stable_boundary(text)
    assert boundary == len("para one\n\n")
    assert in_fence
    closed = text + "```\n\nafter\n"
    boundary2, in_fence2, _ = stable_boundary(closed)
    assert boundary2 == len(text + "```\n\n")
    assert not in_fence2


def test_incremental_render_only_rerenders_the_tail() -> None:
    paragraphs = [f"Paragraph {i} with **bold** text." for i in range(50)]
    text = "\n\n".join(paragraphs) + "\n\n```python\nprint('hi')\n```\n"
    inc = IncrementalMarkdown()
    stable_parts: list[str] = []
    tail_chars = 0
    for end in range(0, len(text) + 1, 7):
        chunk = inc.update(text[:end])
        stable_parts.append(chunk.stable_html)
        tail_chars += len(text[:end]) - inc.stable_end
    chunk = inc.update(text)
    stable_parts.append(chunk.stable_html)
    combined = "".join(stable_parts) + chunk.tail_html
    for i in range(50):
        assert f"Paragraph {i} with <strong>bold</strong> text." in combined
    assert "print" in combined and "<table" in combined
    # Work per update is the tail only: on average far below the whole text.
    updates = len(range(0, len(text) + 1, 7))
    assert tail_chars / updates < len(text) / 10


def test_open_code_fence_still_renders_as_code() -> None:
    html = render_markdown("Partial:\n\n```python\ndef f(x):\n    return")
    assert "<pre" in html and "```" not in html


def test_open_fence_detection() -> None:
    assert open_fence("a\n```python\nx") == "```"
    assert open_fence("a\n```python\nx\n```\n") is None
    assert open_fence("~~~~\ncode\n~~~") == "~~~~"  # a shorter fence does not close it


def test_blocks_that_continue_after_a_blank_line_are_never_split() -> None:
    # A loose list, a quote of two paragraphs and a list item's indented body join the block
    # above them; a chunk boundary there would render differently from the whole text.
    for text in (
        "Steps:\n\n1. first\n\n2. second\n\n3. third\n",
        "> one\n\n> two\n",
        "- item\n\n    more of the item\n",
    ):
        assert stable_boundary(text)[0] in (-1, len(text.split("\n\n")[0]) + 2)
    text = "Steps:\n\n1. first\n\n2. second\n\nDone.\n\n> a\n\n> b\n\nEnd\n"
    inc = IncrementalMarkdown()
    parts = []
    for end in range(0, len(text) + 1, 3):
        chunk = inc.update(text[:end])
        parts.append(chunk.stable_html)
    last = inc.update(text)
    parts += [last.stable_html, last.tail_html]
    assert len([p for p in parts if p]) >= 3  # it was split, at the safe places
    assert "\n".join(p for p in parts if p) == render_markdown(text)


def test_pending_blank_lines_are_scanned_again() -> None:
    boundary, _fence, scanned = stable_boundary("para\n\n")
    assert boundary == -1 and scanned == len("para\n")  # the next line decides
    assert stable_boundary("para\n\nnext\n", scanned)[0] == len("para\n\n")


def test_reference_links_are_detected() -> None:
    assert has_reference_links("See [the docs][d].\n\n[d]: https://example.com\n")
    assert not has_reference_links("A [link](https://example.com) and [brackets] only.")


def test_a_fence_line_with_an_info_string_does_not_close_a_block() -> None:
    # A "```python" line inside a block is code (the renderer reads it so): the chunks cut while
    # streaming must agree, or the text after the block would be shown as code.
    text = "Intro\n\n```markdown\n```python\nx = 1\n```\n\nAfter the block.\n\nMore text.\n"
    boundary, fence, _ = stable_boundary(text)
    assert fence == "" and boundary == text.index("More text.")
    assert stable_boundary("```\n```python\n")[1] == "```"
    incremental = IncrementalMarkdown()
    chunks = [incremental.update(text[:i]) for i in range(1, len(text) + 1)]
    html = "\n".join(c.stable_html for c in chunks if c.stable_html)
    whole = html + ("\n" if html and chunks[-1].tail_html else "") + chunks[-1].tail_html
    assert whole == render_markdown(text)
    assert "After the block." in whole.split("</table>")[-1]

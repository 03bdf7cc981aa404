"""Pure parts of the Notes UI: citation links, editor command lines, snippets, progress text."""

from __future__ import annotations

from app.core.notes.citations import linkify_citations, note_link, parse_note_link
from app.core.services.notes import HIGHLIGHT_END as E
from app.core.services.notes import HIGHLIGHT_START as S
from app.core.services.notes import HitPreview, IndexProgress, NoteHit
from app.ui.notes.ask_controller import context_prompt, excerpt_of
from app.ui.notes.launch import editor_command, reveal_command
from app.ui.notes.preview import HIT_ANCHOR, preview_html
from app.ui.notes.progress_panel import format_eta, format_progress
from app.ui.notes.results_model import hit_location, snippet_html


def _hit(**kw: object) -> NoteHit:
    base = {
        "chunk_id": 7,
        "source_id": 2,
        "file_id": 3,
        "path": "/n/vpn.md",
        "title": "vpn.md",
        "heading_path": ["Networking", "VPN"],
        "line_start": 5,
        "line_end": 7,
        "page": None,
        "snippet": f"the {S}VPN{E} drops",
        "score": 0.5,
    }
    base.update(kw)
    return NoteHit(**base)  # type: ignore[arg-type]


def test_note_links_round_trip_and_reject_other_schemes() -> None:
    assert note_link("42") == "switchboard-note://42"
    assert parse_note_link(note_link("42")) == "42"
    assert parse_note_link(note_link("a/b c")) == "a/b c"
    assert parse_note_link("SWITCHBOARD-NOTE://9/") == "9"
    assert parse_note_link("https://example.com/42") is None
    assert parse_note_link("switchboard-note://") is None


def test_linkify_turns_known_bare_markers_into_links_but_not_code_or_links() -> None:
    text = (
        "VPN fix [1] and printer [2] and [9].\n```\nx[1]\n```\nAlready [[1]](switchboard-note://7)"
    )
    out = linkify_citations(text, {1: "7", 2: "8"})
    assert "fix [[1]](switchboard-note://7)" in out
    assert "printer [[2]](switchboard-note://8)" in out
    assert "[9]." in out  # unknown number stays text
    assert "x[1]\n" in out  # code untouched
    assert out.count("switchboard-note://7") == 2  # the existing link is not doubled


def test_editor_commands_for_known_editors_with_the_line() -> None:
    which = lambda exe: "/usr/bin/" + exe
    assert editor_command("/n/a.md", 12, {"VISUAL": "code --wait"}, which=which) == [
        "code",
        "--wait",
        "--goto",
        "/n/a.md:12",
    ]
    assert editor_command("/n/a.md", 3, {"EDITOR": "subl"}, which=which) == ["subl", "/n/a.md:3"]
    assert editor_command("/n/a.md", 3, {"EDITOR": "kate"}, which=which) == [
        "kate",
        "--line",
        "3",
        "/n/a.md",
    ]
    assert editor_command("/n/a.md", 3, {"EDITOR": "gedit"}, which=which) == [
        "gedit",
        "+3",
        "/n/a.md",
    ]
    # A terminal editor cannot run without a terminal; $VISUAL wins over $EDITOR.
    assert editor_command("/n/a.md", 3, {"EDITOR": "vim"}, which=which) is None
    assert editor_command("/n/a.md", 3, {"VISUAL": "zed", "EDITOR": "vim"}, which=which) == [
        "zed",
        "/n/a.md:3",
    ]
    assert editor_command("/n/a.md", 3, {"EDITOR": "code"}, which=lambda _e: None) is None
    assert editor_command("/n/a.md", 3, {}, which=which) is None


def test_reveal_commands_per_platform() -> None:
    assert reveal_command("/n/a.md", platform="darwin") == ["open", "-R", "/n/a.md"]
    assert reveal_command("C:/n/a.md", platform="win32")[0] == "explorer"
    linux = reveal_command("/n/a.md", platform="linux", which=lambda e: "/usr/bin/gdbus")
    assert linux is not None and "org.freedesktop.FileManager1.ShowItems" in linux
    assert "['file:///n/a.md']" in linux
    assert reveal_command("/n/a.md", platform="linux", which=lambda e: None) is None


def test_snippet_html_escapes_and_highlights_even_when_unbalanced() -> None:
    html = snippet_html(f"<b>x</b> {S}VPN{E} and {S}rout")
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.count("<b ") == 2 and html.count("</b>") == 2
    assert ">VPN</b>" in html


def test_location_text() -> None:
    assert hit_location(_hit()) == "Networking › VPN · lines 5–7"
    assert hit_location(_hit(heading_path=[], page=3)) == "page 3"
    assert hit_location(_hit(line_end=5)) == "Networking › VPN · line 5"


def test_progress_text_and_eta() -> None:
    p = IndexProgress(1, "embedding", 40, 40, 120, 300, 45210, failed_batches=2, eta_seconds=65)
    assert format_progress(p) == (
        "Embedding · files 40/40 · chunks 120/300 · 45,210 tokens · 1 min 05 s left · 2 batches failed"
    )
    assert format_eta(None) == "estimating…"
    assert format_eta(7200) == "2 h 00 min left"


def test_preview_shades_the_hit_and_keeps_a_cut_code_fence_as_code() -> None:
    text = "# T\n\nintro\n\n```python\na = 1\nb = 2\n```\n\nafter words\n"
    hit = _hit(line_start=7, line_end=7)  # "b = 2", inside the fence
    html = preview_html(HitPreview(hit, text, "markdown", 7, 7, None))
    assert f'<a name="{HIT_ANCHOR}"></a>' in html
    assert "```" not in html  # every part rendered as code, no stray fence markers
    assert "after words" in html and "intro" in html


def test_ask_prompt_numbers_hits_with_their_links() -> None:
    hit = _hit()
    preview = HitPreview(
        hit, "a\nb\nc\nd\nline five\nline six\nline seven\nz", "markdown", 5, 7, None
    )
    excerpt = excerpt_of(preview)
    assert excerpt == "line five\nline six\nline seven"
    prompt = context_prompt([(hit, excerpt), (_hit(chunk_id=8), "")])
    assert "[1] vpn.md — Networking › VPN · lines 5–7 — link: switchboard-note://7" in prompt
    assert "[2] vpn.md" in prompt and "switchboard-note://8" in prompt
    assert "the VPN drops" in prompt  # an empty excerpt falls back to the snippet


def test_snippet_is_cut_after_max_chars_and_markers_stay_balanced() -> None:
    html = snippet_html(f"{S}alpha{E} " + "word " * 100, max_chars=30)
    assert html.endswith("…") and html.count("<b ") == html.count("</b>") == 1
    assert len(html) < 120

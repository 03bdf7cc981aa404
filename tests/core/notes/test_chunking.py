"""Structural chunking: headings give paths, code stays whole, lines and pages are right."""

from __future__ import annotations

import random

from app.core.notes.chunking import chunk_document, estimate_tokens


def test_headings_become_paths_and_lines_are_exact() -> None:
    text = "# Net\n\nintro line\n\n## VPN\n\nflaky at night\nreconnect\n\n# Food\n\nbread\n"
    chunks = chunk_document(text, "markdown", title="notes")
    assert [(c.heading_path, c.line_start, c.line_end) for c in chunks] == [
        (["notes", "Net"], 3, 3),
        (["notes", "Net", "VPN"], 7, 8),
        (["notes", "Food"], 12, 12),
    ]
    assert chunks[1].text == "flaky at night\nreconnect"
    lines = text.split("\n")
    for c in chunks:
        assert "\n".join(lines[c.line_start - 1 : c.line_end]).strip() == c.text


def test_code_block_kept_whole_and_long_text_split_with_overlap() -> None:
    code = "```python\n" + "\n".join(f"x{i} = {i}" for i in range(20)) + "\n```"
    para = " ".join(f"word{i}" for i in range(600))
    text = f"# A\n\nshort para\n\n{code}\n\n{para}\n"
    chunks = chunk_document(text, "markdown", target_tokens=200, overlap_tokens=20)
    assert sum(code in c.text for c in chunks) >= 1  # whole, fences and all
    assert not any("x5 = 5" in c.text and code not in c.text for c in chunks)
    long_parts = [c for c in chunks if "word" in c.text]
    assert len(long_parts) >= 3
    assert all(c.tokens <= 220 for c in long_parts)
    joined = " ".join(c.text for c in long_parts)
    assert all(f"word{i}" in joined for i in range(600))  # nothing lost


def test_sha_changes_only_with_text_and_pdf_pages() -> None:
    a = chunk_document("# A\n\none\n\n# B\n\ntwo\n", "markdown")
    b = chunk_document("# A\n\none\n\n# B\n\ntwo changed\n", "markdown")
    assert a[0].sha256 == b[0].sha256 and a[1].sha256 != b[1].sha256
    pdf = chunk_document("page one text\n\fpage two text\n\fthird\n", "pdf")
    assert [(c.page, c.text, c.line_start) for c in pdf] == [
        (1, "page one text", 1), (2, "page two text", 2), (3, "third", 3)
    ]


def test_rst_and_org_headings() -> None:
    rst = chunk_document("Title\n=====\n\nbody\n\nSub\n---\n\nmore\n", "rst")
    assert [c.heading_path for c in rst] == [["Title"], ["Title", "Sub"]]
    org = chunk_document("* Top\nbody\n** Inner\nmore\n", "org")
    assert [c.heading_path for c in org] == [["Top"], ["Top", "Inner"]]


def _split_one_word_at_a_time(words: list[str], target: int) -> list[str]:
    """The reference: add words until the next would take the piece over `target` tokens."""
    pieces: list[str] = []
    cur: list[str] = []
    for word in words:
        if cur and estimate_tokens(" ".join([*cur, word])) > target:
            pieces.append(" ".join(cur))
            cur = []
        cur.append(word)
    if cur:
        pieces.append(" ".join(cur))
    return pieces


def test_long_paragraph_split_matches_word_at_a_time_packing() -> None:
    """A one-line paragraph over the target is cut into the longest pieces that fit (the
    chunker bisects running sums; the pieces must be the word-at-a-time ones: a different cut
    would change chunk hashes and re-embed everyone's notes)."""
    rng = random.Random(5)
    vocabulary = ["a", "bb", "ccc", "word", "longerword", "x" * 40, "y" * 2000]
    for _ in range(300):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 400))]
        target = rng.choice([1, 2, 7, 13, 50, 400])
        line = " ".join(words)
        expected = _split_one_word_at_a_time(words, target) if estimate_tokens(line) > target else [line]
        chunks = chunk_document(line, "text", target_tokens=target, overlap_tokens=0)
        assert [c.text for c in chunks] == expected, target

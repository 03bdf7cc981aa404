"""Structural chunking: headings give paths, code stays whole, lines and pages are right."""

from __future__ import annotations

from app.core.notes.chunking import chunk_document


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

"""Extraction: HTML by the standard library, PDFs in a worker process with a time limit; scanning."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.notes.chunking import chunk_document
from app.core.notes.extract import ExtractionError, PdfWorker, decode, extract_html
from app.core.notes.scan import scan_folder
from app.core.services.notes import DEFAULT_EXCLUDES


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page (offsets computed)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R"
            f" /Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_html_headings_and_hidden_text() -> None:
    page = (
        b"<html><head><title>Home lab</title><style>p{}</style></head><body>"
        b"<h1>Network</h1><p>The &amp; router</p><script>evil()</script>"
        b"<h2>VPN</h2><p>WireGuard on port 51820</p></body></html>"
    )
    out = extract_html(page)
    assert out.title == "Home lab"
    assert "evil" not in out.text and "p{}" not in out.text
    chunks = chunk_document(out.text, "html", title=out.title)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (["Home lab", "Network"], "The & router"),
        (["Home lab", "Network", "VPN"], "WireGuard on port 51820"),
    ]


def test_decode_falls_back_and_refuses_binary() -> None:
    assert decode(b"caf\xe9\r\nok") == "café\nok"
    with pytest.raises(ExtractionError):
        decode(b"\x89PNG\x00\x00")


def test_pdf_in_a_worker_process_with_pages_and_a_time_limit(tmp_path: Path) -> None:
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(make_pdf(["Printer setup guide", "Replace the toner cartridge"]))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    worker = PdfWorker(timeout=0.001)  # far shorter than starting Python: must time out
    try:
        with pytest.raises(ExtractionError, match="longer than"):
            worker.extract(pdf)
        worker.timeout = 60
        text = worker.extract(pdf).text  # a fresh worker after the kill
        assert text.split("\f") == ["Printer setup guide", "Replace the toner cartridge"]
        chunks = chunk_document(text, "pdf")
        assert [(c.page, c.text) for c in chunks] == [
            (1, "Printer setup guide"),
            (2, "Replace the toner cartridge"),
        ]
        with pytest.raises(ExtractionError, match="could not be read"):
            worker.extract(broken)
        assert worker.extract(pdf).text.startswith("Printer")  # the worker survived
    finally:
        worker.close()


def test_scan_excludes_size_and_types(tmp_path: Path) -> None:
    for rel, size in {
        "a.md": 10, "b/c.txt": 10, "b/big.md": 5000, ".git/x.md": 10, "node_modules/m/r.md": 10,
        "photo.jpg": 10, "drafts/d.md": 10, "keep.org": 10,
    }.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * size)
    found = scan_folder(tmp_path, [*DEFAULT_EXCLUDES, "drafts/"], max_file_size=1000)
    assert [(f.rel_path, f.too_big) for f in found] == [
        ("a.md", False), ("b/big.md", True), ("b/c.txt", False), ("keep.org", False)
    ]

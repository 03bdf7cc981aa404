"""Composer attachments: files and pasted images checked, loaded and turned into message content.

An attachment is either a *pasted text* too large for the editor (kind "paste": sent as it is,
after the typed text, see `LARGE_PASTE_CHARS`), an *image* (sent as an `ImagePart`, i.e. an `image_url` data URL on the
OpenAI dialect) or a *text file* (inlined into the message as a fenced block headed by its file
name, so every provider and the stored transcript see it). Everything else is refused with a
sentence the user can act on:

- images larger than `IMAGE_LIMIT` (20 MB, what OpenAI-compatible servers accept);
- text files larger than `TEXT_LIMIT` (inlining more would swamp the context window);
- documents and archives (PDF, ZIP, Office...) and any other binary file.

`load_attachment(path)` reads and checks a file; it blocks, so the UI runs it with
`asyncio.to_thread`. Images in formats providers rarely take (BMP, TIFF, ...) are converted to
PNG with QImage, which is safe off the GUI thread. `build_content(text, attachments)` gives the
text shown in the transcript and the content to send (a plain string when there are no images).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage

from app.core.protocol.types import ContentPart, ImagePart, TextPart

__all__ = [
    "IMAGE_LIMIT",
    "LARGE_PASTE_CHARS",
    "TEXT_LIMIT",
    "Attachment",
    "AttachmentError",
    "attachment_from_bytes",
    "attachment_from_image",
    "attachment_from_paste",
    "build_content",
    "human_size",
    "inline_text_block",
    "load_attachment",
    "load_attachments",
]

IMAGE_LIMIT = 20 * 1024 * 1024
TEXT_LIMIT = 512 * 1024
PREVIEW_SIZE = 40
# Pasted text longer than this becomes a "pasted text" chip instead of editor text: a
# QPlainTextEdit holding megabytes costs ~0.5 s per insert and 40 ms per toPlainText().
LARGE_PASTE_CHARS = 100_000

# Magic numbers of the image formats vision APIs accept as they are.
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# Image files QImage can read that are sent converted to PNG.
_CONVERTIBLE_IMAGES = frozenset({".bmp", ".tif", ".tiff", ".ico", ".ppm", ".pgm", ".pbm", ".xpm", ".xbm"})
# Binary documents recognised by their magic, for a clearer refusal than "binary file".
_DOCUMENT_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF documents"),
    (b"PK\x03\x04", "ZIP archives and Office documents"),
    (b"\x1f\x8b", "gzip archives"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archives"),
    (b"\x7fELF", "programs"),
    (b"MZ", "programs"),
)
_SUPPORTED = "Only images (PNG, JPEG, GIF, WebP) and text files can be attached."

_FENCE_LANGUAGES = {
    ".py": "python", ".js": "javascript", ".ts": "typescript", ".json": "json", ".md": "markdown",
    ".html": "html", ".css": "css", ".sh": "bash", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".rs": "rust", ".go": "go", ".c": "c", ".h": "c", ".cpp": "cpp", ".java": "java", ".sql": "sql",
    ".xml": "xml", ".csv": "csv", ".ini": "ini", ".rb": "ruby", ".kt": "kotlin", ".swift": "swift",
}


class AttachmentError(ValueError):
    """A file that cannot be attached; `str()` is a sentence for the user."""


@dataclass(frozen=True)
class Attachment:
    """One checked attachment: an image (bytes in `mime`), a text file (its decoded `text`) or a
    large pasted text (`text`, no bytes: it is never encoded on the GUI thread)."""

    name: str
    kind: Literal["image", "text", "paste"]
    mime: str
    data: bytes
    text: str = ""
    preview: QImage | None = None  # a small thumbnail for images

    @property
    def size(self) -> int:
        """Bytes, or characters for a pasted text (counted without encoding it)."""
        return len(self.text) if self.kind == "paste" else len(self.data)

    def describe(self) -> str:
        """`name · 12 KB`, as chips and screen readers say it."""
        return f"{self.name} · {human_size(self.size)}"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def sniff_image_mime(data: bytes) -> str | None:
    """The MIME type of a PNG/JPEG/GIF/WebP image from its first bytes, else None."""
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _preview(image: QImage) -> QImage:
    return image.scaled(
        PREVIEW_SIZE, PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def _png_bytes(image: QImage) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes; the binding wants str
    buffer.close()
    if not ok:
        raise AttachmentError("The image could not be converted to PNG.")
    return bytes(array.data())


def _image_too_large(name: str, size: int) -> AttachmentError:
    return AttachmentError(
        f"“{name}” is {human_size(size)}; images can be at most {human_size(IMAGE_LIMIT)}. "
        "Resize or compress it first."
    )


def attachment_from_image(image: QImage, name: str = "pasted-image.png") -> Attachment:
    """A pasted/clipboard image as a PNG attachment."""
    if image.isNull():
        raise AttachmentError("The clipboard image is empty.")
    data = _png_bytes(image)
    if len(data) > IMAGE_LIMIT:
        raise _image_too_large(name, len(data))
    return Attachment(name=name, kind="image", mime="image/png", data=data, preview=_preview(image))


def attachment_from_paste(text: str) -> Attachment:
    """A large pasted text as an attachment sent as it is (see LARGE_PASTE_CHARS)."""
    return Attachment(name="Pasted text", kind="paste", mime="text/plain", data=b"", text=text)


def attachment_from_bytes(name: str, data: bytes, size: int | None = None) -> Attachment:
    """Decide what `data` (the contents of file `name`, `size` bytes in all) is; check limits."""
    size = len(data) if size is None else size
    suffix = Path(name).suffix.lower()
    mime = sniff_image_mime(data)
    if mime is not None or suffix in _CONVERTIBLE_IMAGES:
        if size > IMAGE_LIMIT:
            raise _image_too_large(name, size)
        image = QImage.fromData(data)
        if image.isNull():
            raise AttachmentError(f"“{name}” could not be read as an image; it may be damaged.")
        if mime is None:  # BMP, TIFF...: providers want PNG/JPEG/GIF/WebP
            data, mime = _png_bytes(image), "image/png"
            name = str(Path(name).with_suffix(".png"))
            if len(data) > IMAGE_LIMIT:
                raise _image_too_large(name, len(data))
        return Attachment(name=name, kind="image", mime=mime, data=data, preview=_preview(image))
    for magic, what in _DOCUMENT_MAGIC:
        if data.startswith(magic):
            raise AttachmentError(f"“{name}” cannot be attached: {what} are not supported. {_SUPPORTED}")
    if b"\x00" in data[:8192]:
        raise AttachmentError(f"“{name}” looks like a binary file. {_SUPPORTED}")
    if size > TEXT_LIMIT:
        raise AttachmentError(
            f"“{name}” is {human_size(size)}; text files can be at most "
            f"{human_size(TEXT_LIMIT)} to be inlined. Attach a smaller excerpt."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AttachmentError(
            f"“{name}” is not UTF-8 text (it may be binary). {_SUPPORTED}"
        ) from None
    return Attachment(name=name, kind="text", mime="text/plain", data=data, text=text)


def load_attachment(path: str | Path) -> Attachment:
    """Read and check one file (blocking: run it off the GUI thread)."""
    path = Path(path)
    name = path.name
    try:
        if not path.is_file():
            raise AttachmentError(f"“{name}” is not a file.")
        size = path.stat().st_size
        # Never read more than the largest accepted size (plus one byte to know it is larger).
        with path.open("rb") as fh:
            data = fh.read(IMAGE_LIMIT + 1)
    except OSError as exc:
        raise AttachmentError(f"“{name}” could not be read: {exc.strerror or exc}.") from None
    return attachment_from_bytes(name, data, size)


def load_attachments(paths: Sequence[str | Path]) -> tuple[list[Attachment], list[str]]:
    """Load several files: the attachments that passed, and one error sentence per refused file."""
    loaded: list[Attachment] = []
    errors: list[str] = []
    for path in paths:
        try:
            loaded.append(load_attachment(path))
        except AttachmentError as exc:
            errors.append(str(exc))
    return loaded, errors


def inline_text_block(attachment: Attachment) -> str:
    """A text file as a fenced block headed by its name; the fence outgrows any fence inside."""
    longest = max((len(m) for m in re.findall(r"`{3,}", attachment.text)), default=0)
    fence = "`" * max(3, longest + 1)
    language = _FENCE_LANGUAGES.get(Path(attachment.name).suffix.lower(), "")
    body = attachment.text if attachment.text.endswith("\n") else attachment.text + "\n"
    return f"File: {attachment.name}\n{fence}{language}\n{body}{fence}"


def build_content(
    text: str, attachments: Sequence[Attachment]
) -> tuple[str, str | list[ContentPart]]:
    """(the message text with text files inlined, the content to send).

    The content is that text alone when there are no images, else a list of parts: the text
    first (when there is any), then one `ImagePart` per image, in the order they were attached.
    Large pasted texts follow the typed text as they are, then the text files.
    """
    blocks = [text.rstrip()] if text.strip() else []
    blocks += [a.text for a in attachments if a.kind == "paste"]
    blocks += [inline_text_block(a) for a in attachments if a.kind == "text"]
    full = "\n\n".join(blocks)
    images = [a for a in attachments if a.kind == "image"]
    if not images:
        return full, full
    parts: list[ContentPart] = [TextPart(full)] if full else []
    parts += [ImagePart(mime=a.mime, data=a.data) for a in images]
    return full, parts

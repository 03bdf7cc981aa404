"""Reading attachments off the GUI thread, for the controllers that offer them to the composer.

Two small awaitables over `attachments.py`'s pure readers: files (picked or dropped) and a pasted
image, each giving `(attached, refusals)`. They belong in `attachments.py` itself; they live here
while that module is being reworked, and should move there (with the file-dialog filter) later.
"""

from __future__ import annotations

import asyncio

from PySide6.QtGui import QImage

from app.ui.chat.composer.attachments import (
    Attachment,
    AttachmentError,
    attachment_from_image,
    load_attachments,
)

__all__ = ["ATTACH_FILTER", "read_files", "read_image"]

ATTACH_FILTER = (
    "Images and text files (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff *.txt *.md *.py *.json"
    " *.csv *.log *.yaml *.yml *.toml *.html *.js *.ts);;All files (*)"
)


async def read_files(paths: list[str]) -> tuple[list[Attachment], list[str]]:
    """Read and check files on a worker thread: those that pass, and a sentence per refusal."""
    return await asyncio.to_thread(load_attachments, paths)


async def read_image(image: QImage) -> tuple[list[Attachment], list[str]]:
    """A pasted image, encoded as PNG on a worker thread."""
    try:
        attachment = await asyncio.to_thread(attachment_from_image, image)
    except AttachmentError as exc:
        return [], [str(exc)]
    return [attachment], []

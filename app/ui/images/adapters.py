"""Translations between the service's records and the Images tab's UI records.

One place knows both sides: `ImageRecord` -> `GalleryItem` / `DetailInfo` / `FormSettings`,
`JobRecord` -> `JobView`, `GalleryQuery` -> `GalleryFilter`, `FormSettings` ->
`ImageGenerationRequest`. The widgets and models only know the UI records.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.ui.images.detail_view import DetailInfo, parameter_rows
from app.ui.images.filter_bar import GalleryQuery
from app.ui.images.gallery_model import GalleryItem
from app.ui.images.generate_form import FormCapabilities, FormSettings
from app.ui.images.job_list import JobView

if TYPE_CHECKING:
    from app.core.jobs import JobRecord
    from app.core.providers import ProviderProfile
    from app.core.services.images import GalleryFilter, ImageGenerationRequest
    from app.core.store.images import ImageSummary
    from app.core.store.records import ImageRecord

__all__ = [
    "capabilities_for",
    "detail_info",
    "form_settings",
    "gallery_filter",
    "gallery_item",
    "gallery_items",
    "generation_request",
    "job_view",
]

PathFn = Callable[["ImageRecord"], Path]


def gallery_item(rec: ImageRecord, images_root: str) -> GalleryItem:
    """`images_root`: the images directory as text. A page adapts hundreds of records on the
    loop's thread, so the path is joined as text (pathlib took ~20 µs a row, most of a page)."""
    return GalleryItem(
        id=rec.id,
        prompt=rec.prompt,
        path=os.path.join(images_root, rec.path),
        sha256=rec.sha256,
        model=rec.model or "",
        size=rec.size or "",
        profile_id=rec.profile_id or "",
        created_at=rec.created_at,
        starred=rec.starred,
        batch_id=str(rec.job_id) if rec.job_id is not None else "",
        batch_index=rec.batch_index,
    )


def gallery_items(rows: Iterable[ImageSummary], images_root: str) -> list[GalleryItem]:
    """A page of summaries as gallery rows: ~1 µs a row on the loop's thread (positional
    fields, the path joined as text; a page of `ImageRecord`s took ~2 ms)."""
    prefix = os.path.join(images_root, "")
    make = GalleryItem._make
    return [
        make(
            (
                r.id,
                r.prompt,
                prefix + r.path,
                r.model or "",
                r.size or "",
                r.profile_id or "",
                r.created_at,
                bool(r.starred),
                "" if r.job_id is None else str(r.job_id),
                r.batch_index,
                1,
                r.sha256,
            )
        )
        for r in rows
    ]


def detail_info(
    rec: ImageRecord,
    path_of: PathFn,
    profile_name: Callable[[str], str] = lambda p: p,
    batch_size: int = 0,
) -> DetailInfo:
    """Everything known about one image, as read-only rows."""
    values: dict[str, Any] = {
        "profile": profile_name(rec.profile_id) if rec.profile_id else "",
        "provider": rec.provider,
        "model": rec.model,
        "size": rec.size,
        "dimensions": f"{rec.width} × {rec.height}" if rec.width and rec.height else "",
        "quality": rec.quality,
        "style": rec.style,
        "seed": rec.seed,
        "negative_prompt": rec.negative_prompt,
        "created_at": rec.created_at,
        "file_type": rec.mime,
        "file_size": f"{rec.byte_size / 1024:.0f} KB" if rec.byte_size else "",
    }
    shown = {
        "prompt",
        "model",
        "size",
        "quality",
        "style",
        "seed",
        "negative_prompt",
        "profile_id",
        "regenerates",
        "extra",
    }
    for key, value in (rec.params or {}).items():
        if key not in shown and key not in values:
            values[key] = value
    batch_text = ""
    if rec.job_id is not None and batch_size > 1:
        batch_text = f"Image {rec.batch_index + 1} of {batch_size} from one generation"
    return DetailInfo(
        id=rec.id,
        path=path_of(rec),
        prompt=rec.prompt,
        revised_prompt=rec.revised_prompt or "",
        starred=rec.starred,
        parameters=parameter_rows(values),
        batch_text=batch_text,
    )


def form_settings(rec: ImageRecord) -> FormSettings:
    """ "Use these settings": the form filled from an image (never done by just looking)."""
    params = rec.params or {}
    n = params.get("n", 1)
    return FormSettings(
        profile_id=rec.profile_id or "",
        model=rec.model or "",
        prompt=rec.prompt,
        n=n if isinstance(n, int) and n > 0 else 1,
        size=rec.size or str(params.get("size") or ""),
        quality=rec.quality or "",
        style=rec.style or "",
        response_format=str(params.get("response_format") or ""),
        seed=rec.seed,
        negative_prompt=rec.negative_prompt or "",
    )


def generation_request(s: FormSettings) -> ImageGenerationRequest:
    from app.core.services.images import ImageGenerationRequest

    return ImageGenerationRequest(
        profile_id=s.profile_id,
        prompt=s.prompt,
        model=s.model or None,
        n=s.n,
        size=s.size or None,
        quality=s.quality or None,
        style=s.style or None,
        response_format=s.response_format or None,
        seed=s.seed,
        negative_prompt=s.negative_prompt or None,
    )


def gallery_filter(q: GalleryQuery) -> GalleryFilter:
    from app.core.services.images import GalleryFilter

    return GalleryFilter(
        text=q.text,
        profile_id=q.profile_id,
        model=q.model,
        size=q.size,
        since=q.since,
        until=q.until,
        starred=q.starred,
    )


def job_view(job: JobRecord, can_retry: bool = False) -> JobView:
    params = job.params or {}
    request = params.get("request", params)
    n = request.get("n", 1) if isinstance(request, dict) else 1
    result = job.result or {}
    saved = result.get("saved")
    saved_count = (
        len(saved) if isinstance(saved, list) else int(saved) if isinstance(saved, int) else 0
    )
    return JobView(
        id=job.id,
        state=job.state,
        prompt=str(request.get("prompt", "")) if isinstance(request, dict) else "",
        created_at=job.created_at or time.time(),
        progress=job.progress,
        progress_text=job.progress_text,
        error=job.error or "",
        saved=saved_count,
        wanted=n if isinstance(n, int) and n > 0 else 1,
        can_retry_download=can_retry,
        may_have_reached_provider=job.may_have_reached_provider,
    )


def capabilities_for(profile: ProviderProfile | None) -> FormCapabilities:
    """Which optional fields the profile's dialect takes (sizes in its own notation)."""
    if profile is None:
        return FormCapabilities()
    if str(profile.dialect) == "gemini":
        # Gemini's image output takes a prompt and a seed; size/quality/style are not its words.
        return FormCapabilities(
            size_style="x",
            quality=False,
            style=False,
            response_format=False,
            seed=True,
            negative_prompt=False,
            max_n=4,
        )
    # OpenAI's own endpoint takes no seed or negative prompt; OpenAI-compatible servers for
    # open models (seed 002's, SD/Flux backends) do, and the service sends them there.
    own_openai = profile.preset == "openai"
    return FormCapabilities(
        size_style=profile.image_size_style or "x",
        quality=True,
        style=own_openai or profile.image_size_style != "*",
        response_format=True,
        seed=not own_openai,
        negative_prompt=not own_openai,
    )

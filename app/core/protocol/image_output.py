"""Image generation wire formats beyond `openai.build_image_body`: pure functions, no I/O.

- `build_openai_image_body`: the OpenAI-compatible body plus seed, negative prompt and extra
  parameters (servers such as seed 002's accept them; OpenAI ignores what it does not know);
- `build_gemini_image_body` / `parse_gemini_image_response`: Gemini's image output
  (`generateContent` with `responseModalities: ["TEXT", "IMAGE"]`, images as `inlineData` parts);
- `parse_openai_image_reply`: the OpenAI reply as `ImageOutput`s (URL or base64);
- `without_image_bytes`: the raw reply with every base64 payload replaced by a short marker, to
  store beside the image's metadata;
- `sniff_image_type`: the MIME type from magic bytes (PNG, JPEG, WebP, GIF only).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core.errors import MalformedResponseError
from app.core.protocol import gemini, openai
from app.core.protocol.errors import api_error_from_json, error_info_from_json
from app.core.protocol.types import ImageRequest

__all__ = [
    "ALLOWED_IMAGE_TYPES",
    "EXTENSIONS",
    "ImageOutput",
    "build_gemini_image_body",
    "build_openai_image_body",
    "decode_b64",
    "parse_gemini_image_response",
    "parse_openai_image_reply",
    "sniff_image_type",
    "without_image_bytes",
]

ALLOWED_IMAGE_TYPES: frozenset[str] = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
EXTENSIONS: dict[str, str] = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


@dataclass
class ImageOutput:
    """One image of a reply: a URL to fetch or base64 data to decode."""

    index: int
    url: str | None = None
    b64: str | None = None
    mime: str | None = None  # as declared (Gemini's mimeType); checked against magic bytes
    revised_prompt: str | None = None


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type from the first bytes, or None when it is not PNG/JPEG/WebP/GIF."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def decode_b64(text: str) -> bytes:
    """Base64 (standard or URL-safe, padding optional) -> bytes, or MalformedResponseError."""
    cleaned = "".join(text.split())
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned)
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedResponseError(
            "The provider sent an image whose base64 data is damaged. Try generating it again."
        ) from None


def build_openai_image_body(
    req: ImageRequest,
    *,
    size_style: str = "x",
    seed: int | None = None,
    negative_prompt: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body = openai.build_image_body(req, size_style=size_style)
    if seed is not None:
        body["seed"] = seed
    if negative_prompt:
        body["negative_prompt"] = negative_prompt
    for key, value in (extra or {}).items():
        body.setdefault(key, value)  # a typed field wins over a free-form one
    return body


def parse_openai_image_reply(obj: Any) -> list[ImageOutput]:
    items = openai.parse_image_response(obj)
    return [
        ImageOutput(index=i, url=item.url, b64=item.b64_json, revised_prompt=item.revised_prompt)
        for i, item in enumerate(items)
    ]


def build_gemini_image_body(
    prompt: str,
    *,
    n: int = 1,
    aspect_ratio: str | None = None,
    seed: int | None = None,
    negative_prompt: str | None = None,
) -> dict[str, Any]:
    if not prompt.strip():
        from app.core.errors import ConfigError

        raise ConfigError("Write a prompt for the image first.")
    text = prompt if not negative_prompt else f"{prompt}\n\nAvoid: {negative_prompt}"
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if n > 1:
        config["candidateCount"] = n
    if seed is not None:
        config["seed"] = seed
    if aspect_ratio:
        config["imageConfig"] = {"aspectRatio": aspect_ratio}
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], "generationConfig": config}


def parse_gemini_image_response(obj: Any) -> tuple[list[ImageOutput], str]:
    """(inline images, the reply's text). A blocked prompt or a reply with no image raises."""
    if not isinstance(obj, Mapping):
        raise MalformedResponseError(detail="Gemini image reply: expected a JSON object")
    if error_info_from_json(obj) is not None:
        raise api_error_from_json(200, obj)
    feedback = obj.get("promptFeedback")
    candidates = obj.get("candidates") or []
    if isinstance(feedback, Mapping) and feedback.get("blockReason"):
        message = feedback.get("blockReasonMessage")
        raise gemini.content_blocked_error(
            str(feedback["blockReason"]), message if isinstance(message, str) else None
        )
    outputs: list[ImageOutput] = []
    texts: list[str] = []
    finish_reasons: list[str] = []
    for candidate in candidates if isinstance(candidates, list) else []:
        if not isinstance(candidate, Mapping):
            continue
        reason = candidate.get("finishReason")
        if isinstance(reason, str):
            finish_reasons.append(reason)
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, Mapping) else None
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, Mapping) or part.get("thought"):
                continue
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, Mapping) and isinstance(inline.get("data"), str):
                mime = inline.get("mimeType") or inline.get("mime_type")
                outputs.append(
                    ImageOutput(index=len(outputs), b64=inline["data"], mime=str(mime or ""))
                )
            elif isinstance(part.get("text"), str):
                texts.append(part["text"])
    text = "".join(texts).strip()
    if not outputs:
        blocked = [r for r in finish_reasons if "SAFETY" in r or r in ("PROHIBITED_CONTENT", "BLOCKLIST")]
        if blocked:
            raise gemini.content_blocked_error(blocked[0], text or None)
        raise MalformedResponseError(
            "Gemini answered without an image. Choose an image model (for example "
            "gemini-2.5-flash-image) or rephrase the prompt.",
            provider_message=text[:500] or None,
        )
    return outputs, text


def without_image_bytes(obj: Any) -> Any:
    """A copy of a reply with base64 image payloads replaced by `"<N base64 chars omitted>"`."""
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in ("b64_json", "data") and isinstance(value, str) and len(value) > 256:
                out[key] = f"<{len(value)} base64 chars omitted>"
            else:
                out[key] = without_image_bytes(value)
        return out
    if isinstance(obj, list):
        return [without_image_bytes(v) for v in obj]
    return obj

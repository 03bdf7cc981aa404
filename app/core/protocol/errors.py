"""Error bodies -> typed errors.

Providers describe failures in many shapes: OpenAI's `{error:{message,type,code}}`, vLLM's flat
`{object:"error", message}`, Ollama's `{"error": "text"}`, FastAPI's `{"detail": ...}`, Gemini's
`{error:{code,status,message,details}}` (sometimes wrapped in a list), `{"errors": [...]}`, and
gateways that answer with an HTML page or nothing at all. This module turns any of them into the
right `app.core.errors.APIError` subclass, with a sentence saying what to do next, the provider's
own words (`provider_message`) and, when the headers say, `retry_after`.

Everything is pure: no I/O, only bytes, dicts and headers in, an exception object out. Every text
that comes from the provider passes through `errors.redact`, because providers echo keys back.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from app.core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentBlockedError,
    NotFoundError,
    RateLimitError,
    ServerError,
    error_class_for_status,
    redact,
)
from app.core.protocol.ratelimit import parse_duration, parse_retry_after

__all__ = [
    "ErrorInfo",
    "api_error_from_json",
    "api_error_from_response",
    "body_summary",
    "error_info_from_json",
    "firewall_block",
]

# Long provider texts (HTML pages, stack traces) are cut here: the user needs the gist, the full
# body is of no use in a message box.
_MAX_TEXT = 300

# Keys that mark a body as a normal reply: a `message` next to them is not an error message.
_NORMAL_KEYS = frozenset(
    {
        "choices",
        "data",
        "candidates",
        "models",
        "embedding",
        "embeddings",
        "task_id",
        "output",
        "video_url",
        "usage",
        "usageMetadata",
        "result",
    }
)

# Code/type/status strings that decide the subclass whatever the HTTP status: Gemini answers 400
# for a bad key, LiteLLM 400 for a wrong key, some gateways 200 with an error body.
_AUTH_TOKENS = frozenset(
    {
        "invalid_api_key",
        "authentication_error",
        "api_key_invalid",
        "unauthenticated",
        "permission_denied",
        "permission_error",
        "invalid_authentication",
        "unauthorized",
        "forbidden",
        "access_denied",
        "incorrect_api_key",
        "missing_api_key",
        # LiteLLM's proxy without a database answers any key but its master key with HTTP 400
        # `{"message": "No connected db.", "type": "no_db_connection"}`: it cannot look the key
        # up, so for the caller the key was refused.
        "no_db_connection",
    }
)
_PERMISSION_TOKENS = frozenset(
    {"permission_denied", "permission_error", "forbidden", "access_denied", "service_disabled"}
)
_RATE_TOKENS = frozenset(
    {
        "rate_limit_exceeded",
        "rate_limit_error",
        "rate_limited",
        "resource_exhausted",
        "insufficient_quota",
        "quota_exceeded",
        "too_many_requests",
    }
)
_QUOTA_TOKENS = frozenset({"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"})
_NOT_FOUND_TOKENS = frozenset(
    {"model_not_found", "not_found", "not_found_error", "deployment_not_found"}
)
_CONTEXT_TOKENS = frozenset(
    {"context_length_exceeded", "context_window_exceeded", "string_above_max_length"}
)
_BLOCKED_TOKENS = frozenset(
    {"content_policy_violation", "content_filter", "safety", "moderation_blocked"}
)
_SERVER_TOKENS = frozenset(
    {
        "internal_server_error",
        "server_error",
        "internal",
        "unavailable",
        "service_unavailable_error",
    }
)

_CONTEXT_WORDS = re.compile(
    r"(?i)maximum context length|context (?:length|window)|too many tokens|prompt is too long"
    r"|exceeds the (?:model'?s? )?(?:maximum|max) (?:context|input)"
)


@dataclass
class ErrorInfo:
    """What a provider said about an error, already redacted.

    `code` is kept as text (OpenAI's "invalid_api_key", Gemini's numeric 400 as "400");
    `reason` is Gemini's `details[].reason` (e.g. "API_KEY_INVALID"), which says more than its
    generic `status` "INVALID_ARGUMENT".
    """

    message: str
    code: str | None = None
    type: str | None = None
    status: str | None = None
    param: str | None = None
    reason: str | None = None
    retry_delay: float | None = None  # Gemini's RetryInfo.retryDelay, in seconds


# --- recognising error bodies -----------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _short(text: str, limit: int = _MAX_TEXT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _parse_delay(text: Any) -> float | None:
    """Gemini's RetryInfo.retryDelay, a protobuf Duration as JSON: "37s", "1.5s"."""
    return parse_duration(text) if isinstance(text, str) else None


def _from_error_object(err: dict[str, Any]) -> ErrorInfo:
    """OpenAI's and Gemini's `error` object (they share the `message` key)."""
    message = _text(err.get("message")) or _text(err.get("msg")) or ""
    reason = None
    retry_delay = None
    details = err.get("details")
    if isinstance(details, list):
        for item in details:
            if not isinstance(item, dict):
                continue
            if reason is None and isinstance(item.get("reason"), str):
                reason = item["reason"]
            if retry_delay is None:
                retry_delay = _parse_delay(item.get("retryDelay"))
    code = _text(err.get("code"))
    type_ = _text(err.get("type"))
    status = _text(err.get("status"))
    if not message:
        # Some servers send only a code; a message naming it beats an empty one.
        message = type_ or status or reason or code or ""
    return ErrorInfo(
        message=redact(message),
        code=code,
        type=type_,
        status=status,
        param=_text(err.get("param")),
        reason=reason,
        retry_delay=retry_delay,
    )


def _detail_message(detail: Any) -> str | None:
    """FastAPI: `detail` is a string, or a list of `{loc, msg, type}` validation errors."""
    if isinstance(detail, str):
        return detail or None
    if isinstance(detail, dict):
        return _text(detail.get("message")) or _text(detail.get("msg"))
    if isinstance(detail, list):
        pieces = []
        for item in detail:
            if isinstance(item, dict):
                msg = _text(item.get("msg")) or _text(item.get("message")) or ""
                loc = item.get("loc")
                if isinstance(loc, list) and loc:
                    where = ".".join(str(p) for p in loc)
                    pieces.append(f"{where}: {msg}" if msg else where)
                elif msg:
                    pieces.append(msg)
            elif isinstance(item, str):
                pieces.append(item)
        return "; ".join(pieces) or None
    return None


def _looks_like_error_status(code: Any, status: Any, obj: dict[str, Any]) -> bool:
    """For the loose `{"message": ..., "code"|"status"}` shape: is this really a failure?"""
    if obj.get("success") is False or obj.get("ok") is False:
        return True
    for value in (code, status):
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            # Chinese gateways use {"code": 0|200, "message": "success"} for a normal reply.
            if value not in (0, 200):
                return True
            continue
        if isinstance(value, str):
            low = value.strip().lower()
            if low.isdigit():
                if int(low) not in (0, 200):
                    return True
                continue
            if low in ("", "ok", "success", "succeeded", "completed", "done", "true"):
                continue
            return True
    return False


def error_info_from_json(obj: Any) -> ErrorInfo | None:
    """The error described by a decoded JSON body, or None for a normal body."""
    if isinstance(obj, list):
        # Gemini wraps streamed/batched errors in a list: [{"error": {...}}].
        if obj and isinstance(obj[0], dict) and "error" in obj[0]:
            return error_info_from_json(obj[0])
        return None
    if not isinstance(obj, dict):
        return None

    err = obj.get("error")
    if isinstance(err, dict) and err:
        return _from_error_object(err)
    # Ollama: {"error": "model 'x' not found"}; a task body with a status is not an error body.
    if isinstance(err, str) and err.strip() and "status" not in obj:
        return ErrorInfo(message=redact(err), code=_text(obj.get("code")))

    if obj.get("object") == "error":
        # vLLM / some OpenAI-compatible servers: the error object flattened into the body.
        return _from_error_object(obj)

    if any(obj.get(key) is not None for key in _NORMAL_KEYS):
        return None

    if "detail" in obj:
        message = _detail_message(obj["detail"])
        if message:
            return ErrorInfo(message=redact(message))

    errors = obj.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            info = _from_error_object(first)
            extra = [_text(e.get("message")) for e in errors[1:] if isinstance(e, dict)]
            joined = "; ".join([info.message] + [e for e in extra if e])
            info.message = redact(joined)
            return info
        texts = [e for e in errors if isinstance(e, str) and e]
        if texts:
            return ErrorInfo(message=redact("; ".join(texts)))
    elif isinstance(errors, str) and errors:
        return ErrorInfo(message=redact(errors))

    message = obj.get("message") or obj.get("msg")
    if isinstance(message, str) and message:
        code, status = obj.get("code"), obj.get("status")
        if _looks_like_error_status(code, status, obj):
            return ErrorInfo(
                message=redact(message),
                code=_text(code),
                type=_text(obj.get("type")),
                status=_text(status),
            )
    return None


# --- non-JSON bodies --------------------------------------------------------------------------


def _html_summary(text: str) -> str:
    """The gist of an HTML page: its <title> and first <h1>, else its visible text."""
    pieces: list[str] = []
    for tag in ("title", "h1"):
        m = re.search(rf"(?is)<{tag}\b[^>]*>(.*?)</{tag}\s*>", text)
        if m:
            piece = _short(html.unescape(re.sub(r"(?s)<[^>]+>", " ", m.group(1))))
            # nginx repeats "502 Bad Gateway" in both; say it once.
            if piece and piece not in pieces:
                pieces.append(piece)
    if pieces:
        return _short(" — ".join(pieces))
    body = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", text)
    body = re.sub(r"(?s)<!--.*?-->", " ", body)
    body = re.sub(r"(?s)<[^>]+>", " ", body)
    return _short(html.unescape(body))


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:512].lower()
    return head.startswith("<") and any(
        marker in head
        for marker in ("<html", "<!doctype", "<head", "<body", "<title", "<h1", "<center")
    )


def _status_phrase(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


# --- retry-after ------------------------------------------------------------------------------


def _retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if not headers:
        return None
    return parse_retry_after(headers, time.time() if now is None else now)


# --- classification and sentences --------------------------------------------------------------


def _tokens(info: ErrorInfo | None) -> set[str]:
    if info is None:
        return set()
    return {
        t.strip().lower()
        for t in (info.code, info.type, info.status, info.reason)
        if t and not t.strip().isdigit()
    }


def _body_status(info: ErrorInfo | None) -> int | None:
    """Gemini and vLLM repeat the HTTP status as a number in the body (useful in a 200 stream)."""
    if info and info.code and info.code.strip().isdigit():
        value = int(info.code)
        if 400 <= value < 600:
            return value
    return None


def _is_context_overflow(status: int, info: ErrorInfo | None, tokens: set[str]) -> bool:
    if tokens & _CONTEXT_TOKENS:
        return True
    # Servers without a code (llama.cpp, vLLM) only say it in words; a 5xx is not the user's doing.
    if status >= 500 or (_body_status(info) or 0) >= 500:
        return False
    return bool(info and _CONTEXT_WORDS.search(info.message or ""))


def _classify(status: int, info: ErrorInfo | None) -> type[APIError]:
    tokens = _tokens(info)
    if tokens & _AUTH_TOKENS:
        return AuthenticationError
    if tokens & _RATE_TOKENS:
        return RateLimitError
    if tokens & _NOT_FOUND_TOKENS:
        return NotFoundError
    if _is_context_overflow(status, info, tokens):
        return BadRequestError
    if tokens & _BLOCKED_TOKENS:
        return ContentBlockedError
    effective = status if status >= 400 else (_body_status(info) or 0)
    if effective >= 400:
        return error_class_for_status(effective)
    if tokens & _SERVER_TOKENS:
        return ServerError
    return APIError


def _sentence(cls: type[APIError], status: int, info: ErrorInfo | None) -> tuple[str, str]:
    """(what happened, what to do next) for the user, per class and situation."""
    tokens = _tokens(info)
    if cls is AuthenticationError:
        if tokens & _PERMISSION_TOKENS or (status == 403 and not tokens & {"invalid_api_key"}):
            return (
                "The provider refused access for this key",
                (
                    "Check that the key's account or project may use this model or API (it may need "
                    "enabling or a different plan)."
                ),
            )
        return (
            "The provider rejected the API key",
            "Check the key in Settings → Providers, or that the named environment variable is set.",
        )
    if cls is RateLimitError:
        if tokens & _QUOTA_TOKENS:
            return (
                "The account has run out of credit or quota",
                "Check the plan and billing on the provider's site, or switch to another provider.",
            )
        return (
            "The provider's rate limit was reached",
            "Wait a moment and try again, or lower how often you send.",
        )
    if cls is NotFoundError:
        return (
            "The provider does not know this model or path",
            "Pick another model (refresh the model list) or check the base URL.",
        )
    if cls is ContentBlockedError:
        return (
            "The provider's content filter refused this request",
            "Rephrase the prompt and try again.",
        )
    if cls is BadRequestError:
        if _is_context_overflow(status, info, tokens):
            return (
                "The conversation is longer than this model's context window",
                (
                    "Shorten the conversation: start a new thread, delete or edit long messages, or "
                    "pick a model with a larger context."
                ),
            )
        if status == 402:
            return (
                "The provider asks for payment",
                "Check the plan and billing on the provider's site.",
            )
        if status == 413:
            return (
                "The request was too large for the provider",
                "Send a shorter prompt or smaller attachments.",
            )
        return (
            "The provider refused the request as invalid",
            (
                "Check the model and the parameters in the side panel (some models reject some "
                "settings)."
            ),
        )
    if cls is ServerError:
        if status in (502, 504):
            return (
                "A gateway between you and the model failed",
                "Try again in a moment; if it persists, the provider or your proxy is down.",
            )
        if status == 503:
            return (
                "The provider is temporarily unavailable",
                "Try again in a moment.",
            )
        return ("The provider had an internal error", "Try again in a moment.")
    return (
        "The provider returned an error",
        "Try again; if it keeps happening, check the profile's settings.",
    )


def _most_specific_code(info: ErrorInfo | None) -> str | None:
    """The code worth keeping: Gemini's reason, a word code, a word status, the type, a number."""
    if info is None:
        return None
    words = [info.reason, info.code, info.status, info.type]
    for value in words:
        if value and not value.strip().isdigit():
            return value
    return info.code or info.status


def _build(
    status: int,
    info: ErrorInfo | None,
    headers: Mapping[str, str] | None,
    fallback_text: str | None = None,
) -> APIError:
    cls = _classify(status, info)
    what, todo = _sentence(cls, status, info)
    if status >= 400:
        what = f"{what} ({_status_phrase(status)})"
    provider_message = info.message if info and info.message else fallback_text
    if not provider_message and status >= 400:
        provider_message = f"{_status_phrase(status)} with an empty body."
    retry_after = _retry_after(headers)
    if retry_after is None and info is not None:
        retry_after = info.retry_delay
    code = _most_specific_code(info)
    return cls(
        f"{what}. {todo}",
        status=status or None,
        provider_message=redact(provider_message) if provider_message else None,
        code=code,
        retry_after=retry_after,
    )


def api_error_from_json(
    status: int, obj: Any, headers: Mapping[str, str] | None = None
) -> APIError:
    """The APIError for a decoded error body (in a 200 reply, a stream chunk or a failed reply)."""
    info = error_info_from_json(obj)
    fallback = None
    if info is None and obj is not None:
        fallback = _short(json.dumps(obj, ensure_ascii=False, default=str))
    return _build(status, info, headers, fallback)


_FIREWALL_CODE = re.compile(r"(?i)error(?:\s+code)?[:\s]+(10\d\d)\b")
_FIREWALL_REASONS = {
    "1010": "browser signature banned",
    "1020": "access denied by a firewall rule",
    "1015": "rate limited by the firewall",
    "1012": "access denied",
    "1009": "country or region banned",
    "1006": "IP address banned",
    "1005": "network banned",
}


def firewall_block(status: int, headers: Mapping[str, str], text: str) -> APIError | None:
    """The error for a CDN firewall's block page (Cloudflare's "error 1010" and kin), or None.

    Such a page means the provider's firewall refused this client before the API saw the
    request, often because of the User-Agent; a generic "provider returned an error" would send
    the user hunting in the wrong place.
    """
    lowered_headers = {str(k).lower(): str(v).lower() for k, v in headers.items()}
    head = text[:20000].lower()
    by_cloudflare = (
        "cloudflare" in lowered_headers.get("server", "")
        or "cf-ray" in lowered_headers
        or "cloudflare" in head
    )
    match = _FIREWALL_CODE.search(text[:20000])
    banned = "browser signature" in head or "access denied" in head or "attention required" in head
    if not by_cloudflare or not (match or banned):
        return None
    code = match.group(1) if match else None
    reason = _FIREWALL_REASONS.get(code or "", "")
    if not reason and "browser signature" in head:
        reason = "browser signature banned"
    said = f"error {code}" if code else "a block page"
    if reason:
        said += f": {reason}"
    return APIError(
        f"The provider's firewall (Cloudflare) refused this app's request ({said}), before the API "
        "saw it. Some providers require a specific User-Agent: add one in Settings → Extra headers "
        "(ask the provider which), or check whether your network or VPN is blocked.",
        status=status or None,
        provider_message=_html_summary(text) if _looks_like_html(text) else _short(text),
        code=f"firewall_{code}" if code else "firewall",
    )


def _binary(body: bytes) -> bool:
    """True when `body` is mostly not text (a binary or corrupt reply): never quoted back."""
    sample = body[:4096]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text = sample.decode("utf-8", errors="replace")
    odd = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\r\n\t"))
    return odd > len(text) * 0.1


def body_summary(body: bytes) -> str:
    """A short, printable description of a body to show as the provider's words."""
    if _binary(body):
        return f"{len(body)} bytes of binary data (not shown)"
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if _looks_like_html(text):
        return _html_summary(text)
    return _short(text)


def api_error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> APIError:
    """The APIError for a failed HTTP reply, whatever its body: JSON, HTML, text or nothing."""
    if body and _binary(body):
        return _build(status, None, headers, body_summary(body))
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip() if body else ""
    if not text:
        return _build(status, None, headers)
    blocked = firewall_block(status, headers, text)
    if blocked is not None:
        return blocked
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    else:
        info = error_info_from_json(obj)
        if info is not None:
            return _build(status, info, headers)
        return _build(status, None, headers, _short(text))
    if _looks_like_html(text):
        return _build(status, None, headers, _html_summary(text))
    return _build(status, None, headers, _short(text))

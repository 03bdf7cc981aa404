"""The demo server's vocabulary: flavours (which seed a URL prefix emulates), requests, replies
and each flavour's error shape.

Route modules return `Reply` (a whole body) or `StreamReply` (SSE payloads the HTTP layer writes
one chunk at a time, paced and possibly faulted); they never touch sockets.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The body could not be decoded as JSON (distinct from "no body", which is None).
INVALID_JSON: Any = object()


@dataclass(frozen=True)
class Flavour:
    """One emulated provider: its URL prefix and the dialect rules it enforces."""

    name: str
    prefix: str
    dialect: str = "openai"  # "openai" | "gemini"
    error_style: str = "openai"  # "openai" | "flat" | "gemini" | "gemini-gateway"
    trailing_slash: bool = False
    image_size_style: str = "x"  # "x" (1024x1024) | "*" (1024*1024)
    default_image_format: str = "url"
    video_dialect: str = "none"  # "none" | "tasks" | "openai" (what a profile should use)
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    rate_limited: bool = False
    max_image_n: int = 10
    max_tokens_limit: int | None = None
    routes: frozenset[str] = frozenset()
    seed: str = ""
    description: str = ""


_OPENAI_ROUTES = frozenset({"models", "chat", "completions", "images", "embeddings"})

FLAVOURS: dict[str, Flavour] = {
    f.name: f
    for f in (
        Flavour(
            "openai",
            "/v1",
            video_dialect="openai",
            routes=_OPENAI_ROUTES | {"videos", "video-tasks"},
            description="OpenAI-compatible API, with both video dialects",
        ),
        Flavour(
            "mollyra",
            "/v1",
            routes=_OPENAI_ROUTES | {"videos", "video-tasks"},
            seed="000",
            description="Mollyra (seed 000): the OpenAI dialect under /v1",
        ),
        Flavour(
            "gateway",
            "/api/v1",
            rate_limited=True,
            max_image_n=4,
            routes=_OPENAI_ROUTES,
            seed="001",
            description="OpenAI-compatible gateway (seed 001) with rate-limit headers",
        ),
        Flavour(
            "gateway-gemini",
            "/api/v1beta",
            dialect="gemini",
            error_style="gemini-gateway",
            rate_limited=True,
            routes=frozenset({"models", "generate"}),
            seed="001",
            description="The gateway's Gemini-compatible endpoint (seed 001), x-goog-api-key",
        ),
        Flavour(
            "siliconlike",
            "/siliconlike/v1",
            error_style="flat",
            image_size_style="*",
            default_image_format="b64_json",
            routes=_OPENAI_ROUTES,
            seed="002",
            description="Sizes as 1024*1024, base64 images, flat error bodies (seed 002)",
        ),
        Flavour(
            "horay",
            "/horay/v1",
            max_tokens_limit=4096,
            routes=frozenset({"models", "chat", "completions", "embeddings"}),
            seed="003",
            description="top_k accepted, max_tokens must be 1..4096 (seed 003)",
        ),
        Flavour(
            "melancholy",
            "/melancholy/api/v1",
            trailing_slash=True,
            video_dialect="tasks",
            extra_headers={"User-Agent": "MelancholyAI-Client"},
            routes=frozenset({"models", "chat", "images", "video-tasks"}),
            seed="004",
            description="Trailing slashes, User-Agent check on media, video tasks (seed 004)",
        ),
        Flavour(
            "gemini",
            "/gemini/v1beta",
            dialect="gemini",
            error_style="gemini",
            video_dialect="veo",
            routes=frozenset({"models", "generate", "embed", "veo"}),
            description="Google Gemini's native REST shape, with Veo video operations",
        ),
    )
}

# Dispatch by longest prefix first, so /api/v1beta is not taken for /api/v1. Both "openai" and
# "mollyra" live at /v1 with one dialect; requests there are served as "openai".
PREFIXES: list[tuple[str, Flavour]] = sorted(
    ((f.prefix, f) for f in FLAVOURS.values() if f.name != "mollyra"),
    key=lambda item: len(item[0]),
    reverse=True,
)

OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "internal_server_error",
    502: "bad_gateway_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES = {
    400: "Invalid request.",
    401: "Invalid API key provided.",
    403: "You do not have access to this resource.",
    404: "The requested resource does not exist.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request.",
    502: "Bad gateway.",
    503: "The upstream model provider is temporarily unavailable.",
    504: "The upstream model provider timed out.",
}


@dataclass
class DemoRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message)
    body: bytes
    json: Any  # None (no body), INVALID_JSON, or the decoded value
    flavour: Flavour
    subpath: str  # the path after the flavour prefix, without the leading "/"
    origin: str  # "http://127.0.0.1:PORT", for URLs in replies

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamReply:
    """An SSE stream: each item of `events` is one `data:` payload."""

    events: Iterable[str]
    line_end: str = "\n"  # Gemini separates events with CRLF
    error_payload: str = ""  # what an injected error event carries, in the dialect's shape
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, "application/json", dict(headers or {}))


def error_object(
    flavour: Flavour,
    status: int,
    message: str | None = None,
    *,
    type_: str | None = None,
    code: str | int | None = None,
) -> dict[str, Any]:
    """The flavour's error body for `status`."""
    message = message or DEFAULT_MESSAGES.get(status, "Request failed.")
    if flavour.error_style in ("gemini", "gemini-gateway"):
        return {
            "error": {
                "code": status,
                "message": message,
                "status": GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }
    error_type = type_ or OPENAI_ERROR_TYPES.get(status, "api_error")
    if flavour.error_style == "flat":
        return {"object": "error", "message": message, "type": error_type, "code": code or status}
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def error_reply(
    flavour: Flavour,
    status: int,
    message: str | None = None,
    *,
    type_: str | None = None,
    code: str | int | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    return json_reply(
        status, error_object(flavour, status, message, type_=type_, code=code), headers
    )


class BadRequest(Exception):
    """Raised by route code for a 4xx; the server renders it in the flavour's error shape."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        *,
        code: str | None = None,
        type_: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.type_ = type_
        self.param = param

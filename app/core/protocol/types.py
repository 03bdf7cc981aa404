"""Records shared by every dialect: messages, parameters, results and stream deltas.

Each dialect module (openai, gemini, video) turns these into request bodies and turns response
bodies back into them, so the client, services and UI never see a dialect's wire shape.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPart:
    """A text part of a message's content."""

    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image sent to a vision model: inline bytes (preferred) or a URL."""

    mime: str = "image/png"
    data: bytes | None = None
    url: str | None = None

    def data_url(self) -> str:
        if self.data is not None:
            return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"
        return self.url or ""


ContentPart = TextPart | ImagePart


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat request: a role and its content (text or parts)."""

    role: str  # "system" | "user" | "assistant"
    content: str | list[ContentPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


# --- parameters -------------------------------------------------------------------------------


@dataclass
class GenerationParams:
    """Sampling parameters. `None` means "not set by the user": it is never sent."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    seed: int | None = None

    def set_values(self) -> dict[str, Any]:
        """Only the parameters the user set, in OpenAI's names."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "stop" and isinstance(value, list) and not value:
                continue
            out[f.name] = value
        return out

    def to_json(self) -> dict[str, Any]:
        return self.set_values()

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "GenerationParams":
        data = data or {}
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# --- results ----------------------------------------------------------------------------------


@dataclass
class Usage:
    """Token counts a server reported for one reply (None where it said nothing)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass
class ToolCall:
    """One tool call of a reply, as its streamed pieces were joined."""

    index: int = 0
    id: str | None = None
    type: str = "function"
    name: str = ""
    arguments: str = ""


@dataclass
class ToolCallDelta:
    """A fragment of a streamed tool call; fragments with the same `index` are concatenated."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class Choice:
    """One choice of a whole (non-streamed) chat reply."""

    index: int = 0
    content: str = ""
    reasoning: str = ""
    refusal: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None


@dataclass
class ChatResult:
    """A whole chat reply: its choices, usage and the model that answered."""

    id: str | None = None
    model: str | None = None
    choices: list[Choice] = field(default_factory=list)
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return self.choices[0].content if self.choices else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None


@dataclass(frozen=True)
class StreamNotice:
    """Something the client tells the reader of a stream that is not reply text.

    kind "retrying": attempt `attempt` of `max_attempts` starts in `delay_s` seconds (`reason` says
    why, e.g. "rate limited", "server error 503", "connection refused").
    kind "unstreamed": the profile does not stream (switched off, or its streaming path answered
    404/405/501); the reply is fetched whole, so the view shows a "waiting" state until it arrives.
    """

    kind: str  # "retrying" | "unstreamed"
    attempt: int = 0
    max_attempts: int = 0
    delay_s: float = 0.0
    reason: str = ""


@dataclass
class ChatDelta:
    """One increment of a streamed reply, for choice `index`.

    A usage-only chunk is a ChatDelta with `usage` set and nothing else. JSON null never becomes
    the text "null": empty fields are "".
    """

    index: int = 0
    content: str = ""
    reasoning: str = ""
    refusal: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    # Not reply text: a retry wait or the switch to a non-streamed request (see StreamNotice).
    notice: StreamNotice | None = None
    # Set once per choice when a bare `</think>` arrived after text had already been delivered as
    # content (a model whose template opened `<think>` itself): everything this choice delivered
    # as content so far is reasoning; the fold (ChatAccumulator) moves it. This delta's own
    # `reasoning` is the rest of that reasoning.
    content_is_reasoning: bool = False

    def is_empty(self) -> bool:
        return not (
            self.content
            or self.reasoning
            or self.refusal
            or self.tool_calls
            or self.finish_reason
            or self.usage
            or self.content_is_reasoning
        )


# --- models -----------------------------------------------------------------------------------


@dataclass
class ModelInfo:
    """One model a provider lists at `/models`."""

    id: str
    display_name: str = ""
    owned_by: str | None = None
    context_window: int | None = None
    # "chat", "completion", "image", "embedding", "video"; empty when the server does not say.
    capabilities: frozenset[str] = frozenset()


# --- images -----------------------------------------------------------------------------------


class SizeStyle(StrEnum):
    X = "x"  # 1024x1024 (OpenAI)
    STAR = "*"  # 1024*1024 (some OpenAI-compatible image servers)


@dataclass
class ImageRequest:
    """What is asked of an image-generation endpoint."""

    prompt: str
    model: str | None = None
    n: int | None = None
    size: tuple[int, int] | str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None  # "url" | "b64_json"
    user: str | None = None


@dataclass
class ImageItem:
    """One returned image: a URL or base64 data, and the revised prompt if any."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None

    def image_bytes(self) -> bytes | None:
        if self.b64_json:
            return base64.b64decode(self.b64_json)
        return None


# --- embeddings -------------------------------------------------------------------------------


@dataclass
class EmbeddingRequest:
    """Texts to embed with one model, in one request."""

    inputs: list[str]
    model: str | None = None
    encoding_format: str | None = None  # "float" | "base64"
    dimensions: int | None = None
    # Send a lone string instead of a one-item list (some servers only take a string).
    as_string: bool = False
    # What the text is for, where the dialect asks (Gemini `taskType`): "document" | "query".
    task: str | None = None


@dataclass
class EmbeddingResult:
    """The vectors of an embeddings reply, in the order of the inputs."""

    vectors: list[list[float]]
    model: str | None = None
    usage: Usage | None = None


# --- video ------------------------------------------------------------------------------------


class VideoState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def finished(self) -> bool:
        return self in (VideoState.COMPLETED, VideoState.FAILED, VideoState.CANCELLED)


@dataclass
class VideoRequest:
    """What is asked of a video-generation task endpoint."""

    prompt: str
    model: str | None = None
    aspect_ratio: str | None = None  # tasks dialect: "LANDSCAPE" | "PORTRAIT" | ...
    video_generate_type: str = "text_to_video"
    seconds: int | None = None  # OpenAI dialect; Veo's durationSeconds
    size: str | None = None  # OpenAI dialect, e.g. "1280x720"
    # issue 11 (Veo parameters; None: not sent)
    resolution: str | None = None  # "720p" | "1080p"
    negative_prompt: str | None = None
    seed: int | None = None


@dataclass
class VideoTask:
    """A video task as its provider reported it: id, state, progress, result."""

    task_id: str
    state: VideoState = VideoState.UNKNOWN
    raw_status: str | None = None
    progress: float | None = None  # 0..100 when the server says
    video_url: str | None = None
    error: str | None = None
    model: str | None = None
    # issue 11: when the provider's copy of the result expires (epoch s), and its thumbnail URL.
    expires_at: float | None = None
    thumbnail_url: str | None = None
    error_code: str | None = None


# --- rate limits ------------------------------------------------------------------------------


@dataclass
class RateLimitInfo:
    """What the provider said about its limits. Reset times are absolute epoch seconds."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_at: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_at: float | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

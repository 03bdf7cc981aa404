"""The Google Gemini dialect: `models/{m}:generateContent`, streaming, model list, embeddings.

Pure functions between the shared records of `protocol.types` and Gemini's JSON. The client adds
the base URL (`urls.gemini_base`), the `x-goog-api-key` header and, for streams, `?alt=sse`.

What the recorded traffic taught (tests/fixtures/recorded/gemini-recorded):
- thinking models send `{"text": ..., "thought": true}` parts: reasoning, never the reply;
- code execution comes as `executableCode` / `codeExecutionResult` parts, shown as fenced code;
- `usageMetadata` is cumulative in every stream chunk (the last one wins);
- a blocked prompt has no candidates, only `promptFeedback` (often without `blockReason`);
- a SAFETY/RECITATION stop may come after text already streamed: the text stays, the finish
  reason tells the service why it stopped. With no text at all it is a ContentBlockedError.
"""

from __future__ import annotations

import base64
import json
from array import array
from typing import Any

from app.core.errors import APIError, ContentBlockedError, MalformedResponseError
from app.core.protocol.errors import api_error_from_json, error_info_from_json
from app.core.protocol.think import split_think
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    ChatResult,
    Choice,
    EmbeddingResult,
    GenerationParams,
    ImagePart,
    ModelInfo,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "BLOCKED_FINISH_REASONS",
    "build_batch_embed_body",
    "build_embed_body",
    "build_generate_body",
    "content_blocked_error",
    "embed_path",
    "generate_path",
    "map_finish_reason",
    "model_thinks",
    "parse_embed_response",
    "parse_generate_response",
    "parse_models",
    "parse_stream_chunk",
    "thinking_config_rejected",
]

# Finish reasons (already lower-cased) that mean a filter stopped the reply, not the model.
BLOCKED_FINISH_REASONS = frozenset(
    {
        "safety",
        "recitation",
        "prohibited_content",
        "blocklist",
        "spii",
        "image_safety",
        "image_prohibited_content",
    }
)

_FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}

# Model families that think: Gemini sends their thought text only when asked
# (`generationConfig.thinkingConfig.includeThoughts`).
_THINKING_PREFIXES = ("gemini-2.5", "gemini-3")


# --- paths ------------------------------------------------------------------------------------


def _model_resource(model: str) -> str:
    """`gemini-2.5-flash` or `models/gemini-2.5-flash` -> `models/gemini-2.5-flash`."""
    model = model.strip().strip("/")
    if "/" in model:
        # Already a resource name (`models/x`, `tunedModels/x`): used as given.
        return model
    return f"models/{model}"


def generate_path(model: str, *, stream: bool) -> tuple[str, dict[str, str]]:
    """The path (relative to the `/v1beta` base) and query for generating content."""
    resource = _model_resource(model)
    if stream:
        return f"{resource}:streamGenerateContent", {"alt": "sse"}
    return f"{resource}:generateContent", {}


def embed_path(model: str, *, batch: bool = False) -> str:
    """The path for `embedContent` (one text) or `batchEmbedContents` (several)."""
    resource = _model_resource(model)
    return f"{resource}:batchEmbedContents" if batch else f"{resource}:embedContent"


# --- request bodies ---------------------------------------------------------------------------


def _image_part(part: ImagePart) -> dict[str, Any] | None:
    if part.data is not None:
        return {
            "inlineData": {
                "mimeType": part.mime,
                "data": base64.b64encode(part.data).decode("ascii"),
            }
        }
    url = part.url or ""
    if url.startswith("data:") and ";base64," in url:
        # Gemini cannot fetch a data: URL; send its bytes inline instead.
        header, _, payload = url.partition(",")
        mime = header[len("data:") :].split(";", 1)[0] or part.mime
        return {"inlineData": {"mimeType": mime, "data": payload}}
    if url:
        return {"fileData": {"mimeType": part.mime, "fileUri": url}}
    return None


def _parts(content: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        # Gemini rejects an empty text part; an empty message contributes nothing.
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for item in content:
        if isinstance(item, TextPart):
            if item.text:
                parts.append({"text": item.text})
        elif isinstance(item, ImagePart):
            image = _image_part(item)
            if image is not None:
                parts.append(image)
    return parts


def _generation_config(params: GenerationParams) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if params.temperature is not None:
        config["temperature"] = params.temperature
    if params.top_p is not None:
        config["topP"] = params.top_p
    if params.top_k is not None:
        config["topK"] = params.top_k
    if params.max_tokens is not None:
        config["maxOutputTokens"] = params.max_tokens
    if params.stop:
        config["stopSequences"] = (
            [params.stop] if isinstance(params.stop, str) else list(params.stop)
        )
    if params.n is not None:
        config["candidateCount"] = params.n
    if params.presence_penalty is not None:
        config["presencePenalty"] = params.presence_penalty
    if params.frequency_penalty is not None:
        config["frequencyPenalty"] = params.frequency_penalty
    if params.seed is not None:
        config["seed"] = params.seed
    # logit_bias and user have no Gemini equivalent: not sent rather than rejected.
    return config


def model_thinks(model: str) -> bool:
    """True for models that think (so the request asks for their thoughts).

    `*thinking*`, `gemini-2.5*` and `gemini-3*`, case-insensitive, with or without `models/`.
    """
    name = model.strip().strip("/").lower().removeprefix("models/")
    return "thinking" in name or name.startswith(_THINKING_PREFIXES)


def thinking_config_rejected(err: APIError) -> bool:
    """True when a server refused `thinkingConfig` (the client then retries once without it).

    Models that cannot think answer a 400 such as "Thinking is not supported by this model" or
    "Unknown name \"includeThoughts\"" (older API versions and some gateways).
    """
    if not isinstance(err, APIError) or err.status != 400:
        return False
    text = (err.provider_message or "").lower()
    return any(word in text for word in ("thinking", "includethoughts", "include_thoughts"))


def build_generate_body(
    messages: list[ChatMessage], params: GenerationParams, *, include_thoughts: bool = False
) -> dict[str, Any]:
    """A `generateContent` body: system text -> systemInstruction, assistant -> role `model`.

    `include_thoughts` asks a thinking model for its thought summaries
    (`generationConfig.thinkingConfig.includeThoughts`); without it Gemini sends none.
    """
    system_parts: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for message in messages:
        parts = _parts(message.content)
        if message.role == "system":
            system_parts.extend(parts)
            continue
        role = "model" if message.role == "assistant" else "user"
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            # Gemini wants user/model turns to alternate: merge a run of the same role.
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if system_parts:
        body["systemInstruction"] = {"parts": system_parts}
    config = _generation_config(params)
    if include_thoughts:
        config["thinkingConfig"] = {"includeThoughts": True}
    if config:
        body["generationConfig"] = config
    return body


# --- responses --------------------------------------------------------------------------------


def map_finish_reason(reason: Any) -> str | None:
    """Gemini's finishReason in OpenAI's words where they exist, else lower-cased."""
    if not isinstance(reason, str) or not reason or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    return _FINISH_REASONS.get(reason, reason.lower())


def content_blocked_error(reason: str | None, message: str | None = None) -> ContentBlockedError:
    """The error for a prompt or reply a filter stopped, naming the reason.

    Public so a client that saw a stream end on a blocked finish reason without any text can
    raise the same error the unary path raises.
    """
    label = (reason or "unspecified").replace("_", " ").lower()
    if label == "recitation":
        sentence = (
            "The provider stopped the reply because it repeated existing material too closely "
            "(recitation). Rephrase the request, or ask for a summary in your own words."
        )
    else:
        sentence = (
            f"The provider blocked this prompt or reply (reason: {label}). Rephrase and try again."
        )
    return ContentBlockedError(sentence, provider_message=message or None, code=reason or None)


def _raise_if_error(obj: Any) -> None:
    if error_info_from_json(obj) is not None:
        raise api_error_from_json(200, obj)


def _usage(obj: dict[str, Any]) -> Usage | None:
    meta = obj.get("usageMetadata")
    if not isinstance(meta, dict):
        return None

    def count(key: str) -> int | None:
        value = meta.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(
        prompt_tokens=count("promptTokenCount"),
        completion_tokens=count("candidatesTokenCount"),
        total_tokens=count("totalTokenCount"),
        reasoning_tokens=count("thoughtsTokenCount"),
    )


def _fence(code: str, language: str = "") -> str:
    # A longer fence than any backtick run inside keeps the block closed where it should be.
    ticks = "```"
    while ticks in code:
        ticks += "`"
    body = code if code.endswith("\n") else code + "\n"
    return f"\n{ticks}{language}\n{body}{ticks}\n"


class _Parts:
    """The readable pieces of one candidate's parts."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[dict[str, Any]] = []


def _read_parts(candidate: dict[str, Any]) -> _Parts:
    out = _Parts()
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return out
    for part in parts:
        if not isinstance(part, dict):
            continue
        text = part.get("text")
        if isinstance(text, str):
            (out.reasoning if part.get("thought") is True else out.content).append(text)
        elif isinstance(part.get("executableCode"), dict):
            code = part["executableCode"]
            language = str(code.get("language") or "").lower()
            if language == "language_unspecified":
                language = ""
            out.content.append(_fence(str(code.get("code") or ""), language))
        elif isinstance(part.get("codeExecutionResult"), dict):
            result = part["codeExecutionResult"]
            output = str(result.get("output") or "")
            outcome = str(result.get("outcome") or "")
            if outcome and outcome != "OUTCOME_OK" and not output:
                output = outcome
            if output:
                out.content.append(_fence(output, "text"))
        elif isinstance(part.get("functionCall"), dict):
            out.calls.append(part["functionCall"])
        elif isinstance(part.get("inlineData"), dict):
            # Image-capable models answer with inline pictures: kept in the reply as a markdown
            # image with a data: URL (local, so the renderer shows it without any fetch).
            data = part["inlineData"]
            mime = str(data.get("mimeType") or "application/octet-stream")
            payload = data.get("data")
            if isinstance(payload, str) and payload and mime.startswith("image/"):
                out.content.append(f"\n![image](data:{mime};base64,{payload})\n")
        # fileData, thoughtSignature-only parts, grounding: nothing to show.
    return out


def _call_arguments(call: dict[str, Any]) -> str:
    args = call.get("args")
    return json.dumps(args if args is not None else {}, ensure_ascii=False)


def _candidates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    candidates = obj.get("candidates")
    if candidates is None:
        return []
    if not isinstance(candidates, list):
        raise MalformedResponseError(detail="Gemini reply: `candidates` is not a list")
    return [c for c in candidates if isinstance(c, dict)]


def _prompt_blocked(obj: dict[str, Any], *, candidates_empty: bool) -> ContentBlockedError | None:
    feedback = obj.get("promptFeedback")
    if not isinstance(feedback, dict):
        return None
    reason = feedback.get("blockReason")
    message = feedback.get("blockReasonMessage")
    if isinstance(reason, str) and reason and reason != "BLOCK_REASON_UNSPECIFIED":
        return content_blocked_error(reason, message if isinstance(message, str) else None)
    if candidates_empty:
        # Recorded: {"candidates": [], "promptFeedback": {"blockReasonMessage": "..."}} — no
        # reason, but no reply either: the prompt was refused.
        return content_blocked_error(None, message if isinstance(message, str) else None)
    return None


def _index(candidate: dict[str, Any], position: int) -> int:
    index = candidate.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else position


def parse_generate_response(obj: Any) -> ChatResult:
    """A `generateContent` reply -> ChatResult; error bodies and refusals raise."""
    _raise_if_error(obj)
    if not isinstance(obj, dict):
        raise MalformedResponseError(detail="Gemini reply is not a JSON object")
    candidates = _candidates(obj)
    blocked = _prompt_blocked(obj, candidates_empty=not candidates)
    if blocked is not None:
        raise blocked
    if not candidates:
        raise MalformedResponseError(detail="Gemini reply has no candidates")

    choices: list[Choice] = []
    for position, candidate in enumerate(candidates):
        parts = _read_parts(candidate)
        # Proxies in front of open models write reasoning inline (`<think>…</think>`).
        content, inline_reasoning = split_think("".join(parts.content))
        choice = Choice(
            index=_index(candidate, position),
            content=content,
            reasoning="".join(parts.reasoning) + inline_reasoning,
            tool_calls=[
                ToolCall(
                    index=i,
                    id=call.get("id") if isinstance(call.get("id"), str) else None,
                    name=str(call.get("name") or ""),
                    arguments=_call_arguments(call),
                )
                for i, call in enumerate(parts.calls)
            ],
            finish_reason=map_finish_reason(candidate.get("finishReason")),
        )
        choices.append(choice)

    if all(not c.content and not c.tool_calls for c in choices):
        # Nothing to show. Say why instead of rendering an empty reply as if the model said it.
        first = candidates[0]
        reason = choices[0].finish_reason
        message = (
            first.get("finishMessage") if isinstance(first.get("finishMessage"), str) else None
        )
        if reason in BLOCKED_FINISH_REASONS:
            raise content_blocked_error(str(first.get("finishReason")), message)
        if reason not in (None, "stop", "length"):
            raise APIError(
                f"The model stopped without a reply (reason: {reason}). Try again, or rephrase "
                "the request.",
                status=200,
                provider_message=message,
                code=str(first.get("finishReason")),
            )

    choices.sort(key=lambda c: c.index)
    model = obj.get("modelVersion")
    response_id = obj.get("responseId")
    return ChatResult(
        id=response_id if isinstance(response_id, str) else None,
        model=model if isinstance(model, str) else None,
        choices=choices,
        usage=_usage(obj),
    )


def parse_stream_chunk(obj: Any) -> list[ChatDelta]:
    """One `streamGenerateContent?alt=sse` event (JSON-decoded) -> deltas by candidate index.

    Finish reasons are reported, never raised: a SAFETY/RECITATION stop after streamed text keeps
    the text and the service shows why it stopped. Only a blocked prompt (no candidates,
    `promptFeedback.blockReason`) and error objects raise.
    """
    _raise_if_error(obj)
    if not isinstance(obj, dict):
        raise MalformedResponseError(detail="Gemini stream chunk is not a JSON object")
    candidates = _candidates(obj)
    blocked = _prompt_blocked(obj, candidates_empty=not candidates)
    if blocked is not None:
        raise blocked
    usage = _usage(obj)
    model = obj.get("modelVersion") if isinstance(obj.get("modelVersion"), str) else None
    response_id = obj.get("responseId") if isinstance(obj.get("responseId"), str) else None

    deltas: list[ChatDelta] = []
    for position, candidate in enumerate(candidates):
        parts = _read_parts(candidate)
        deltas.append(
            ChatDelta(
                index=_index(candidate, position),
                content="".join(parts.content),
                reasoning="".join(parts.reasoning),
                # Gemini sends each call whole; parallel calls come in one chunk, so their
                # position in it is a stable index.
                tool_calls=[
                    ToolCallDelta(
                        index=i,
                        id=call.get("id") if isinstance(call.get("id"), str) else None,
                        type="function",
                        name=str(call.get("name") or ""),
                        arguments=_call_arguments(call),
                    )
                    for i, call in enumerate(parts.calls)
                ],
                finish_reason=map_finish_reason(candidate.get("finishReason")),
                model=model,
                id=response_id,
            )
        )
    if usage is not None:
        if deltas:
            # Cumulative in every chunk: carried on the first delta, the last chunk's wins.
            deltas[0].usage = usage
        else:
            deltas.append(ChatDelta(usage=usage, model=model, id=response_id))
    return deltas


# --- models and embeddings --------------------------------------------------------------------


def _capabilities(model_id: str, methods: list[Any]) -> frozenset[str]:
    caps: set[str] = set()
    names = {str(m) for m in methods}
    if names & {"generateContent", "streamGenerateContent"}:
        caps.add("chat")
    if names & {"embedContent", "batchEmbedContents", "embedText"}:
        caps.add("embedding")
    lowered = model_id.lower()
    if "predict" in names or any("image" in n.lower() for n in names) or "imagen" in lowered:
        caps.add("image")
    if "predictLongRunning" in names and "veo" in lowered:
        caps.discard("image")
        caps.add("video")
    if "image" in lowered and "chat" in caps:
        # gemini-*-image models draw through generateContent.
        caps.add("image")
    return frozenset(caps)


def parse_models(obj: Any) -> list[ModelInfo]:
    """`{models: [{name: "models/x", displayName, inputTokenLimit, supportedGenerationMethods}]}`."""
    _raise_if_error(obj)
    if isinstance(obj, dict):
        items = obj.get("models")
        if items is None:
            items = obj.get("data")  # an OpenAI-style list from a proxy
    else:
        items = obj
    if not isinstance(items, list):
        raise MalformedResponseError(detail="Gemini model list has no `models` array")
    models: list[ModelInfo] = []
    for item in items:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            continue
        name = item.get("name") or item.get("id")
        if not isinstance(name, str) or not name:
            continue
        model_id = name.removeprefix("models/")
        methods = item.get("supportedGenerationMethods")
        limit = item.get("inputTokenLimit")
        display = item.get("displayName")
        models.append(
            ModelInfo(
                id=model_id,
                display_name=display if isinstance(display, str) else "",
                owned_by="google" if name.startswith("models/") else None,
                context_window=limit
                if isinstance(limit, int) and not isinstance(limit, bool)
                else None,
                capabilities=_capabilities(model_id, methods if isinstance(methods, list) else []),
            )
        )
    return models


# The generic purpose of a text -> Gemini's `taskType` (retrieval embeds documents and
# queries differently: a question and the note that answers it land closer).
EMBED_TASK_TYPES = {"document": "RETRIEVAL_DOCUMENT", "query": "RETRIEVAL_QUERY"}

# `batchEmbedContents` takes at most this many requests in one call.
MAX_BATCH_EMBED = 100


def build_embed_body(
    model: str,
    text: str,
    *,
    task: str | None = None,
    dimensions: int | None = None,
) -> dict[str, Any]:
    """An `embedContent` body for one text; `task` "document"/"query" (or a Gemini taskType)
    becomes `taskType`, `dimensions` becomes `outputDimensionality`."""
    body: dict[str, Any] = {"model": _model_resource(model), "content": {"parts": [{"text": text}]}}
    if task:
        body["taskType"] = EMBED_TASK_TYPES.get(task, task)
    if dimensions is not None:
        body["outputDimensionality"] = dimensions
    return body


def build_batch_embed_body(
    model: str,
    texts: list[str],
    *,
    task: str | None = None,
    dimensions: int | None = None,
) -> dict[str, Any]:
    """A `batchEmbedContents` body: one request per text, each naming the model."""
    return {
        "requests": [
            build_embed_body(model, text, task=task, dimensions=dimensions) for text in texts
        ]
    }


_PLAIN_NUMBERS = frozenset({float, int})


def _vector(values: Any) -> list[float]:
    if isinstance(values, list) and set(map(type, values)) <= _PLAIN_NUMBERS:
        return array("d", values).tolist()  # what JSON decodes to, checked in C (3x faster)
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        raise MalformedResponseError(detail="Gemini embedding `values` is not a list of numbers")
    return [float(v) for v in values]


def parse_embed_response(obj: Any) -> EmbeddingResult:
    """`{embedding: {values}}` (embedContent) or `{embeddings: [{values}]}` (batch)."""
    _raise_if_error(obj)
    if not isinstance(obj, dict):
        raise MalformedResponseError(detail="Gemini embedding reply is not a JSON object")
    if isinstance(obj.get("embedding"), dict):
        return EmbeddingResult(vectors=[_vector(obj["embedding"].get("values"))])
    embeddings = obj.get("embeddings")
    if isinstance(embeddings, list):
        return EmbeddingResult(
            vectors=[_vector(e.get("values") if isinstance(e, dict) else None) for e in embeddings]
        )
    raise MalformedResponseError(detail="Gemini embedding reply has no `embedding` or `embeddings`")

"""The OpenAI-compatible dialect: request bodies out, response bodies in, as pure functions.

Covers `/chat/completions` (plain and streamed chunks), legacy `/completions`, `/models`,
`/images/generations` and `/embeddings`. Every parser takes already JSON-decoded objects and
returns the shared records of `app.core.protocol.types`; nothing here does I/O, so every function
is tested on recorded bodies.

Servers that call themselves OpenAI-compatible differ in the details, so the parsers are lenient
where leniency cannot hide a problem: JSON null is treated as absent (never the text "null"),
content may be a string or a list of parts, reasoning arrives as `reasoning_content` (DeepSeek,
vLLM) or `reasoning` (OpenRouter, Ollama), model lists come in several shapes, image sizes are
written `1024x1024` or `1024*1024`. They are strict where a wrong guess would lose data: an
`error` object anywhere becomes the typed APIError, and a body without the parts a reply needs
becomes MalformedResponseError instead of an empty reply.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
from array import array
from collections.abc import Mapping
from typing import Any

from app.core.errors import APIError, ConfigError, MalformedResponseError
from app.core.protocol import errors as error_bodies
from app.core.protocol.think import split_think
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    ChatResult,
    Choice,
    EmbeddingRequest,
    EmbeddingResult,
    GenerationParams,
    ImageItem,
    ImagePart,
    ImageRequest,
    ModelInfo,
    SizeStyle,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "MAX_STOP_SEQUENCES",
    "build_chat_body",
    "parse_chat_response",
    "parse_chat_chunk",
    "is_done",
    "build_completion_body",
    "parse_completion_response",
    "parse_completion_chunk",
    "parse_models",
    "format_size",
    "build_image_body",
    "parse_image_response",
    "build_embedding_body",
    "parse_embedding_response",
    "stream_options_rejected",
]

#: OpenAI rejects more than four stop sequences; so do most compatible servers.
MAX_STOP_SEQUENCES = 4


# --- small readers ----------------------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_or_none(value: Any) -> int | None:
    """An integer from an int or a numeric string; bools and junk are not counts."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: Any) -> str:
    """Text from a content field: a string, null, or a list of parts (`{type:"text",text}`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        pieces: list[str] = []
        for part in value:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, Mapping):
                # "text" and "output_text" parts carry text; image or audio parts have none.
                text = part.get("text")
                if isinstance(text, str) and part.get("type", "text") in ("text", "output_text"):
                    pieces.append(text)
        return "".join(pieces)
    return ""


def _thinking_parts(value: Any) -> str:
    """Reasoning given as content parts of type `thinking` (Mistral's Magistral):
    `{"type": "thinking", "thinking": [{"type": "text", "text": "…"}]}` (or a plain string)."""
    if not isinstance(value, list):
        return ""
    pieces: list[str] = []
    for part in value:
        if isinstance(part, Mapping) and part.get("type") == "thinking":
            inner = part.get("thinking")
            pieces.append(inner if isinstance(inner, str) else _text(inner))
    return "".join(pieces)


def _reasoning(container: Mapping[str, Any]) -> str:
    # Some servers send both names with the same text (vLLM during its rename): take one, not both.
    named = _text(container.get("reasoning_content")) or _text(container.get("reasoning"))
    return named + _thinking_parts(container.get("content"))


def _usage(value: Any) -> Usage | None:
    if not isinstance(value, Mapping):
        return None
    details = value.get("completion_tokens_details")
    if not isinstance(details, Mapping):
        details = value.get("output_tokens_details")
    reasoning = (
        _int_or_none(details.get("reasoning_tokens")) if isinstance(details, Mapping) else None
    )
    usage = Usage(
        prompt_tokens=_int_or_none(value.get("prompt_tokens", value.get("input_tokens"))),
        completion_tokens=_int_or_none(value.get("completion_tokens", value.get("output_tokens"))),
        total_tokens=_int_or_none(value.get("total_tokens")),
        reasoning_tokens=reasoning,
    )
    if all(v is None for v in (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)):
        return None
    return usage


def _chunk_usage(obj: Mapping[str, Any]) -> Usage | None:
    usage = _usage(obj.get("usage"))
    if usage is None:
        # Groq reports stream usage under `x_groq.usage` instead of the top level.
        extra = obj.get("x_groq")
        if isinstance(extra, Mapping):
            usage = _usage(extra.get("usage"))
    return usage


def _malformed(what: str, detail: str | None = None) -> MalformedResponseError:
    return MalformedResponseError(
        f"The server's reply could not be understood: {what}. Check that the base URL points at "
        "an OpenAI-compatible API.",
        detail=detail,
    )


def _shape_of(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = ", ".join(sorted(str(k) for k in obj)[:8])
        return f"an object with keys: {keys}" if keys else "an empty object"
    return f"a JSON {type(obj).__name__}"


# --- error objects inside a 2xx body or a stream chunk ----------------------------------------


def _api_error_from_body(obj: Mapping[str, Any]) -> APIError:
    """The typed APIError for a 2xx body (or stream chunk) that carries an `error` object.

    No HTTP status applies (the reply itself was 200), so 0 lets the error-body module classify
    by the body's own code/type/status, e.g. `rate_limit_exceeded` or a numeric `code: 500`.
    """
    return error_bodies.api_error_from_json(0, obj)


def _raise_for_error_object(obj: Any) -> None:
    if isinstance(obj, Mapping) and obj.get("error"):
        raise _api_error_from_body(obj)


# --- chat: request ----------------------------------------------------------------------------


def _params_json(params: GenerationParams) -> dict[str, Any]:
    """The set parameters, checked where a server would reject them with a vaguer message."""
    values = params.set_values()
    stop = values.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            if not stop:
                del values["stop"]
        elif isinstance(stop, list):
            if not all(isinstance(s, str) for s in stop):
                raise ConfigError("Stop sequences must be text.")
            if len(stop) > MAX_STOP_SEQUENCES:
                raise ConfigError(
                    f"At most {MAX_STOP_SEQUENCES} stop sequences can be sent, and "
                    f"{len(stop)} are set. Remove some in the generation settings."
                )
            values["stop"] = list(stop)
        else:
            raise ConfigError("Stop sequences must be text or a list of up to four texts.")
    n = values.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ConfigError("The number of replies (n) must be a whole number of at least 1.")
    return values


def _part_json(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    url = part.data_url()
    if not url:
        raise ConfigError("An attached image has no data. Attach it again.")
    return {"type": "image_url", "image_url": {"url": url}}


def _message_json(message: ChatMessage) -> dict[str, Any]:
    if isinstance(message.content, str):
        content: str | list[dict[str, Any]] = message.content
    else:
        content = [_part_json(part) for part in message.content]
    return {"role": message.role, "content": content}


def _stream_fields(stream: bool, include_usage: bool) -> dict[str, Any]:
    if not stream:
        return {}
    fields: dict[str, Any] = {"stream": True}
    if include_usage:
        fields["stream_options"] = {"include_usage": True}
    return fields


def build_chat_body(
    model: str,
    messages: list[ChatMessage],
    params: GenerationParams,
    *,
    stream: bool,
    include_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of `POST /chat/completions`; only parameters the user set are sent."""
    body: dict[str, Any] = {"model": model, "messages": [_message_json(m) for m in messages]}
    body.update(_params_json(params))
    body.update(_stream_fields(stream, include_usage))
    return body


# --- chat: response ---------------------------------------------------------------------------


def _tool_call_json_arguments(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # A few servers send arguments as an object instead of a JSON string.
    return json.dumps(value, ensure_ascii=False)


def _full_tool_calls(value: Any) -> list[ToolCall]:
    calls: list[ToolCall] = []
    if not isinstance(value, list):
        return calls
    for position, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        function = _mapping(item.get("function"))
        index = _int_or_none(item.get("index"))
        calls.append(
            ToolCall(
                index=position if index is None else index,
                id=_str_or_none(item.get("id")),
                type=_str_or_none(item.get("type")) or "function",
                name=_str_or_none(function.get("name")) or "",
                arguments=_tool_call_json_arguments(function.get("arguments")),
            )
        )
    return calls


def _choices_list(obj: Any, what: str) -> list[Any]:
    if not isinstance(obj, Mapping):
        raise _malformed(f"expected a JSON object for {what}", _shape_of(obj))
    _raise_for_error_object(obj)
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _malformed(f"the {what} holds no choices", _shape_of(obj))
    return choices


def parse_chat_response(obj: Any) -> ChatResult:
    """A non-streamed `/chat/completions` body -> ChatResult."""
    choices: list[Choice] = []
    for position, raw in enumerate(_choices_list(obj, "chat reply")):
        if not isinstance(raw, Mapping):
            raise _malformed("a choice is not an object", _shape_of(raw))
        # Some servers answer a non-streamed request in the streamed shape (`delta`).
        message = _mapping(raw.get("message")) or _mapping(raw.get("delta"))
        index = _int_or_none(raw.get("index"))
        # Reasoning written inline (`<think>…</think>`) goes to `reasoning`, never the answer.
        content, inline_reasoning = split_think(_text(message.get("content")))
        choices.append(
            Choice(
                index=position if index is None else index,
                content=content,
                reasoning=_reasoning(message) + inline_reasoning,
                refusal=_text(message.get("refusal")),
                tool_calls=_full_tool_calls(message.get("tool_calls")),
                finish_reason=_str_or_none(raw.get("finish_reason")),
            )
        )
    return _result(obj, choices)


def _result(obj: Mapping[str, Any], choices: list[Choice]) -> ChatResult:
    """A non-streamed reply (chat or legacy completion) from its parsed choices."""
    choices.sort(key=lambda c: c.index)
    return ChatResult(
        id=_str_or_none(obj.get("id")),
        model=_str_or_none(obj.get("model")),
        choices=choices,
        usage=_usage(obj.get("usage")),
    )


def _tool_call_deltas(value: Any) -> list[ToolCallDelta]:
    deltas: list[ToolCallDelta] = []
    if not isinstance(value, list):
        return deltas
    for position, item in enumerate(value):
        if not isinstance(item, Mapping):
            continue
        function = _mapping(item.get("function"))
        index = _int_or_none(item.get("index"))
        deltas.append(
            ToolCallDelta(
                # Servers that send each call whole often omit `index`; its position stands in.
                index=position if index is None else index,
                id=_str_or_none(item.get("id")),
                type=_str_or_none(item.get("type")),
                name=_str_or_none(function.get("name")),
                arguments=_tool_call_json_arguments(function.get("arguments")),
            )
        )
    return deltas


def _chunk_choices(obj: Any) -> list[Any]:
    if not isinstance(obj, Mapping):
        raise _malformed("a stream chunk is not a JSON object", _shape_of(obj))
    _raise_for_error_object(obj)
    choices = obj.get("choices")
    if choices is None:
        return []
    if not isinstance(choices, list):
        raise _malformed("a stream chunk's choices are not a list", _shape_of(obj))
    return choices


def _finish_chunk(obj: Mapping[str, Any], deltas: list[ChatDelta]) -> list[ChatDelta]:
    """Attach the chunk's usage: alone when `choices` is empty, else on the last delta."""
    usage = _chunk_usage(obj)
    if usage is not None:
        if deltas:
            deltas[-1].usage = usage
        else:
            deltas.append(
                ChatDelta(
                    usage=usage,
                    model=_str_or_none(obj.get("model")),
                    id=_str_or_none(obj.get("id")),
                )
            )
    return deltas


def parse_chat_chunk(obj: Any) -> list[ChatDelta]:
    """One streamed `/chat/completions` chunk (already JSON-decoded) -> its deltas, one per choice.

    Unknown fields are ignored. A role-only first delta still yields an (empty) ChatDelta so the
    caller learns of each choice. An `error` object raises its APIError; the caller keeps what had
    arrived before.
    """
    model = _str_or_none(obj.get("model")) if isinstance(obj, Mapping) else None
    chunk_id = _str_or_none(obj.get("id")) if isinstance(obj, Mapping) else None
    deltas: list[ChatDelta] = []
    for position, raw in enumerate(_chunk_choices(obj)):
        if not isinstance(raw, Mapping):
            raise _malformed("a streamed choice is not an object", _shape_of(raw))
        # A few servers put a whole `message` in their final chunk instead of a delta.
        delta = _mapping(raw.get("delta")) or _mapping(raw.get("message"))
        index = _int_or_none(raw.get("index"))
        deltas.append(
            ChatDelta(
                index=position if index is None else index,
                content=_text(delta.get("content")),
                reasoning=_reasoning(delta),
                refusal=_text(delta.get("refusal")),
                tool_calls=_tool_call_deltas(delta.get("tool_calls")),
                finish_reason=_str_or_none(raw.get("finish_reason")),
                model=model,
                id=chunk_id,
            )
        )
    return _finish_chunk(obj, deltas)


def is_done(data: str) -> bool:
    """True for the `[DONE]` sentinel that ends an OpenAI stream."""
    return data.strip() == "[DONE]"


# --- legacy completions -----------------------------------------------------------------------


def build_completion_body(
    model: str,
    prompt: str,
    params: GenerationParams,
    *,
    stream: bool,
    include_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of `POST /completions` (plain text in, text out)."""
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    body.update(_params_json(params))
    body.update(_stream_fields(stream, include_usage))
    return body


def parse_completion_response(obj: Any) -> ChatResult:
    """A non-streamed `/completions` body (`choices[].text`) -> ChatResult."""
    choices: list[Choice] = []
    for position, raw in enumerate(_choices_list(obj, "completion")):
        if not isinstance(raw, Mapping):
            raise _malformed("a choice is not an object", _shape_of(raw))
        index = _int_or_none(raw.get("index"))
        choices.append(
            Choice(
                index=position if index is None else index,
                content=_text(raw.get("text")),
                finish_reason=_str_or_none(raw.get("finish_reason")),
            )
        )
    return _result(obj, choices)


def parse_completion_chunk(obj: Any) -> list[ChatDelta]:
    """One streamed `/completions` chunk -> its deltas (`choices[].text`)."""
    model = _str_or_none(obj.get("model")) if isinstance(obj, Mapping) else None
    chunk_id = _str_or_none(obj.get("id")) if isinstance(obj, Mapping) else None
    deltas: list[ChatDelta] = []
    for position, raw in enumerate(_chunk_choices(obj)):
        if not isinstance(raw, Mapping):
            raise _malformed("a streamed choice is not an object", _shape_of(raw))
        index = _int_or_none(raw.get("index"))
        deltas.append(
            ChatDelta(
                index=position if index is None else index,
                content=_text(raw.get("text")),
                finish_reason=_str_or_none(raw.get("finish_reason")),
                model=model,
                id=chunk_id,
            )
        )
    return _finish_chunk(obj, deltas)


# --- models -----------------------------------------------------------------------------------

# `max_input_tokens`: LiteLLM's proxy lists it for models whose price-map entry has one.
_CONTEXT_KEYS = (
    "context_window",
    "context_length",
    "max_model_len",
    "max_context_length",
    "max_input_tokens",
)

# What servers that describe their models call each capability (LM Studio `type`, Ollama lists).
_CAPABILITY_NAMES = {
    "llm": "chat",
    "vlm": "chat",
    "chat": "chat",
    "completion": "completion",
    "completions": "completion",
    "embedding": "embedding",
    "embeddings": "embedding",
    "image": "image",
    "images": "image",
    "image_generation": "image",  # LiteLLM's `mode`
    "video": "video",
}


def _model_entries(obj: Any) -> list[Any]:
    if isinstance(obj, list):
        return obj
    if not isinstance(obj, Mapping):
        raise _malformed("the model list is not JSON list or object", _shape_of(obj))
    _raise_for_error_object(obj)
    for key in ("data", "models"):
        entries = obj.get(key)
        if isinstance(entries, list):
            return entries
    return []


def _capabilities(entry: Mapping[str, Any]) -> frozenset[str]:
    names: list[Any] = []
    # LM Studio says `type`; LiteLLM's proxy says `mode` (chat, completion, embedding,
    # image_generation, audio_transcription, ...) for models its config or price map describes.
    for key in ("type", "mode"):
        if isinstance(entry.get(key), str):
            names.append(entry[key])
    if isinstance(entry.get("capabilities"), list):
        names.extend(entry["capabilities"])
    return frozenset(
        _CAPABILITY_NAMES[n.lower()]
        for n in names
        if isinstance(n, str) and n.lower() in _CAPABILITY_NAMES
    )


def _model_info(entry: Any) -> ModelInfo | None:
    if isinstance(entry, str):
        return ModelInfo(id=entry.strip()) if entry.strip() else None
    if not isinstance(entry, Mapping):
        return None
    model_id = next(
        (
            entry[key].strip()
            for key in ("id", "model", "name")
            if isinstance(entry.get(key), str) and entry[key].strip()
        ),
        None,
    )
    if model_id is None:
        return None
    display = _str_or_none(entry.get("display_name")) or _str_or_none(entry.get("name")) or ""
    context = next(
        (
            value
            for value in (_int_or_none(entry.get(key)) for key in _CONTEXT_KEYS)
            if value is not None and value > 0
        ),
        None,
    )
    return ModelInfo(
        id=model_id,
        display_name="" if display == model_id else display,
        owned_by=_str_or_none(entry.get("owned_by")),
        context_window=context,
        capabilities=_capabilities(entry),
    )


def parse_models(obj: Any) -> list[ModelInfo]:
    """A `/models` body in any common shape -> models sorted by id, each id once."""
    by_id: dict[str, ModelInfo] = {}
    for entry in _model_entries(obj):
        info = _model_info(entry)
        if info is not None and info.id not in by_id:
            by_id[info.id] = info
    return sorted(by_id.values(), key=lambda m: (m.id.casefold(), m.id))


# --- images -----------------------------------------------------------------------------------

_SIZE_TEXT = re.compile(r"^\s*(\d+)\s*[xX*×]\s*(\d+)\s*$")


def format_size(size: tuple[int, int] | list[int] | str, style: str = "x") -> str:
    """`(1024, 1024)`, `"1024x1024"`, `"1024*1024"` or `" 1024 X 1024 "` written in `style`.

    `style` is "x" (OpenAI, `1024x1024`) or "*" (servers that document `1024*1024`). Words such
    as "auto" pass through unchanged.
    """
    try:
        separator = SizeStyle(style).value
    except ValueError:
        raise ConfigError(f'The image size style must be "x" or "*", not {style!r}.') from None
    if isinstance(size, str):
        match = _SIZE_TEXT.match(size)
        if match is None:
            word = size.strip()
            if word.isalpha():
                return word
            raise ConfigError(f"The image size {size!r} is not WIDTHxHEIGHT, e.g. 1024x1024.")
        width, height = int(match.group(1)), int(match.group(2))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        maybe_width, maybe_height = (_int_or_none(v) for v in size)
        if maybe_width is None or maybe_height is None:
            raise ConfigError(f"The image size {size!r} must be two whole numbers.")
        width, height = maybe_width, maybe_height
    else:
        raise ConfigError(f"The image size {size!r} is not WIDTHxHEIGHT, e.g. 1024x1024.")
    if width <= 0 or height <= 0:
        raise ConfigError(f"The image size {width}x{height} must be larger than zero.")
    return f"{width}{separator}{height}"


def build_image_body(req: ImageRequest, *, size_style: str = "x") -> dict[str, Any]:
    """The JSON body of `POST /images/generations`; only fields that are set are sent."""
    if not req.prompt.strip():
        raise ConfigError("Write a prompt for the image first.")
    body: dict[str, Any] = {"prompt": req.prompt}
    if req.model:
        body["model"] = req.model
    if req.n is not None:
        body["n"] = req.n
    if req.size is not None and req.size != "":
        body["size"] = format_size(req.size, size_style)
    for name in ("quality", "style", "response_format", "user"):
        value = getattr(req, name)
        if value:
            body[name] = value
    return body


def _b64_payload(value: Any) -> str | None:
    text = _str_or_none(value)
    if text and text.startswith("data:") and "," in text:
        # Some servers send a data URL where plain base64 belongs.
        text = text.split(",", 1)[1]
    return text


def parse_image_response(obj: Any) -> list[ImageItem]:
    """An `/images/generations` body -> one ImageItem per image (URL or base64)."""
    if not isinstance(obj, Mapping):
        raise _malformed("expected a JSON object for the image reply", _shape_of(obj))
    _raise_for_error_object(obj)
    data = obj.get("data")
    items: list[ImageItem] = []
    if isinstance(data, list):
        for entry in data:
            if isinstance(entry, str) and entry:
                items.append(ImageItem(url=entry))
            elif isinstance(entry, Mapping):
                item = ImageItem(
                    url=_str_or_none(entry.get("url")),
                    b64_json=_b64_payload(entry.get("b64_json")),
                    revised_prompt=_str_or_none(entry.get("revised_prompt")),
                )
                if item.url or item.b64_json:
                    items.append(item)
    if not items:
        raise MalformedResponseError(
            "The image server replied without any image. Try again, or check the model and size.",
            detail=_shape_of(obj),
        )
    return items


# --- embeddings -------------------------------------------------------------------------------


def build_embedding_body(req: EmbeddingRequest) -> dict[str, Any]:
    """The JSON body of `POST /embeddings`."""
    if not req.inputs:
        raise ConfigError("There is no text to embed.")
    body: dict[str, Any] = {
        # A lone string only when asked for and possible: several inputs need the list form.
        "input": req.inputs[0] if req.as_string and len(req.inputs) == 1 else list(req.inputs),
    }
    if req.model:
        body["model"] = req.model
    if req.encoding_format:
        body["encoding_format"] = req.encoding_format
    if req.dimensions is not None:
        body["dimensions"] = req.dimensions
    return body


def _decode_float32(text: str) -> list[float]:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("an embedding is neither numbers nor base64") from None
    if len(raw) % 4:
        raise _malformed("a base64 embedding is not a whole number of float32 values")
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder != "little":  # the wire format is little-endian whatever the machine
        values.byteswap()
    return values.tolist()


_PLAIN_NUMBERS = frozenset({float, int})


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):
        return _decode_float32(value)
    if isinstance(value, list) and set(map(type, value)) <= _PLAIN_NUMBERS:
        # What JSON decodes to, checked and converted in C (3x faster than the loop below: a
        # batch of 64 × 1,536 is parsed on the event loop).
        return array("d", value).tolist()
    if isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return [float(v) for v in value]
    raise _malformed("an embedding is neither numbers nor base64", type(value).__name__)


def parse_embedding_response(obj: Any) -> EmbeddingResult:
    """An `/embeddings` body -> vectors in input order (sorted by `index`)."""
    if not isinstance(obj, Mapping):
        raise _malformed("expected a JSON object for the embeddings", _shape_of(obj))
    _raise_for_error_object(obj)
    data = obj.get("data")
    indexed: list[tuple[int, list[float]]] = []
    if isinstance(data, list):
        for position, entry in enumerate(data):
            if not isinstance(entry, Mapping) or "embedding" not in entry:
                raise _malformed("an embeddings entry has no vector", _shape_of(entry))
            index = _int_or_none(entry.get("index"))
            indexed.append((position if index is None else index, _vector(entry["embedding"])))
    elif isinstance(obj.get("embeddings"), list):
        # Ollama's native shape: {"embeddings": [[...], ...]} in input order.
        indexed = [(i, _vector(v)) for i, v in enumerate(obj["embeddings"])]
    if not indexed:
        raise _malformed("the embeddings reply holds no vectors", _shape_of(obj))
    indexed.sort(key=lambda pair: pair[0])
    return EmbeddingResult(
        vectors=[vector for _, vector in indexed],
        model=_str_or_none(obj.get("model")),
        usage=_usage(obj.get("usage")),
    )


# --- retry hint -------------------------------------------------------------------------------


def stream_options_rejected(err: APIError) -> bool:
    """True when a server refused `stream_options` (the client then retries once without it)."""
    if not isinstance(err, APIError) or err.status not in (400, 422):
        return False
    text = (err.provider_message or "").lower()
    return "stream_options" in text or "include_usage" in text

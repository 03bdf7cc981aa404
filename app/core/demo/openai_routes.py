"""The OpenAI-compatible dialect of the demo server: models, chat, completions, images,
embeddings and both video dialects, with each seed flavour's own rules applied.

Which routes a flavour offers is `Flavour.routes`; path shapes (trailing slashes) are checked by
the server before these functions run, so here `subpath` is always the canonical form
(`chat/completions`, `video/generations/{id}`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core.demo import media, text
from app.core.demo.media import MediaStore
from app.core.demo.video import VideoStore
from app.core.demo.wire import (
    INVALID_JSON,
    BadRequest,
    DemoRequest,
    Reply,
    StreamReply,
    error_object,
    error_reply,
    json_reply,
)


class ServerContext(Protocol):
    """What routes need from the server (kept narrow so routes are easy to test)."""

    media: MediaStore
    videos: VideoStore
    video_seconds: float


# --- models -----------------------------------------------------------------------------------

DEMO_MODELS: list[tuple[str, str]] = [
    ("demo-chat", "switchboard-demo"),
    ("demo-reasoner", "switchboard-demo"),
    ("demo-instruct", "switchboard-demo"),
    ("demo-image", "switchboard-demo"),
    ("demo-embedding", "switchboard-demo"),
    ("demo-video", "switchboard-demo"),
]

# Each seed's documented model ids, so a user sees familiar names.
SEED_MODELS: dict[str, list[tuple[str, str]]] = {
    "openai": [
        ("gpt-4o-mini", "openai"),
        ("dall-e-3", "openai"),
        ("text-embedding-3-small", "openai"),
    ],
    "mollyra": [("gpt-4-turbo", "mollyra"), ("mollyra-x", "mollyra"), ("dall-e-3", "mollyra")],
    "gateway": [
        ("gpt-4o", "openai"),
        ("gpt-4o-mini", "openai"),
        ("claude-sonnet-4-20250514", "anthropic"),
        ("gemini-2.5-pro", "google"),
        ("gemini-2.5-flash", "google"),
        ("dall-e-3", "openai"),
    ],
    "siliconlike": [
        ("meta-llama/Meta-Llama-3-70B-Instruct", "meta-llama"),
        ("stabilityai/stable-diffusion-xl-base-1.0", "stabilityai"),
        ("intfloat/e5-large-v2", "intfloat"),
    ],
    "horay": [
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama"),
        ("Qwen/Qwen2.5-7B-Instruct", "Qwen"),
    ],
    "melancholy": [
        ("qwen3-max", "qwen"),
        ("flux", "black-forest-labs"),
        ("google/veo-3-1-fast", "google"),
    ],
}


def _models_of(flavour: str) -> list[tuple[str, str]]:
    """The models a flavour lists. `/v1` is served as "openai" but is also seed 000's (Mollyra)
    prefix, so it lists Mollyra's documented models too (a Mollyra preset's default must exist)."""
    names = [flavour, "mollyra"] if flavour == "openai" else [flavour]
    models = list(DEMO_MODELS)
    for name in names:
        models += [m for m in SEED_MODELS.get(name, []) if m[0] not in {i for i, _ in models}]
    return models


def list_models(req: DemoRequest) -> Reply:
    models = _models_of(req.flavour.name)
    return json_reply(
        200,
        {
            "object": "list",
            "data": [
                {"id": mid, "object": "model", "created": 1700000000, "owned_by": owner}
                for mid, owner in models
            ],
        },
    )


def get_model(req: DemoRequest, model_id: str) -> Reply:
    for mid, owner in _models_of(req.flavour.name):
        if mid == model_id:
            return json_reply(
                200, {"id": mid, "object": "model", "created": 1700000000, "owned_by": owner}
            )
    raise BadRequest(f"The model '{model_id}' does not exist", 404, code="model_not_found")


# --- request validation -----------------------------------------------------------------------


def _body(req: DemoRequest) -> dict[str, Any]:
    if req.json is INVALID_JSON:
        raise BadRequest(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly.)"
        )
    if not isinstance(req.json, dict):
        raise BadRequest("The request body must be a JSON object.")
    return req.json


def _int_param(body: dict[str, Any], name: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"Invalid type for '{name}': expected an integer.", param=name)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(
            f"'{name}' must be {bound}, got {value}.", code="invalid_value", param=name
        )
    return value


def _stops(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        if len(stop) > 4:
            raise BadRequest("'stop' accepts at most 4 sequences.", param="stop")
        return stop
    raise BadRequest("'stop' must be a string or a list of strings.", param="stop")


def _max_tokens(req: DemoRequest, body: dict[str, Any]) -> int | None:
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    if body.get(name) is None:
        return None
    return _int_param(body, name, 0, 1, req.flavour.max_tokens_limit)


def _check_sampling(body: dict[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2
    ):
        raise BadRequest("'temperature' must be a number between 0 and 2.", param="temperature")
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, float))):
        raise BadRequest("'top_k' must be a number.", param="top_k")


def _message_text(message: dict[str, Any]) -> tuple[str, int]:
    """(text, number of images) of one chat message; content may be a string or parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list):
        texts, images = [], 0
        for part in content:
            if isinstance(part, dict):
                if part.get("type") == "text":
                    texts.append(str(part.get("text", "")))
                elif part.get("type") in ("image_url", "input_image"):
                    images += 1
        return "".join(texts), images
    return "", 0


def _stable_id(prefix: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}{digest[:24]}"


# --- chat -------------------------------------------------------------------------------------


@dataclass
class PlannedChoice:
    index: int
    reasoning: list[str]
    content: list[str]
    refusal: list[str]
    finish_reason: str


@dataclass
class ChatPlan:
    id: str
    model: str
    prompt_tokens: int
    choices: list[PlannedChoice] = field(default_factory=list)

    def usage(self) -> dict[str, Any]:
        completion = sum(len(c.content) + len(c.reasoning) + len(c.refusal) for c in self.choices)
        reasoning = sum(len(c.reasoning) for c in self.choices)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }


def plan_reply(
    prompt: str,
    *,
    model: str,
    n: int,
    max_tokens: int | None,
    stops: list[str],
    images: int = 0,
    prompt_tokens: int,
    reply_id: str,
    completion: bool = False,
    continue_from: str | None = None,
    reopen_fence: bool = False,
) -> ChatPlan:
    """Decide every choice's tokens and finish reason up front (shared by all dialects).

    Magic words for testing clients: "[refuse]" in the prompt gives a refusal instead of content.
    `continue_from`: the partial reply the request asks to continue (see
    `text.continuation_of`; `reopen_fence` when it was asked by a "continue" user turn).
    """
    reasoner = "reasoner" in model.lower() or "thinking" in model.lower()
    plan = ChatPlan(id=reply_id, model=model, prompt_tokens=prompt_tokens)
    for index in range(n):
        if completion:
            full = text.compose_completion(prompt, variant=index)
        else:
            full = text.compose_reply(prompt, variant=index, images=images)
        more = None
        if continue_from is not None and not completion:
            more = text.continuation_of(full, continue_from, reopen_fence=reopen_fence)
            full = full if more is None else more
        cut, _ = text.apply_stop(full, stops)
        tokens = text.tokenize(cut)
        finish = "stop"
        if max_tokens is not None and len(tokens) > max_tokens:
            tokens, finish = tokens[:max_tokens], "length"
        refusal: list[str] = []
        if "[refuse]" in prompt.lower() and not completion:
            refusal, tokens = text.tokenize("I'm sorry, but I can't help with that request."), []
        reasoning = (
            text.tokenize(text.compose_reasoning(prompt))
            if reasoner and not completion and more is None
            else []
        )
        plan.choices.append(PlannedChoice(index, reasoning, tokens, refusal, finish))
    return plan


def _chat_plan(req: DemoRequest) -> tuple[ChatPlan, dict[str, Any]]:
    body = _body(req)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(
            "'messages' must be a non-empty array of message objects.", param="messages"
        )
    prompt, images, prompt_tokens = "", 0, 0
    for message in messages:
        if not isinstance(message, dict) or "role" not in message:
            raise BadRequest("Each message needs a 'role' and 'content'.", param="messages")
        message_text, message_images = _message_text(message)
        prompt_tokens += text.count_tokens(message_text) + 3
        if message.get("role") == "user":
            prompt, images = message_text, message_images
    _check_sampling(body)
    # A final assistant message is a prefix to continue (as llama.cpp reads it).
    last = messages[-1]
    continue_from = _message_text(last)[0] if last.get("role") == "assistant" else None
    n = _int_param(body, "n", 1, 1, 8)
    plan = plan_reply(
        prompt,
        model=model,
        n=n,
        max_tokens=_max_tokens(req, body),
        stops=_stops(body),
        images=images,
        prompt_tokens=prompt_tokens,
        reply_id=_stable_id("chatcmpl-", body),
        continue_from=continue_from,
    )
    return plan, body


def chat_completions(req: DemoRequest) -> Reply | StreamReply:
    plan, body = _chat_plan(req)
    created = int(time.time())
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        return StreamReply(
            _chat_events(plan, created, include_usage),
            error_payload=json.dumps(error_object(req.flavour, 500)),
        )
    choices = []
    for choice in plan.choices:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(choice.content) if not choice.refusal else None,
            "refusal": "".join(choice.refusal) or None,
        }
        if choice.reasoning:
            message["reasoning_content"] = "".join(choice.reasoning)
        choices.append(
            {
                "index": choice.index,
                "message": message,
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
        )
    return json_reply(
        200,
        {
            "id": plan.id,
            "object": "chat.completion",
            "created": created,
            "model": plan.model,
            "system_fingerprint": "fp_demo",
            "choices": choices,
            "usage": plan.usage(),
        },
    )


def _chat_events(plan: ChatPlan, created: int, include_usage: bool) -> Iterator[str]:
    """Chunks like OpenAI's: a role chunk per choice, token chunks interleaved by choice index,
    a finish chunk per choice, the usage-only chunk (`choices: []`) when asked, then [DONE]."""
    head: dict[str, Any] = {
        "id": plan.id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": plan.model,
        "system_fingerprint": "fp_demo",
    }

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> str:
        obj = dict(head)
        obj["choices"] = [
            {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        ]
        if include_usage:
            obj["usage"] = None
        return json.dumps(obj, ensure_ascii=False)

    for choice in plan.choices:
        yield chunk(choice.index, {"role": "assistant", "content": "", "refusal": None})
    for field_name in ("reasoning", "content", "refusal"):
        delta_key = "reasoning_content" if field_name == "reasoning" else field_name
        longest = max(len(getattr(c, field_name)) for c in plan.choices)
        for position in range(longest):
            for choice in plan.choices:
                tokens = getattr(choice, field_name)
                if position < len(tokens):
                    yield chunk(choice.index, {delta_key: tokens[position]})
    for choice in plan.choices:
        yield chunk(choice.index, {}, choice.finish_reason)
    if include_usage:
        obj = dict(head)
        obj["choices"] = []
        obj["usage"] = plan.usage()
        yield json.dumps(obj)
    yield "[DONE]"


# --- legacy completions -----------------------------------------------------------------------


def completions(req: DemoRequest) -> Reply | StreamReply:
    body = _body(req)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", param="model")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise BadRequest("'prompt' must be a string.", param="prompt")
    _check_sampling(body)
    plan = plan_reply(
        prompt,
        model=model,
        n=_int_param(body, "n", 1, 1, 8),
        max_tokens=_max_tokens(req, body),
        stops=_stops(body),
        prompt_tokens=text.count_tokens(prompt),
        reply_id=_stable_id("cmpl-", body),
        completion=True,
    )
    echo = prompt if body.get("echo") else ""
    created = int(time.time())
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        return StreamReply(
            _completion_events(plan, created, include_usage, echo),
            error_payload=json.dumps(error_object(req.flavour, 500)),
        )
    return json_reply(
        200,
        {
            "id": plan.id,
            "object": "text_completion",
            "created": created,
            "model": plan.model,
            "choices": [
                {
                    "text": echo + "".join(c.content),
                    "index": c.index,
                    "logprobs": None,
                    "finish_reason": c.finish_reason,
                }
                for c in plan.choices
            ],
            "usage": {k: v for k, v in plan.usage().items() if k != "completion_tokens_details"},
        },
    )


def _completion_events(
    plan: ChatPlan, created: int, include_usage: bool, echo: str
) -> Iterator[str]:
    head = {"id": plan.id, "object": "text_completion", "created": created, "model": plan.model}

    def chunk(index: int, piece: str, finish: str | None = None) -> str:
        obj = dict(head)
        obj["choices"] = [
            {"text": piece, "index": index, "logprobs": None, "finish_reason": finish}
        ]
        return json.dumps(obj, ensure_ascii=False)

    if echo:
        for choice in plan.choices:
            yield chunk(choice.index, echo)
    longest = max(len(c.content) for c in plan.choices)
    for position in range(longest):
        for choice in plan.choices:
            if position < len(choice.content):
                yield chunk(choice.index, choice.content[position])
    for choice in plan.choices:
        yield chunk(choice.index, "", choice.finish_reason)
    if include_usage:
        obj = dict(head)
        obj["choices"] = []
        obj["usage"] = {k: v for k, v in plan.usage().items() if k != "completion_tokens_details"}
        yield json.dumps(obj)
    yield "[DONE]"


# --- images -----------------------------------------------------------------------------------

_SIZE_X = re.compile(r"^(\d{2,4})x(\d{2,4})$")
_SIZE_STAR = re.compile(r"^(\d{2,4})\*(\d{2,4})$")


def _image_size(req: DemoRequest, size: Any) -> tuple[int, int]:
    star = req.flavour.image_size_style == "*"
    if size is None or (size == "auto" and not star):
        return 1024, 1024
    if not isinstance(size, str):
        raise BadRequest("'size' must be a string.", param="size")
    match = (_SIZE_STAR if star else _SIZE_X).match(size)
    if match is None:
        example = "1024*1024" if star else "1024x1024"
        raise BadRequest(
            f"Invalid size '{size}': use the form {example}.", code="invalid_size", param="size"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= 2048 and 16 <= height <= 2048):
        raise BadRequest(f"Invalid size '{size}': each side must be 16..2048.", param="size")
    return width, height


def images_generations(req: DemoRequest, ctx: ServerContext) -> Reply:
    body = _body(req)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("'prompt' is required.", param="prompt")
    if len(prompt) > 4000:
        raise BadRequest("'prompt' is too long: at most 4000 characters.", param="prompt")
    n = _int_param(body, "n", 1, 1, req.flavour.max_image_n)
    width, height = _image_size(req, body.get("size"))
    response_format = body.get("response_format") or req.flavour.default_image_format
    if response_format not in ("url", "b64_json"):
        raise BadRequest("'response_format' must be 'url' or 'b64_json'.", param="response_format")
    if req.flavour.default_image_format == "b64_json":
        # Seed 002 documents b64_json as the only value: answer that way, with "url": null.
        response_format = "b64_json"
    data = []
    for variant in range(n):
        png = media.render_prompt_image(prompt, width, height, variant)
        item: dict[str, Any] = {"revised_prompt": f"A demo rendering of: {prompt}"}
        if response_format == "b64_json":
            item["b64_json"] = base64.b64encode(png).decode("ascii")
            if req.flavour.default_image_format == "b64_json":
                item["url"] = None
        else:
            name = hashlib.sha256(png).hexdigest()[:20] + ".png"
            ctx.media.put(name, png, "image/png")
            item["url"] = f"{req.origin}/files/{name}"
        data.append(item)
    return json_reply(200, {"created": int(time.time()), "data": data})


# --- embeddings -------------------------------------------------------------------------------


def embeddings(req: DemoRequest) -> Reply:
    body = _body(req)
    raw = body.get("input")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
        inputs = raw
    else:
        raise BadRequest("'input' must be a string or a non-empty array of strings.", param="input")
    dim = _int_param(body, "dimensions", text.DEFAULT_EMBEDDING_DIM, 1, 4096)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise BadRequest("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    data = []
    for index, item in enumerate(inputs):
        vector = text.embed(item, dim)
        embedding: Any = text.floats_to_base64(vector) if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(text.count_tokens(x) for x in inputs)
    return json_reply(
        200,
        {
            "object": "list",
            "data": data,
            "model": body.get("model") or "demo-embedding",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )


def not_found(req: DemoRequest) -> Reply:
    """OpenAI's own wording for an unknown URL, in the flavour's error shape."""
    return error_reply(
        req.flavour,
        404,
        f"Invalid URL ({req.method} {req.path})",
        type_="invalid_request_error",
        code="unknown_url",
    )

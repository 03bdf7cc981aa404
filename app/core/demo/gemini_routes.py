"""The Gemini dialect of the demo server: `models/{m}:generateContent`,
`:streamGenerateContent` (SSE with `alt=sse`, else one JSON array), `:embedContent`,
`:batchEmbedContents` and the models list, shaped like Google's REST API.

Streams use CRLF event separators and no `[DONE]`, like the recorded Gemini bodies. Magic word for
testing clients: "[blocked]" in the prompt gives a `promptFeedback.blockReason` with no candidates.
A model whose id contains "nothink" (e.g. `demo-gemini-nothink`, `gemini-2.5-flash-nothink`) cannot
think: a request with `generationConfig.thinkingConfig` gets the 400 Google sends for such models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.core.demo import text
from app.core.demo.openai_routes import ChatPlan, plan_reply
from app.core.demo.wire import (
    INVALID_JSON,
    BadRequest,
    DemoRequest,
    Reply,
    StreamReply,
    error_object,
    json_reply,
)

GEMINI_MODELS: list[dict[str, Any]] = [
    {
        "id": "gemini-2.5-flash",
        "display": "Gemini 2.5 Flash",
        "methods": ["generateContent", "countTokens"],
    },
    {
        "id": "gemini-2.5-pro",
        "display": "Gemini 2.5 Pro",
        "methods": ["generateContent", "countTokens"],
    },
    {"id": "demo-chat", "display": "Demo Chat", "methods": ["generateContent", "countTokens"]},
    {
        "id": "demo-thinking",
        "display": "Demo Thinking",
        "methods": ["generateContent", "countTokens"],
    },
    {"id": "text-embedding-004", "display": "Text Embedding 004", "methods": ["embedContent"]},
]


def _model_resource(model: dict[str, Any]) -> dict[str, Any]:
    embedding = "embedContent" in model["methods"]
    return {
        "name": f"models/{model['id']}",
        "version": "001",
        "displayName": model["display"],
        "description": f"{model['display']} served by the Switchboard demo server.",
        "inputTokenLimit": 2048 if embedding else 1048576,
        "outputTokenLimit": 1 if embedding else 65536,
        "supportedGenerationMethods": model["methods"],
    }


def list_models(req: DemoRequest) -> Reply:
    return json_reply(200, {"models": [_model_resource(m) for m in GEMINI_MODELS]})


def get_model(req: DemoRequest, model_id: str) -> Reply:
    for model in GEMINI_MODELS:
        if model["id"] == model_id:
            return json_reply(200, _model_resource(model))
    raise BadRequest(f"models/{model_id} is not found for API version v1beta.", 404)


def _body(req: DemoRequest) -> dict[str, Any]:
    if req.json is INVALID_JSON or not isinstance(req.json, dict):
        raise BadRequest("Invalid JSON payload received.")
    return req.json


def _parts_text(parts: Any) -> tuple[str, int]:
    if not isinstance(parts, list):
        return "", 0
    texts, images = [], 0
    for part in parts:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif "inlineData" in part or "fileData" in part:
                images += 1
    return "".join(texts), images


def _plan(req: DemoRequest, model: str) -> tuple[ChatPlan, dict[str, Any], bool]:
    body = _body(req)
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise BadRequest("* GenerateContentRequest.contents: contents is not specified")
    prompt, images, prompt_tokens = "", 0, 0
    turns: list[tuple[str, str, int]] = []  # (role, text, images)
    for content in contents:
        if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
            raise BadRequest("* GenerateContentRequest.contents: each content needs parts")
        role = content.get("role", "user")
        if role not in ("user", "model", "function"):
            raise BadRequest(f"Please use a valid role: user, model. Got '{role}'.")
        content_text, content_images = _parts_text(content["parts"])
        prompt_tokens += text.count_tokens(content_text)
        turns.append((role, content_text, content_images))
        if role == "user":
            prompt, images = content_text, content_images
    # user, model, user: a request to continue a reply the demo had begun (and not finished)
    # to give to the first user turn is answered as chat models do (`text.continuation_of`).
    continue_from: str | None = None
    if (
        len(turns) >= 3
        and [t[0] for t in turns[-3:]] == ["user", "model", "user"]
        and "continue" in turns[-1][1].lower()
    ):
        (_r, asked, asked_images), (_m, partial, _i) = turns[-3], turns[-2]
        whole = text.compose_reply(asked, images=asked_images)
        if partial and len(partial) < len(whole) and whole.startswith(partial):
            prompt, images, continue_from = asked, asked_images, partial
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        prompt_tokens += text.count_tokens(_parts_text(system.get("parts"))[0])
    config = body.get("generationConfig") or {}
    if not isinstance(config, dict):
        raise BadRequest("generationConfig must be an object.")
    n = config.get("candidateCount", 1)
    if not isinstance(n, int) or not 1 <= n <= 8:
        raise BadRequest("generationConfig.candidateCount must be between 1 and 8.")
    max_tokens = config.get("maxOutputTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequest("generationConfig.maxOutputTokens must be a positive integer.")
    stops = config.get("stopSequences") or []
    if not isinstance(stops, list) or len(stops) > 5:
        raise BadRequest("generationConfig.stopSequences: at most 5 sequences.")
    if "thinkingConfig" in config and "nothink" in model.lower():
        raise BadRequest(
            "Unable to submit request because thinking is not supported by this model."
        )
    thinking = config.get("thinkingConfig") or {}
    include_thoughts = bool(isinstance(thinking, dict) and thinking.get("includeThoughts"))
    plan = plan_reply(
        prompt,
        model=model,
        n=n,
        max_tokens=max_tokens,
        stops=[s for s in stops if isinstance(s, str)],
        images=images,
        prompt_tokens=prompt_tokens,
        reply_id=f"demo-{text.stable_hash(json.dumps(body, sort_keys=True)):x}",
        continue_from=continue_from,
        reopen_fence=True,
    )
    blocked = "[blocked]" in prompt.lower()
    if not include_thoughts and "thinking" not in model and "reasoner" not in model:
        for choice in plan.choices:
            choice.reasoning = []
    return plan, body, blocked


_FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}


def _usage(plan: ChatPlan, final: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": plan.prompt_tokens}
    if final:
        candidates = sum(len(c.content) for c in plan.choices)
        thoughts = sum(len(c.reasoning) for c in plan.choices)
        usage["candidatesTokenCount"] = candidates
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        usage["totalTokenCount"] = plan.prompt_tokens + candidates + thoughts
    else:
        usage["totalTokenCount"] = plan.prompt_tokens
    return usage


def _blocked_body(plan: ChatPlan) -> dict[str, Any]:
    return {
        "promptFeedback": {
            "blockReason": "SAFETY",
            "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
            ],
        },
        "usageMetadata": {
            "promptTokenCount": plan.prompt_tokens,
            "totalTokenCount": plan.prompt_tokens,
        },
        "modelVersion": plan.model,
    }


def _wants_image(body: dict[str, Any], model: str) -> bool:
    """Image output: `responseModalities` includes IMAGE, or an `-image` model (Gemini's
    `gemini-2.5-flash-image` answers with inline image parts)."""
    config = body.get("generationConfig") or {}
    modalities = config.get("responseModalities") if isinstance(config, dict) else None
    if isinstance(modalities, list) and any(str(m).upper() == "IMAGE" for m in modalities):
        return True
    return "image" in model.lower()


def _inline_image_part(body: dict[str, Any], variant: int) -> dict[str, Any]:
    """An `inlineData` PNG part drawn from the last user prompt (small: 256 px square)."""
    import base64

    from app.core.demo import media

    prompt = ""
    for content in body.get("contents") or []:
        if isinstance(content, dict) and content.get("role", "user") == "user":
            prompt = _parts_text(content.get("parts"))[0]
    png = media.render_prompt_image(prompt, 256, 256, variant)
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode("ascii")}}


def generate_content(req: DemoRequest, model: str) -> Reply:
    plan, body, blocked = _plan(req, model)
    if blocked:
        return json_reply(200, _blocked_body(plan))
    image_output = _wants_image(body, model)
    candidates = []
    for choice in plan.choices:
        parts: list[dict[str, Any]] = []
        if choice.reasoning:
            parts.append({"text": "".join(choice.reasoning), "thought": True})
        parts.append({"text": "".join(choice.content or choice.refusal)})
        if image_output:
            parts.append(_inline_image_part(body, choice.index))
        candidates.append(
            {
                "content": {"parts": parts, "role": "model"},
                "finishReason": _FINISH.get(choice.finish_reason, "STOP"),
                "index": choice.index,
            }
        )
    return json_reply(
        200,
        {
            "candidates": candidates,
            "usageMetadata": _usage(plan, final=True),
            "modelVersion": model,
            "responseId": plan.id,
        },
    )


def _stream_chunks(plan: ChatPlan, model: str, blocked: bool) -> Iterator[dict[str, Any]]:
    if blocked:
        yield _blocked_body(plan)
        return

    def chunk(
        index: int, part: dict[str, Any] | None, finish: str | None, final: bool
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"index": index}
        if part is not None:
            candidate["content"] = {"parts": [part], "role": "model"}
        if finish:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": _usage(plan, final),
            "modelVersion": model,
            "responseId": plan.id,
        }

    longest = max(len(c.reasoning) for c in plan.choices)
    for position in range(longest):
        for choice in plan.choices:
            if position < len(choice.reasoning):
                yield chunk(
                    choice.index, {"text": choice.reasoning[position], "thought": True}, None, False
                )
    texts = [c.content or c.refusal for c in plan.choices]
    finished = 0
    for position in range(max(max(len(t) for t in texts), 1)):
        for choice, tokens in zip(plan.choices, texts):
            if position < len(tokens):
                part: dict[str, Any] | None = {"text": tokens[position]}
                last = position == len(tokens) - 1
            elif position == 0:
                part, last = None, True  # an empty candidate still reports why it finished
            else:
                continue
            finished += last
            # The finishReason rides on the candidate's last text chunk, as in recorded streams;
            # full usage comes with the very last chunk.
            finish = _FINISH.get(choice.finish_reason, "STOP") if last else None
            yield chunk(choice.index, part, finish, final=finished == len(plan.choices) and last)


def stream_generate_content(req: DemoRequest, model: str) -> Reply | StreamReply:
    plan, _, blocked = _plan(req, model)
    chunks = _stream_chunks(plan, model, blocked)
    if req.query.get("alt") != "sse":
        # Without alt=sse Google answers with one JSON array of every chunk.
        return json_reply(200, list(chunks))
    return StreamReply(
        (json.dumps(c, ensure_ascii=False) for c in chunks),
        line_end="\r\n",
        error_payload=json.dumps(error_object(req.flavour, 500)),
    )


def _embed_values(body: dict[str, Any]) -> list[float]:
    content = body.get("content")
    if not isinstance(content, dict):
        raise BadRequest("* EmbedContentRequest.content: content is not specified")
    dim = body.get("outputDimensionality") or text.DEFAULT_EMBEDDING_DIM
    if not isinstance(dim, int) or dim < 1:
        raise BadRequest("outputDimensionality must be a positive integer.")
    return text.embed(_parts_text(content.get("parts"))[0], dim)


def embed_content(req: DemoRequest, model: str) -> Reply:
    return json_reply(200, {"embedding": {"values": _embed_values(_body(req))}})


def batch_embed_contents(req: DemoRequest, model: str) -> Reply:
    requests = _body(req).get("requests")
    if not isinstance(requests, list) or not requests:
        raise BadRequest("* BatchEmbedContentsRequest.requests: requests is not specified")
    values = []
    for item in requests:
        if not isinstance(item, dict):
            raise BadRequest("Each request must be an EmbedContentRequest object.")
        requested = str(item.get("model", f"models/{model}")).removeprefix("models/")
        if requested != model:
            raise BadRequest(
                f"Model '{requested}' in a request differs from the batch model '{model}'."
            )
        values.append({"values": _embed_values(item)})
    return json_reply(200, {"embeddings": values})

"""OpenAI-compatible legacy completions, model lists, images and embeddings."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from app.core.errors import (
    AuthenticationError,
    ConfigError,
    ContentBlockedError,
    MalformedResponseError,
    NotFoundError,
)
from app.core.protocol.openai import (
    build_completion_body,
    build_embedding_body,
    build_image_body,
    format_size,
    parse_completion_chunk,
    parse_completion_response,
    parse_embedding_response,
    parse_image_response,
    parse_models,
)
from app.core.protocol.types import (
    ChatDelta,
    EmbeddingRequest,
    GenerationParams,
    ImageItem,
    ImageRequest,
    ModelInfo,
    Usage,
)

# --- completions --------------------------------------------------------------------------------


def test_completion_body() -> None:
    body = build_completion_body(
        "gpt-3.5-turbo-instruct",
        "Once upon",
        GenerationParams(max_tokens=5, stop="\n"),
        stream=True,
    )
    assert body == {
        "model": "gpt-3.5-turbo-instruct",
        "prompt": "Once upon",
        "max_tokens": 5,
        "stop": "\n",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    plain = build_completion_body("m", "p", GenerationParams(), stream=False)
    assert plain == {"model": "m", "prompt": "p"}


def test_completion_body_refuses_five_stops() -> None:
    with pytest.raises(ConfigError):
        build_completion_body("m", "p", GenerationParams(stop=list("abcde")), stream=False)


def test_completion_response() -> None:
    result = parse_completion_response(
        {
            "id": "cmpl-1",
            "object": "text_completion",
            "model": "gpt-3.5-turbo-instruct",
            "choices": [
                {"text": " a time", "index": 0, "logprobs": None, "finish_reason": "length"},
                {"text": None, "index": 1, "finish_reason": "stop"},
            ],
            "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5},
        }
    )
    assert result.text == " a time"
    assert result.finish_reason == "length"
    assert result.choices[1].content == ""
    assert result.usage == Usage(2, 3, 5)
    assert result.model == "gpt-3.5-turbo-instruct"


def test_completion_response_errors() -> None:
    with pytest.raises(MalformedResponseError):
        parse_completion_response({"object": "text_completion"})
    with pytest.raises(AuthenticationError):
        parse_completion_response({"error": {"message": "bad key", "code": "invalid_api_key"}})


def test_completion_chunks() -> None:
    (delta,) = parse_completion_chunk(
        {
            "id": "c",
            "model": "m",
            "choices": [{"text": " there", "index": 0, "finish_reason": None}],
        }
    )
    assert delta == ChatDelta(index=0, content=" there", model="m", id="c")
    (usage_only,) = parse_completion_chunk(
        {
            "id": "c",
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )
    assert usage_only.usage == Usage(1, 1, 2) and usage_only.content == ""


# --- models -------------------------------------------------------------------------------------


def ids(models: list[ModelInfo]) -> list[str]:
    return [m.id for m in models]


def test_openai_model_list_sorted() -> None:
    models = parse_models(
        {
            "object": "list",
            "data": [
                {"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"},
                {"id": "dall-e-3", "object": "model", "owned_by": "openai"},
                {"id": "claude-sonnet-4-20250514", "object": "model", "owned_by": "anthropic"},
            ],
        }
    )
    assert ids(models) == ["claude-sonnet-4-20250514", "dall-e-3", "gpt-4o-mini"]
    assert models[0].owned_by == "anthropic"
    assert models[0].context_window is None


def test_missing_fields_are_tolerated_and_entries_without_id_dropped() -> None:
    models = parse_models(
        {
            "data": [
                {"id": "b"},
                {"object": "model"},
                {"id": ""},
                42,
                None,
                {"id": "a", "owned_by": None},
            ]
        }
    )
    assert ids(models) == ["a", "b"]
    assert models[0].owned_by is None


def test_duplicates_removed() -> None:
    models = parse_models(
        {"data": [{"id": "x", "owned_by": "first"}, {"id": "x", "owned_by": "second"}, "x"]}
    )
    assert len(models) == 1 and models[0].owned_by == "first"


def test_bare_list_and_strings() -> None:
    assert ids(parse_models(["zeta", {"id": "alpha"}, " beta "])) == ["alpha", "beta", "zeta"]


def test_models_key_ollama_shape() -> None:
    models = parse_models(
        {
            "models": [
                {"name": "qwen2.5:7b", "model": "qwen2.5:7b", "size": 4683087332},
                {"name": "Llama 3", "model": "llama3:latest"},
            ]
        }
    )
    assert ids(models) == ["llama3:latest", "qwen2.5:7b"]
    assert models[0].display_name == "Llama 3"
    assert models[1].display_name == ""


@pytest.mark.parametrize(
    "key", ["context_length", "context_window", "max_model_len", "max_context_length"]
)
def test_context_window_keys(key: str) -> None:
    (model,) = parse_models({"data": [{"id": "m", key: 131072}]})
    assert model.context_window == 131072


def test_capabilities_from_type() -> None:
    models = parse_models(
        {"data": [{"id": "e", "type": "embeddings"}, {"id": "l", "type": "llm"}, {"id": "u"}]}
    )
    assert [m.capabilities for m in models] == [
        frozenset({"embedding"}),
        frozenset({"chat"}),
        frozenset(),
    ]


def test_missing_data_gives_no_models_and_error_body_raises() -> None:
    assert parse_models({"object": "list"}) == []
    with pytest.raises(NotFoundError):
        parse_models({"error": {"message": "Not found", "code": 404}})
    with pytest.raises(MalformedResponseError):
        parse_models("<html>")


# --- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [(1024, 768), [1024, 768], "1024x768", "1024*768", " 1024 X 768 ", "1024×768"],
)
def test_format_size_inputs(size: Any) -> None:
    assert format_size(size, "x") == "1024x768"
    assert format_size(size, "*") == "1024*768"


def test_format_size_passes_words_through() -> None:
    assert format_size("auto", "*") == "auto"


@pytest.mark.parametrize(
    "size", ["1024", "1024x", "x768", (1024,), (0, 768), "big square", ("a", "b")]
)
def test_format_size_refuses_nonsense(size: Any) -> None:
    with pytest.raises(ConfigError):
        format_size(size, "x")


def test_format_size_refuses_unknown_style() -> None:
    with pytest.raises(ConfigError, match="style"):
        format_size((1, 1), "by")


def test_image_body_sends_only_set_fields() -> None:
    assert build_image_body(ImageRequest(prompt="a cat")) == {"prompt": "a cat"}
    body = build_image_body(
        ImageRequest(
            prompt="A beautiful sunset over the ocean",
            model="stabilityai/stable-diffusion-xl-base-1.0",
            n=1,
            size=(1024, 1024),
            response_format="b64_json",
            user="u",
        ),
        size_style="*",
    )
    # The seed that documents `1024*1024` sends exactly this body.
    assert body == {
        "model": "stabilityai/stable-diffusion-xl-base-1.0",
        "prompt": "A beautiful sunset over the ocean",
        "n": 1,
        "size": "1024*1024",
        "response_format": "b64_json",
        "user": "u",
    }
    full = build_image_body(ImageRequest(prompt="p", size="1792x1024", quality="hd", style="vivid"))
    assert full == {"prompt": "p", "size": "1792x1024", "quality": "hd", "style": "vivid"}


def test_image_body_needs_a_prompt() -> None:
    with pytest.raises(ConfigError):
        build_image_body(ImageRequest(prompt="  "))


def test_image_response_urls_and_b64() -> None:
    png = base64.b64encode(b"\x89PNG\r\n").decode()
    items = parse_image_response(
        {
            "created": 0,
            "data": [
                {"url": "https://cdn.example.com/a.png", "revised_prompt": "A highly detailed cat"},
                {"url": None, "b64_json": png},
                {"b64_json": "data:image/png;base64," + png},
            ],
        }
    )
    assert items == [
        ImageItem(url="https://cdn.example.com/a.png", revised_prompt="A highly detailed cat"),
        ImageItem(b64_json=png),
        ImageItem(b64_json=png),
    ]
    assert items[1].image_bytes() == b"\x89PNG\r\n"


@pytest.mark.parametrize(
    "body", [{"created": 0, "data": []}, {"data": [{"url": None}]}, {"created": 1}]
)
def test_image_response_without_images_is_malformed(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        parse_image_response(body)
    assert "without any image" in caught.value.user_message


def test_image_response_error_body() -> None:
    with pytest.raises(ContentBlockedError) as caught:
        parse_image_response(
            {
                "error": {
                    "message": "Your request was rejected by the safety system.",
                    "code": "content_policy_violation",
                }
            }
        )
    assert caught.value.provider_message == "Your request was rejected by the safety system."


# --- embeddings ---------------------------------------------------------------------------------


def test_embedding_body_list_and_string() -> None:
    req = EmbeddingRequest(
        inputs=["The food was delicious and the waiter."], model="intfloat/e5-large-v2"
    )
    assert build_embedding_body(req) == {
        "input": ["The food was delicious and the waiter."],
        "model": "intfloat/e5-large-v2",
    }
    req.as_string = True
    assert build_embedding_body(req)["input"] == "The food was delicious and the waiter."
    both = EmbeddingRequest(
        inputs=["a", "b"], as_string=True, encoding_format="base64", dimensions=256
    )
    assert build_embedding_body(both) == {
        "input": ["a", "b"],
        "encoding_format": "base64",
        "dimensions": 256,
    }


def test_embedding_body_needs_input() -> None:
    with pytest.raises(ConfigError):
        build_embedding_body(EmbeddingRequest(inputs=[]))


def test_embedding_floats_sorted_by_index() -> None:
    result = parse_embedding_response(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.5, -1]},
                {"object": "embedding", "index": 0, "embedding": [0.25, 2]},
            ],
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        }
    )
    assert result.vectors == [[0.25, 2.0], [0.5, -1.0]]
    assert result.model == "text-embedding-3-small"
    assert result.usage == Usage(prompt_tokens=8, total_tokens=8)


def test_embedding_base64_little_endian_float32() -> None:
    values = [1.0, -2.5, 0.125, 3.0e-3]
    encoded = base64.b64encode(struct.pack("<4f", *values)).decode()
    result = parse_embedding_response({"data": [{"index": 0, "embedding": encoded}]})
    (vector,) = result.vectors
    assert vector[:3] == [1.0, -2.5, 0.125]
    assert vector[3] == pytest.approx(3.0e-3, rel=1e-6)


def test_embedding_ollama_shape() -> None:
    assert parse_embedding_response({"embeddings": [[1, 2], [3, 4]]}).vectors == [
        [1.0, 2.0],
        [3.0, 4.0],
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"data": []},
        {"data": [{"index": 0}]},
        {"data": [{"index": 0, "embedding": "not base64!"}]},
        {"data": [{"index": 0, "embedding": base64.b64encode(b"abcde").decode()}]},
        {"data": [{"index": 0, "embedding": ["x"]}]},
        [1.0, 2.0],
    ],
)
def test_embedding_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponseError):
        parse_embedding_response(body)

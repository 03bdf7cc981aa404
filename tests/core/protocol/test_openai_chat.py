"""OpenAI-compatible chat: request bodies, streamed chunks and non-streamed replies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.errors import (
    APIError,
    BadRequestError,
    ConfigError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from app.core.protocol.openai import (
    build_chat_body,
    is_done,
    parse_chat_chunk,
    parse_chat_response,
    stream_options_rejected,
)
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    GenerationParams,
    ImagePart,
    TextPart,
    ToolCallDelta,
    Usage,
)

HELLO = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]


# --- build_chat_body ------------------------------------------------------------------------------


def test_body_sends_only_set_params() -> None:
    body = build_chat_body("m", HELLO, GenerationParams(), stream=False)
    assert body == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
    }


def test_body_with_every_param() -> None:
    params = GenerationParams(
        temperature=0.0,  # zero is set, not "unset"
        top_p=0.9,
        top_k=40,
        max_tokens=256,
        stop=["\n\n", "END"],
        n=3,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        logit_bias={"50256": -100.0},
        user="u-1",
        seed=7,
    )
    body = build_chat_body("m", HELLO, params, stream=False)
    assert {k: v for k, v in body.items() if k not in ("model", "messages")} == {
        "temperature": 0.0,
        "top_p": 0.9,
        "top_k": 40,
        "max_tokens": 256,
        "stop": ["\n\n", "END"],
        "n": 3,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "logit_bias": {"50256": -100.0},
        "user": "u-1",
        "seed": 7,
    }
    json.dumps(body)  # the body must be JSON as it stands


def test_stop_as_a_single_string_is_sent_as_given() -> None:
    body = build_chat_body("m", HELLO, GenerationParams(stop="###"), stream=False)
    assert body["stop"] == "###"


def test_empty_stop_is_not_sent() -> None:
    assert "stop" not in build_chat_body("m", HELLO, GenerationParams(stop=[]), stream=False)
    assert "stop" not in build_chat_body("m", HELLO, GenerationParams(stop=""), stream=False)


def test_four_stops_pass_five_are_refused_with_a_sentence() -> None:
    four = ["a", "b", "c", "d"]
    assert build_chat_body("m", HELLO, GenerationParams(stop=four), stream=False)["stop"] == four
    with pytest.raises(ConfigError) as caught:
        build_chat_body("m", HELLO, GenerationParams(stop=four + ["e"]), stream=False)
    assert "At most 4 stop sequences" in caught.value.user_message
    assert "5 are set" in caught.value.user_message


@pytest.mark.parametrize("n", [0, -1, True])
def test_bad_n_is_refused(n: Any) -> None:
    with pytest.raises(ConfigError):
        build_chat_body("m", HELLO, GenerationParams(n=n), stream=False)


def test_stream_adds_stream_and_include_usage() -> None:
    body = build_chat_body("m", HELLO, GenerationParams(), stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    body = build_chat_body("m", HELLO, GenerationParams(), stream=True, include_usage=False)
    assert body["stream"] is True
    assert "stream_options" not in body
    body = build_chat_body("m", HELLO, GenerationParams(), stream=False, include_usage=True)
    assert "stream" not in body and "stream_options" not in body


def test_content_parts_text_and_images() -> None:
    message = ChatMessage(
        "user",
        [
            TextPart("What is this?"),
            ImagePart(mime="image/png", data=b"\x89PNG"),
            ImagePart(url="https://example.com/cat.jpg"),
        ],
    )
    (sent,) = build_chat_body("m", [message], GenerationParams(), stream=False)["messages"]
    assert sent == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        ],
    }


def test_image_without_data_or_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no data"):
        build_chat_body("m", [ChatMessage("user", [ImagePart()])], GenerationParams(), stream=False)


# --- parse_chat_chunk -----------------------------------------------------------------------------


def chunk(*choices: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m1",
        "choices": list(choices),
        **extra,
    }


def test_null_content_is_empty_never_the_text_null() -> None:
    (delta,) = parse_chat_chunk(
        chunk({"index": 0, "delta": {"role": "assistant", "content": None, "refusal": None}})
    )
    assert delta.content == "" and delta.refusal == "" and delta.reasoning == ""
    assert delta.model == "m1" and delta.id == "c1"
    assert delta.is_empty()


def test_content_as_list_of_parts() -> None:
    (delta,) = parse_chat_chunk(
        chunk(
            {
                "index": 0,
                "delta": {
                    "content": [
                        {"type": "text", "text": "Hel"},
                        {"type": "image_url", "image_url": {"url": "x"}},
                        {"type": "text", "text": "lo"},
                    ]
                },
            }
        )
    )
    assert delta.content == "Hello"


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_reasoning_is_kept_apart_from_content(key: str) -> None:
    (delta,) = parse_chat_chunk(
        chunk({"index": 0, "delta": {key: "Let me think", "content": None}})
    )
    assert delta.reasoning == "Let me think"
    assert delta.content == ""


def test_reasoning_sent_under_both_names_counts_once() -> None:
    (delta,) = parse_chat_chunk(
        chunk({"index": 0, "delta": {"reasoning_content": "Hmm", "reasoning": "Hmm"}})
    )
    assert delta.reasoning == "Hmm"


def test_refusal_delta() -> None:
    (delta,) = parse_chat_chunk(chunk({"index": 0, "delta": {"refusal": "I can't"}}))
    assert delta.refusal == "I can't" and delta.content == ""


def test_several_choices_by_index() -> None:
    deltas = parse_chat_chunk(
        chunk(
            {"index": 2, "delta": {"content": "c"}},
            {"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"},
        )
    )
    assert [(d.index, d.content, d.finish_reason) for d in deltas] == [
        (2, "c", None),
        (0, "a", "stop"),
    ]


def test_tool_call_deltas() -> None:
    (delta,) = parse_chat_chunk(
        chunk(
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"ci'},
                        },
                        {"index": 2, "function": {"arguments": None}},
                    ]
                },
            }
        )
    )
    assert delta.tool_calls == [
        ToolCallDelta(index=1, id="call_1", type="function", name="get_weather", arguments='{"ci'),
        ToolCallDelta(index=2, id=None, type=None, name=None, arguments=""),
    ]


def test_usage_only_chunk() -> None:
    deltas = parse_chat_chunk(
        chunk(
            usage={
                "prompt_tokens": 79,
                "completion_tokens": 11,
                "total_tokens": 90,
                "completion_tokens_details": {"reasoning_tokens": 4},
            }
        )
    )
    assert deltas == [
        ChatDelta(
            usage=Usage(
                prompt_tokens=79, completion_tokens=11, total_tokens=90, reasoning_tokens=4
            ),
            model="m1",
            id="c1",
        )
    ]


def test_usage_on_a_chunk_that_also_has_choices() -> None:
    deltas = parse_chat_chunk(
        chunk(
            {"index": 0, "delta": {}, "finish_reason": "stop"},
            usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        )
    )
    assert len(deltas) == 1
    assert deltas[0].finish_reason == "stop"
    assert deltas[0].usage == Usage(1, 2, 3, None)


def test_null_usage_and_missing_choices() -> None:
    assert parse_chat_chunk(chunk(usage=None)) == []
    assert parse_chat_chunk({"object": "chat.completion.chunk"}) == []


def test_unknown_fields_are_ignored() -> None:
    (delta,) = parse_chat_chunk(
        chunk(
            {
                "index": 0,
                "delta": {"content": "x", "audio": {"id": "a"}, "future_field": [1, 2]},
                "logprobs": {"content": []},
                "content_filter_results": {},
            },
            system_fingerprint="fp",
            service_tier="default",
        )
    )
    assert delta.content == "x"


def test_error_object_in_a_chunk_raises_the_api_error() -> None:
    with pytest.raises(ServerError) as caught:
        parse_chat_chunk(
            {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                }
            }
        )
    assert caught.value.provider_message == "The server had an error while processing your request."
    with pytest.raises(RateLimitError) as rate:
        parse_chat_chunk({"error": {"message": "Slow down", "code": "rate_limit_exceeded"}})
    assert rate.value.provider_message == "Slow down"


def test_error_text_in_a_chunk_raises() -> None:
    with pytest.raises(APIError) as caught:
        parse_chat_chunk({"error": "model crashed"})
    assert caught.value.provider_message == "model crashed"


@pytest.mark.parametrize("bad", [[], "text", 3, None, {"choices": "nope"}, {"choices": [3]}])
def test_malformed_chunks(bad: Any) -> None:
    with pytest.raises(MalformedResponseError):
        parse_chat_chunk(bad)


def test_is_done() -> None:
    assert is_done("[DONE]")
    assert is_done(" [DONE] ")
    assert not is_done('{"choices": []}')
    assert not is_done("DONE")


# --- parse_chat_response --------------------------------------------------------------------------


def test_non_streamed_reply() -> None:
    result = parse_chat_response(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "deepseek-reasoner",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Paris.",
                        "reasoning_content": "The capital of France...",
                        "refusal": None,
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": 20,
                "total_tokens": 30,
                "completion_tokens_details": {"reasoning_tokens": 15},
            },
        }
    )
    assert result.id == "chatcmpl-1" and result.model == "deepseek-reasoner"
    assert result.text == "Paris."
    assert result.choices[0].reasoning == "The capital of France..."
    assert result.choices[0].refusal == ""
    assert result.finish_reason == "stop"
    assert result.usage == Usage(10, 20, 30, 15)


def test_non_streamed_tool_calls_refusal_and_choices_in_order() -> None:
    result = parse_chat_response(
        {
            "choices": [
                {
                    "index": 1,
                    "message": {"content": None, "refusal": "I can't help."},
                    "finish_reason": "stop",
                },
                {
                    "index": 0,
                    "message": {
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_a",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                            },
                            {
                                "id": "call_b",
                                "type": "function",
                                "function": {"name": "now", "arguments": {}},
                            },
                        ],
                    },
                    "finish_reason": "tool_calls",
                },
            ]
        }
    )
    first, second = result.choices
    assert first.index == 0 and first.content == ""
    assert [(c.index, c.id, c.name, c.arguments) for c in first.tool_calls] == [
        (0, "call_a", "get_weather", '{"city":"Oslo"}'),
        (1, "call_b", "now", "{}"),
    ]
    assert second.refusal == "I can't help."
    assert result.usage is None


def test_error_body_raises_the_api_error() -> None:
    body = {
        "error": {
            "message": "This model's maximum context length is 8192 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
    with pytest.raises(BadRequestError) as caught:
        parse_chat_response(body)
    assert "8192" in (caught.value.provider_message or "")


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "text",
        None,
        {},
        {"choices": []},
        {"choices": None},
        {"id": "x", "object": "chat.completion"},
        {"choices": [1]},
    ],
)
def test_wrong_shape_is_malformed(bad: Any) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        parse_chat_response(bad)
    assert "could not be understood" in caught.value.user_message


# --- stream_options_rejected ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "Unrecognized request argument supplied: stream_options", True),
        (422, "body -> STREAM_OPTIONS: extra fields not permitted", True),
        (400, "include_usage is not supported", True),
        (400, "Invalid value for temperature", False),
        (500, "stream_options broke the server", False),
        (404, "stream_options", False),
    ],
)
def test_stream_options_rejected(status: int, message: str, expected: bool) -> None:
    err = APIError(status=status, provider_message=message)
    assert stream_options_rejected(err) is expected


def test_stream_options_rejected_without_a_provider_message() -> None:
    assert stream_options_rejected(BadRequestError(status=400)) is False

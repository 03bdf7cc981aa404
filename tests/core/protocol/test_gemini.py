"""The Gemini dialect on hand-written bodies: paths, request bodies, parsing rules, models, embeddings."""

from __future__ import annotations

import base64

import pytest

from app.core.errors import (
    APIError,
    AuthenticationError,
    ContentBlockedError,
    MalformedResponseError,
    RateLimitError,
)
from app.core.protocol import gemini
from app.core.protocol.types import (
    ChatMessage,
    GenerationParams,
    ImagePart,
    TextPart,
    Usage,
)

# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["gemini-2.5-flash", "models/gemini-2.5-flash", " /models/gemini-2.5-flash/ "]
)
def test_generate_path(model: str) -> None:
    assert gemini.generate_path(model, stream=False) == (
        "models/gemini-2.5-flash:generateContent",
        {},
    )
    assert gemini.generate_path(model, stream=True) == (
        "models/gemini-2.5-flash:streamGenerateContent",
        {"alt": "sse"},
    )


def test_generate_path_keeps_tuned_model_resource() -> None:
    assert (
        gemini.generate_path("tunedModels/my-tune", stream=False)[0]
        == "tunedModels/my-tune:generateContent"
    )


def test_embed_paths() -> None:
    assert gemini.embed_path("text-embedding-004") == "models/text-embedding-004:embedContent"
    assert (
        gemini.embed_path("models/text-embedding-004", batch=True)
        == "models/text-embedding-004:batchEmbedContents"
    )


# --- request bodies ---------------------------------------------------------------------------


def test_body_system_roles_and_merging() -> None:
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("system", "Answer in French."),
        ChatMessage("user", "Hi"),
        ChatMessage("user", "Are you there?"),
        ChatMessage("assistant", "Oui."),
        ChatMessage("assistant", ""),
        ChatMessage("user", "Merci"),
    ]
    body = gemini.build_generate_body(messages, GenerationParams())
    assert body == {
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}, {"text": "Are you there?"}]},
            {"role": "model", "parts": [{"text": "Oui."}]},
            {"role": "user", "parts": [{"text": "Merci"}]},
        ],
    }
    assert "generationConfig" not in body


def test_body_images_inline_file_and_data_url() -> None:
    png = b"\x89PNG fake"
    content = [
        TextPart("What is this?"),
        ImagePart(mime="image/png", data=png),
        ImagePart(mime="image/jpeg", url="https://example.com/cat.jpg"),
        ImagePart(url="data:image/webp;base64,UklGRg=="),
        ImagePart(),
    ]
    body = gemini.build_generate_body([ChatMessage("user", content)], GenerationParams())
    assert body["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}},
        {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
    ]


def test_generation_config_only_set_keys() -> None:
    params = GenerationParams(
        temperature=0.0,
        top_p=0.9,
        top_k=40,
        max_tokens=256,
        stop="END",
        n=2,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        seed=7,
        logit_bias={"1": 2.0},
        user="u",
    )
    config = gemini.build_generate_body([ChatMessage("user", "x")], params)["generationConfig"]
    assert config == {
        "temperature": 0.0,
        "topP": 0.9,
        "topK": 40,
        "maxOutputTokens": 256,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "seed": 7,
    }
    only = gemini.build_generate_body([ChatMessage("user", "x")], GenerationParams(stop=["a", "b"]))
    assert only["generationConfig"] == {"stopSequences": ["a", "b"]}
    empty_stop = gemini.build_generate_body([ChatMessage("user", "x")], GenerationParams(stop=[]))
    assert "generationConfig" not in empty_stop


# --- responses --------------------------------------------------------------------------------


def _cand(parts: list[dict], finish: str | None = None, index: int | None = None) -> dict:
    cand: dict = {"content": {"role": "model", "parts": parts}}
    if finish:
        cand["finishReason"] = finish
    if index is not None:
        cand["index"] = index
    return cand


def test_finish_reason_mapping() -> None:
    assert gemini.map_finish_reason("STOP") == "stop"
    assert gemini.map_finish_reason("MAX_TOKENS") == "length"
    assert gemini.map_finish_reason("MALFORMED_FUNCTION_CALL") == "malformed_function_call"
    assert gemini.map_finish_reason("FINISH_REASON_UNSPECIFIED") is None
    assert gemini.map_finish_reason(None) is None


def test_response_thoughts_usage_and_several_candidates() -> None:
    obj = {
        "candidates": [
            _cand([{"text": "second"}], "MAX_TOKENS", index=1),
            _cand([{"text": "hmm", "thought": True}, {"text": "first"}], "STOP", index=0),
        ],
        "usageMetadata": {
            "promptTokenCount": 3,
            "candidatesTokenCount": 4,
            "totalTokenCount": 12,
            "thoughtsTokenCount": 5,
        },
        "modelVersion": "gemini-x",
        "responseId": "r1",
    }
    result = gemini.parse_generate_response(obj)
    assert [(c.index, c.content, c.reasoning, c.finish_reason) for c in result.choices] == [
        (0, "first", "hmm", "stop"),
        (1, "second", "", "length"),
    ]
    assert result.usage == Usage(3, 4, 12, 5)
    assert (result.model, result.id) == ("gemini-x", "r1")


def test_function_calls_become_tool_calls() -> None:
    obj = {
        "candidates": [
            _cand(
                [
                    {"functionCall": {"name": "weather", "args": {"city": "Köln"}}},
                    {"functionCall": {"name": "time", "id": "c2"}},
                ],
                "STOP",
            )
        ]
    }
    calls = gemini.parse_generate_response(obj).choices[0].tool_calls
    assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
        (0, None, "weather", '{"city": "Köln"}'),
        (1, "c2", "time", "{}"),
    ]
    deltas = gemini.parse_stream_chunk(obj)
    assert [(t.index, t.name) for t in deltas[0].tool_calls] == [(0, "weather"), (1, "time")]


def test_code_fence_survives_backticks_in_code() -> None:
    obj = {
        "candidates": [
            _cand([{"executableCode": {"language": "PYTHON", "code": "s = '```'"}}], "STOP")
        ]
    }
    text = gemini.parse_generate_response(obj).text
    assert text == "\n````python\ns = '```'\n````\n"


def test_failed_code_execution_shows_outcome() -> None:
    obj = {
        "candidates": [
            _cand([{"codeExecutionResult": {"outcome": "OUTCOME_DEADLINE_EXCEEDED"}}], "STOP")
        ]
    }
    assert "OUTCOME_DEADLINE_EXCEEDED" in gemini.parse_generate_response(obj).text


@pytest.mark.parametrize(
    "reason", ["SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"]
)
def test_blocked_candidate_without_text_raises(reason: str) -> None:
    obj = {"candidates": [{"finishReason": reason, "safetyRatings": []}]}
    with pytest.raises(ContentBlockedError) as info:
        gemini.parse_generate_response(obj)
    assert reason.lower().replace("_", " ") in info.value.user_message
    assert info.value.code == reason


def test_blocked_stream_chunk_reports_reason_instead_of_raising() -> None:
    deltas = gemini.parse_stream_chunk({"candidates": [{"finishReason": "SAFETY"}]})
    assert [(d.content, d.finish_reason) for d in deltas] == [("", "safety")]
    assert "safety" in gemini.BLOCKED_FINISH_REASONS


def test_prompt_feedback_block_reason_raises_naming_it() -> None:
    obj = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 4},
    }
    for parse in (gemini.parse_generate_response, gemini.parse_stream_chunk):
        with pytest.raises(ContentBlockedError) as info:
            parse(obj)
        assert "prohibited content" in info.value.user_message


def test_empty_stop_reply_is_not_an_error() -> None:
    result = gemini.parse_generate_response(
        {"candidates": [{"content": {"role": "model"}, "finishReason": "STOP"}]}
    )
    assert result.text == ""
    assert result.finish_reason == "stop"


def test_no_candidates_at_all_is_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        gemini.parse_generate_response({"modelVersion": "x"})
    with pytest.raises(MalformedResponseError):
        gemini.parse_generate_response("not an object")
    with pytest.raises(MalformedResponseError):
        gemini.parse_generate_response({"candidates": "oops"})


def test_usage_only_stream_chunk() -> None:
    deltas = gemini.parse_stream_chunk(
        {"usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 1}}
    )
    assert len(deltas) == 1
    assert deltas[0].usage == Usage(1, None, 1, None)
    assert deltas[0].content == ""


def test_error_objects_raise_their_class() -> None:
    with pytest.raises(RateLimitError):
        gemini.parse_stream_chunk(
            {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "q"}}
        )
    with pytest.raises(AuthenticationError):
        gemini.parse_generate_response(
            [{"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "x"}}]
        )


def test_grounding_and_citations_are_ignored() -> None:
    obj = {
        "candidates": [
            {
                **_cand([{"text": "cited"}], "STOP"),
                "citationMetadata": {"citationSources": [{"startIndex": 0}]},
                "groundingMetadata": {"groundingChunks": [{"web": {}}], "webSearchQueries": None},
                "urlContextMetadata": {},
            }
        ]
    }
    assert gemini.parse_generate_response(obj).text == "cited"


def test_finish_other_without_content_raises_api_error() -> None:
    with pytest.raises(APIError) as info:
        gemini.parse_generate_response(
            {"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]}
        )
    assert "malformed_function_call" in info.value.user_message


# --- models and embeddings --------------------------------------------------------------------


def test_parse_models() -> None:
    obj = {
        "models": [
            {
                "name": "models/gemini-2.5-flash",
                "displayName": "Gemini 2.5 Flash",
                "inputTokenLimit": 1048576,
                "supportedGenerationMethods": [
                    "generateContent",
                    "countTokens",
                    "streamGenerateContent",
                ],
            },
            {
                "name": "models/text-embedding-004",
                "displayName": "Text Embedding 004",
                "inputTokenLimit": 2048,
                "supportedGenerationMethods": ["embedContent"],
            },
            {"name": "models/imagen-3.0-generate-002", "supportedGenerationMethods": ["predict"]},
            {
                "name": "models/veo-2.0-generate-001",
                "supportedGenerationMethods": ["predictLongRunning"],
            },
            {
                "name": "models/gemini-2.5-flash-image",
                "supportedGenerationMethods": ["generateContent"],
            },
            {"displayName": "nameless"},
            "junk",
        ],
        "nextPageToken": "abc",
    }
    models = gemini.parse_models(obj)
    by_id = {m.id: m for m in models}
    assert list(by_id) == [
        "gemini-2.5-flash",
        "text-embedding-004",
        "imagen-3.0-generate-002",
        "veo-2.0-generate-001",
        "gemini-2.5-flash-image",
        "junk",
    ]
    flash = by_id["gemini-2.5-flash"]
    assert (flash.display_name, flash.context_window, flash.capabilities) == (
        "Gemini 2.5 Flash",
        1048576,
        frozenset({"chat"}),
    )
    assert by_id["text-embedding-004"].capabilities == frozenset({"embedding"})
    assert by_id["imagen-3.0-generate-002"].capabilities == frozenset({"image"})
    assert by_id["veo-2.0-generate-001"].capabilities == frozenset({"video"})
    assert by_id["gemini-2.5-flash-image"].capabilities == frozenset({"chat", "image"})
    assert by_id["junk"].capabilities == frozenset()


def test_parse_models_errors() -> None:
    assert gemini.parse_models({"models": []}) == []
    with pytest.raises(MalformedResponseError):
        gemini.parse_models({"nothing": 1})
    with pytest.raises(AuthenticationError):
        gemini.parse_models(
            {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "no"}}
        )


def test_embed_bodies_and_responses() -> None:
    assert gemini.build_embed_body("text-embedding-004", "hello") == {
        "model": "models/text-embedding-004",
        "content": {"parts": [{"text": "hello"}]},
    }
    batch = gemini.build_batch_embed_body("models/text-embedding-004", ["a", "b"])
    assert batch == {
        "requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}},
        ]
    }
    assert gemini.parse_embed_response({"embedding": {"values": [0.5, 1, -2]}}).vectors == [
        [0.5, 1.0, -2.0]
    ]
    assert gemini.parse_embed_response(
        {"embeddings": [{"values": [1]}, {"values": [2]}]}
    ).vectors == [[1.0], [2.0]]
    with pytest.raises(MalformedResponseError):
        gemini.parse_embed_response({"embedding": {"values": ["x"]}})
    with pytest.raises(MalformedResponseError):
        gemini.parse_embed_response({"vectors": []})
    with pytest.raises(APIError):
        gemini.parse_embed_response(
            {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}
        )

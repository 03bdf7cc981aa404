"""Each seed's dialect, enforced by the demo server, proved with raw HTTP (httpx's sync client):
the exact paths and prefixes, trailing slashes, required headers, image size styles, the Gemini
auth header, rate-limit headers and error shapes. Request bodies are the seeds' own examples."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from app.core.demo import DemoServer

pytestmark = pytest.mark.e2e

MELANCHOLY_UA = {"User-Agent": "MelancholyAI-Client"}


@pytest.fixture
def http(demo_server: DemoServer, demo_api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {demo_api_key}"}, timeout=10.0) as client:
        yield client


@pytest.fixture
def bare() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as client:
        yield client


def sse_data(body: str) -> list[str]:
    return [
        line[len("data: ") :]
        for block in body.replace("\r\n", "\n").split("\n\n")
        for line in block.split("\n")
        if line.startswith("data: ")
    ]


# --- seed 000: Mollyra, /v1 -------------------------------------------------------------------


def test_mollyra_chat_images_embeddings(demo_server: DemoServer, http: httpx.Client) -> None:
    base = demo_server.base_url("mollyra")
    assert base.endswith("/v1") and base == demo_server.base_url("openai")
    chat = http.post(
        base + "/chat/completions",
        json={
            "model": "gpt-4-turbo",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Hello!"},
            ],
            "temperature": 0.7,
            "max_tokens": 1000,
        },
    ).json()
    assert chat["object"] == "chat.completion" and chat["model"] == "gpt-4-turbo"
    assert chat["choices"][0]["message"]["role"] == "assistant"
    assert chat["choices"][0]["finish_reason"] == "stop"
    assert set(chat["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    images = http.post(
        base + "/images/generations",
        json={
            "prompt": "A futuristic cyberpunk city, purple and cyan",
            "model": "dall-e-3",
            "n": 1,
            "size": "256x256",
        },
    ).json()
    png = http.get(images["data"][0]["url"])
    image = Image.open(io.BytesIO(png.content))
    assert image.size == (256, 256)
    assert image.convert("RGB").getpixel((0, 0)) == (128, 60, 200)  # purple, from the prompt
    embeddings = http.post(
        base + "/embeddings", json={"input": "hello", "model": "text-embedding-3-small"}
    ).json()
    assert len(embeddings["data"][0]["embedding"]) == 64


# --- seed 001: the gateway, /api/v1 and /api/v1beta -------------------------------------------


def test_gateway_openai_routes_carry_rate_limit_headers(
    demo_server: DemoServer, http: httpx.Client, bare: httpx.Client
) -> None:
    base = demo_server.base_url("gateway")
    assert base.endswith("/api/v1")
    models = http.get(base + "/models")
    ids = [m["id"] for m in models.json()["data"]]
    assert "gpt-4o" in ids and "claude-sonnet-4-20250514" in ids
    chat = http.post(
        base + "/chat/completions",
        json={
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            "temperature": 0.7,
            "max_tokens": 512,
            "stream": False,
        },
    )
    unauthorised = bare.post(base + "/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["code"] == "invalid_api_key"
    now = time.time()
    remaining = []
    for response in (models, chat, unauthorised):
        assert response.headers["X-RateLimit-Limit-Requests"] == str(demo_server.gateway_rpm)
        remaining.append(int(response.headers["X-RateLimit-Remaining-Requests"]))
        reset = int(response.headers["X-RateLimit-Reset-Requests"])
        assert now < reset <= now + 61  # an absolute UTC epoch, not a duration
    assert remaining == sorted(remaining, reverse=True) and remaining[0] > remaining[-1]
    # Only the gateway sends them.
    assert (
        "X-RateLimit-Limit-Requests"
        not in http.get(demo_server.base_url("openai") + "/models").headers
    )


def test_gateway_limits_requests_per_minute(demo_server_factory, demo_api_key: str) -> None:  # type: ignore[no-untyped-def]
    server = demo_server_factory(gateway_rpm=2)
    with httpx.Client(headers={"Authorization": f"Bearer {demo_api_key}"}) as client:
        statuses = [client.get(server.base_url("gateway") + "/models") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[-1]
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining-Requests"] == "0"


def test_gateway_gemini_endpoint_needs_x_goog_api_key(
    demo_server: DemoServer, demo_api_key: str, http: httpx.Client, bare: httpx.Client
) -> None:
    base = demo_server.base_url("gateway-gemini")
    assert base.endswith("/api/v1beta")
    url = base + "/models/gemini-2.5-pro:generateContent"
    body = {"contents": [{"parts": [{"text": "Explain quantum entanglement simply."}]}]}
    ok = bare.post(url, json=body, headers={"x-goog-api-key": demo_api_key})
    assert ok.status_code == 200
    reply = ok.json()
    assert reply["candidates"][0]["content"]["role"] == "model"
    assert reply["candidates"][0]["finishReason"] == "STOP"
    assert reply["candidates"][0]["content"]["parts"][0]["text"]
    assert set(reply["usageMetadata"]) >= {
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
    }
    assert "X-RateLimit-Remaining-Requests" in ok.headers
    bearer = http.post(url, json=body)  # Authorization: Bearer, the OpenAI habit
    assert bearer.status_code == 401
    assert (
        bearer.json()["error"]["status"] == "UNAUTHENTICATED"
        and bearer.json()["error"]["code"] == 401
    )
    wrong = bare.post(url, json=body, headers={"x-goog-api-key": "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["status"] == "UNAUTHENTICATED"
    models = bare.get(base + "/models", headers={"x-goog-api-key": demo_api_key}).json()
    assert any(m["name"] == "models/gemini-2.5-flash" for m in models["models"])
    assert "generateContent" in models["models"][0]["supportedGenerationMethods"]


def test_gateway_gemini_stream_uses_crlf_and_no_done(
    demo_server: DemoServer, demo_api_key: str, bare: httpx.Client
) -> None:
    url = demo_server.base_url("gateway-gemini") + "/models/gemini-2.5-flash:streamGenerateContent"
    response = bare.post(
        url,
        params={"alt": "sse"},
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        headers={"x-goog-api-key": demo_api_key},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("data: {") and response.text.endswith("}\r\n\r\n")
    assert "\n\n" not in response.text.replace("\r\n\r\n", "")
    chunks = [json.loads(d) for d in sse_data(response.text)]
    assert "[DONE]" not in response.text
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "candidatesTokenCount" in chunks[-1]["usageMetadata"]


# --- seed 002: sizes as 1024*1024, base64 images, flat errors -----------------------------------


def test_siliconlike_images_use_star_sizes_and_b64(
    demo_server: DemoServer, http: httpx.Client
) -> None:
    url = demo_server.base_url("siliconlike") + "/images/generations"
    body = {
        "model": "stabilityai/stable-diffusion-xl-base-1.0",
        "prompt": "A beautiful sunset over the ocean",
        "n": 1,
        "size": "128*96",
        "response_format": "b64_json",
    }
    item = http.post(url, json=body).json()["data"][0]
    assert item["url"] is None
    assert Image.open(io.BytesIO(base64.b64decode(item["b64_json"]))).size == (128, 96)
    # Default response_format is b64_json too (and url is never used).
    default = http.post(
        url, json={"model": "m", "prompt": "p", "size": "32*32", "response_format": "url"}
    ).json()
    assert default["data"][0]["b64_json"] and default["data"][0]["url"] is None
    wrong = http.post(url, json={**body, "size": "1024x1024"})
    assert wrong.status_code == 400
    error = wrong.json()
    assert error["object"] == "error" and "1024*1024" in error["message"]
    assert set(error) == {"object", "message", "type", "code"}


def test_siliconlike_chat_completions_embeddings(
    demo_server: DemoServer, http: httpx.Client
) -> None:
    base = demo_server.base_url("siliconlike")
    common = {
        "model": "meta-llama/Meta-Llama-3-70B-Instruct",
        "temperature": 0.7,
        "top_p": 0.9,
        "n": 1,
        "stream": False,
        "stop": ["\n"],
        "max_tokens": 1000,
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "logit_bias": {},
        "user": "user-123",
    }
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Please say hello."},
    ]
    chat = http.post(base + "/chat/completions", json={**common, "messages": messages}).json()
    assert "\n" not in chat["choices"][0]["message"]["content"]  # the seed's stop ["\n"]
    completion = http.post(
        base + "/completions", json={**common, "prompt": "Say this is a test"}
    ).json()
    assert completion["choices"][0]["text"] and completion["choices"][0]["finish_reason"] == "stop"
    embeddings = http.post(
        base + "/embeddings",
        json={"input": ["The food was delicious and the waiter."], "model": "intfloat/e5-large-v2"},
    ).json()
    assert embeddings["data"][0]["index"] == 0
    unauthorised = httpx.post(base + "/embeddings", json={"input": ["x"]})
    assert unauthorised.status_code == 401 and unauthorised.json()["object"] == "error"


# --- seed 003: top_k, max_tokens 1..4096 -------------------------------------------------------


def test_horay_accepts_top_k_and_enforces_max_tokens(
    demo_server: DemoServer, http: httpx.Client
) -> None:
    url = demo_server.base_url("horay") + "/chat/completions"
    assert url.endswith("/horay/v1/chat/completions")
    body = {
        "model": "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "messages": [{"role": "user", "content": "What impact will it have on the industry?"}],
        "stream": False,
        "max_tokens": 512,
        "stop": ["<string>"],
        "temperature": 0.7,
        "top_p": 0.7,
        "top_k": 50,
        "frequency_penalty": 0.5,
        "n": 1,
    }
    ok = http.post(url, json=body)
    assert ok.status_code == 200 and ok.json()["object"] == "chat.completion"
    assert http.post(url, json={**body, "max_tokens": 4096}).status_code == 200
    for bad in (0, 4097):
        rejected = http.post(url, json={**body, "max_tokens": bad})
        assert rejected.status_code == 400
        assert "max_tokens" in rejected.json()["error"]["message"]
    stream = http.post(url, json={**body, "stream": True})
    assert sse_data(stream.text)[-1] == "[DONE]"
    # The plain OpenAI flavour has no such upper bound.
    assert (
        http.post(
            demo_server.base_url() + "/chat/completions", json={**body, "max_tokens": 5000}
        ).status_code
        == 200
    )


# --- seed 004: trailing slashes, User-Agent, video tasks ----------------------------------------


def test_melancholy_needs_trailing_slashes(demo_server: DemoServer, http: httpx.Client) -> None:
    base = demo_server.base_url("melancholy")
    assert base.endswith("/melancholy/api/v1")
    body = {"model": "qwen3-max", "messages": [{"role": "user", "content": "Hello, how are you?"}]}
    assert http.post(base + "/chat/completions/", json=body).status_code == 200
    without = http.post(base + "/chat/completions", json=body)
    assert without.status_code == 404  # not a redirect: the trailing slash is the client's job
    stream = http.post(base + "/chat/completions/", json={**body, "stream": True})
    lines = [line for line in stream.text.splitlines() if line]
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)
    image_body = {
        "prompt": "A futuristic city at sunset with flying cars",
        "n": 1,
        "model": "flux",
        "size": "64x64",
    }
    assert (
        http.post(base + "/images/generations", json=image_body, headers=MELANCHOLY_UA).status_code
        == 404
    )


def test_melancholy_media_needs_its_user_agent(demo_server: DemoServer, http: httpx.Client) -> None:
    base = demo_server.base_url("melancholy")
    image_body = {
        "prompt": "A futuristic city at sunset with flying cars",
        "n": 1,
        "model": "flux",
        "size": "64x64",
    }
    forbidden = http.post(base + "/images/generations/", json=image_body)
    assert forbidden.status_code == 403
    assert "MelancholyAI-Client" in forbidden.json()["error"]["message"]
    image = http.post(base + "/images/generations/", json=image_body, headers=MELANCHOLY_UA)
    assert image.status_code == 200 and image.json()["data"][0]["url"]
    chat = {"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]}
    assert (
        http.post(base + "/chat/completions/", json=chat, headers={"User-Agent": "x"}).status_code
        == 200
    )


def test_melancholy_video_task_lifecycle(demo_server: DemoServer, http: httpx.Client) -> None:
    demo_server.video_seconds = 0.0  # completes at once: no waiting in tests
    base = demo_server.base_url("melancholy")
    body = {
        "model": "google/veo-3-1-fast",
        "input": {
            "prompt": "A drone shot flying over a tropical beach with crystal clear water",
            "aspect_ratio": "LANDSCAPE",
            "video_generate_type": "text_to_video",
        },
    }
    assert http.post(base + "/video/generations/", json=body).status_code == 403
    assert (
        http.post(base + "/video/generations", json=body, headers=MELANCHOLY_UA).status_code == 404
    )
    created = http.post(base + "/video/generations/", json=body, headers=MELANCHOLY_UA).json()
    assert set(created) == {"task_id"}
    status_url = f"{base}/video/generations/{created['task_id']}"
    assert http.get(status_url).status_code == 403
    status = http.get(status_url, headers=MELANCHOLY_UA).json()
    assert status["status"] == "COMPLETED"
    video = http.get(status["video_url"])
    assert video.headers["content-type"] == "video/mp4" and video.content
    failing = http.post(
        base + "/video/generations/",
        json={**body, "input": {"prompt": "fail please"}},
        headers=MELANCHOLY_UA,
    ).json()
    failed = http.get(
        f"{base}/video/generations/{failing['task_id']}", headers=MELANCHOLY_UA
    ).json()
    assert failed["status"] == "FAILED" and failed["error"]


# --- native Gemini ------------------------------------------------------------------------------


def test_native_gemini_routes_and_auth(
    demo_server: DemoServer, demo_api_key: str, bare: httpx.Client
) -> None:
    base = demo_server.base_url("gemini")
    key = {"x-goog-api-key": demo_api_key}
    body = {
        "contents": [{"role": "user", "parts": [{"text": "What is the capital of Wyoming?"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"maxOutputTokens": 4, "candidateCount": 2},
    }
    reply = bare.post(base + "/models/demo-chat:generateContent", json=body, headers=key).json()
    assert [c["index"] for c in reply["candidates"]] == [0, 1]
    assert reply["candidates"][0]["finishReason"] == "MAX_TOKENS"
    as_array = bare.post(
        base + "/models/demo-chat:streamGenerateContent", json=body, headers=key
    ).json()
    assert isinstance(as_array, list) and as_array[-1]["usageMetadata"]["candidatesTokenCount"] == 8
    by_query = bare.post(
        base + "/models/demo-chat:generateContent", params={"key": demo_api_key}, json=body
    )
    assert by_query.status_code == 200
    invalid = bare.post(
        base + "/models/demo-chat:generateContent", json=body, headers={"x-goog-api-key": "nope"}
    )
    assert invalid.status_code == 400
    assert invalid.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    missing = bare.post(base + "/models/demo-chat:generateContent", json=body)
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    assert demo_api_key not in repr(demo_server.requests.snapshot())


def test_native_gemini_thinking_blocking_and_embeddings(
    demo_server: DemoServer, demo_api_key: str, bare: httpx.Client
) -> None:
    base = demo_server.base_url("gemini")
    key = {"x-goog-api-key": demo_api_key}
    thinking = bare.post(
        base + "/models/demo-thinking:generateContent",
        json={"contents": [{"parts": [{"text": "Where is Google's headquarters?"}]}]},
        headers=key,
    ).json()
    parts = thinking["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and "thought" not in parts[1]
    assert thinking["usageMetadata"]["thoughtsTokenCount"] > 0
    blocked = bare.post(
        base + "/models/demo-chat:generateContent",
        json={"contents": [{"parts": [{"text": "[blocked] something"}]}]},
        headers=key,
    ).json()
    assert "candidates" not in blocked and blocked["promptFeedback"]["blockReason"] == "SAFETY"
    one = bare.post(
        base + "/models/text-embedding-004:embedContent",
        json={"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello"}]}},
        headers=key,
    ).json()
    batch = bare.post(
        base + "/models/text-embedding-004:batchEmbedContents",
        json={
            "requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello"}]}},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "bye"}]}},
            ]
        },
        headers=key,
    ).json()
    assert batch["embeddings"][0]["values"] == one["embedding"]["values"]
    assert len(batch["embeddings"]) == 2
    # Gemini-compatible gateways do not offer embeddings.
    assert (
        bare.post(
            demo_server.base_url("gateway-gemini") + "/models/text-embedding-004:embedContent",
            json={"content": {"parts": [{"text": "hello"}]}},
            headers=key,
        ).status_code
        == 404
    )


def test_stream_faults_apply_to_gemini_streams(
    demo_server: DemoServer, demo_api_key: str, bare: httpx.Client
) -> None:
    demo_server.faults.add(path_contains=":streamGenerateContent", error_event_after=1, times=1)
    url = demo_server.base_url("gemini") + "/models/demo-chat:streamGenerateContent"
    response = bare.post(
        url,
        params={"alt": "sse"},
        json={"contents": [{"parts": [{"text": "hi"}]}]},
        headers={"x-goog-api-key": demo_api_key},
    )
    data = sse_data(response.text)
    assert len(data) == 2 and json.loads(data[1])["error"]["status"] == "INTERNAL"

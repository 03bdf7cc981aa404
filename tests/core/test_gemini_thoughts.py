"""Gemini thought summaries: `thinkingConfig.includeThoughts` for thinking models, and the one
retry without it when a server refuses it (remembered per client and model).

Pure body building, the client against httpx.MockTransport, and the client against the demo
server's Gemini routes on loopback (which refuse `thinkingConfig` for "nothink" models).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from app.core.client import ProviderClient
from app.core.demo import DemoServer
from app.core.errors import APIError, RateLimitError, ServerError
from app.core.protocol import gemini
from app.core.protocol.types import ChatDelta, ChatMessage, GenerationParams
from app.core.providers import Dialect, ProviderProfile

KEY = "AIzaThoughtsTestKey0123456789abcd"
MSGS = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi")]
SSE = {"content-type": "text/event-stream"}
THOUGHTS = {"thinkingConfig": {"includeThoughts": True}}
REFUSAL = {
    "error": {
        "code": 400,
        "message": "Unable to submit request because thinking is not supported by this model.",
        "status": "INVALID_ARGUMENT",
    }
}
REPLY = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "Hello there."}]},
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
}


# --- the request body -------------------------------------------------------------------------


def test_the_body_asks_for_thoughts_only_when_told() -> None:
    plain = gemini.build_generate_body(MSGS, GenerationParams())
    assert plain == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
    }
    asked = gemini.build_generate_body(MSGS, GenerationParams(), include_thoughts=True)
    assert asked == {**plain, "generationConfig": THOUGHTS}


def test_thoughts_sit_beside_the_sampling_parameters() -> None:
    params = GenerationParams(temperature=0.3, max_tokens=64, stop="END")
    body = gemini.build_generate_body(MSGS, params, include_thoughts=True)
    assert body["generationConfig"] == {
        "temperature": 0.3,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
        "thinkingConfig": {"includeThoughts": True},
    }
    off = gemini.build_generate_body(MSGS, params, include_thoughts=False)
    assert off["generationConfig"] == {
        "temperature": 0.3,
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
    }


@pytest.mark.parametrize(
    ("model", "thinks"),
    [
        ("gemini-2.5-flash", True),
        ("gemini-2.5-pro", True),
        ("models/gemini-2.5-flash-lite", True),
        ("Models/Gemini-2.5-Pro", True),
        ("gemini-3-pro-preview", True),
        ("GEMINI-3.0-flash", True),
        ("gemini-2.0-flash-thinking-exp-01-21", True),
        ("demo-thinking", True),
        (" models/demo-Thinking ", True),
        ("gemini-2.0-flash", False),
        ("gemini-1.5-pro", False),
        ("models/gemini-2.0-flash-lite", False),
        ("demo-chat", False),
        ("demo-gemini-nothink", False),
        ("gemma-3-27b-it", False),
        ("", False),
    ],
)
def test_which_models_are_asked_for_thoughts(model: str, thinks: bool) -> None:
    assert gemini.model_thinks(model) is thinks


@pytest.mark.parametrize(
    ("error", "rejected"),
    [
        (
            APIError("x", status=400, provider_message="Thinking is not supported by this model."),
            True,
        ),
        (APIError("x", status=400, provider_message="thinking_config is not supported"), True),
        (
            APIError(
                "x",
                status=400,
                provider_message='Invalid JSON payload received. Unknown name "includeThoughts"',
            ),
            True,
        ),
        (APIError("x", status=400, provider_message="Unknown field include_thoughts"), True),
        (APIError("x", status=400, provider_message="contents is not specified"), False),
        (APIError("x", status=400, provider_message=None), False),
        (ServerError("x", status=500, provider_message="thinking failed"), False),
        (RateLimitError("x", status=429, provider_message="thinking quota exceeded"), False),
        (APIError("x", status=422, provider_message="thinkingConfig"), False),
    ],
)
def test_which_errors_mean_thinking_config_was_refused(error: APIError, rejected: bool) -> None:
    assert gemini.thinking_config_rejected(error) is rejected


# --- the client against a mock transport ------------------------------------------------------


class Server:
    """A MockTransport handler: refuses `thinkingConfig` for the models in `refuses`."""

    def __init__(self, *refuses: str, always: int | None = None) -> None:
        self.refuses = set(refuses)
        self.always = always  # answer every request with this status (an unrelated failure)
        self.requests: list[httpx.Request] = []

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def models(self) -> list[str]:
        return [r.url.path.rsplit("/", 1)[-1].split(":")[0] for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        model = request.url.path.rsplit("/", 1)[-1].split(":")[0]
        if self.always is not None:
            return httpx.Response(self.always, json=REFUSAL)
        if "thinkingConfig" in body.get("generationConfig", {}) and model in self.refuses:
            return httpx.Response(400, json=REFUSAL)
        if request.url.path.endswith(":streamGenerateContent"):
            return httpx.Response(
                200, headers=SSE, content=f"data: {json.dumps(REPLY)}\r\n\r\n".encode()
            )
        return httpx.Response(200, json=REPLY)


def gemini_client(handler: Callable[[httpx.Request], httpx.Response]) -> ProviderClient:
    profile = ProviderProfile(
        name="Gemini test",
        base_url="https://generativelanguage.example.com",
        dialect=Dialect.GEMINI,
        max_retries=0,
    )
    return ProviderClient(profile, KEY, transport=httpx.MockTransport(handler))


async def text_of(stream: AsyncIterator[ChatDelta]) -> str:
    return "".join([d.content async for d in stream])


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "unary"])
def test_a_thinking_model_is_asked_for_thoughts(arun: Callable[..., Any], stream: bool) -> None:
    server = Server()

    async def go() -> None:
        async with gemini_client(server) as client:
            assert client.asks_for_thoughts("gemini-2.5-flash")
            assert not client.asks_for_thoughts("gemini-2.0-flash")
            for model in ("gemini-2.5-flash", "gemini-2.0-flash"):
                if stream:
                    assert (
                        await text_of(client.chat_stream(model, MSGS, GenerationParams()))
                        == "Hello there."
                    )
                else:
                    assert (
                        await client.chat(model, MSGS, GenerationParams())
                    ).text == "Hello there."

    arun(go())
    first, second = server.bodies()
    assert first["generationConfig"] == THOUGHTS
    assert "generationConfig" not in second


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "unary"])
def test_a_refused_thinking_config_is_retried_once_without_it_and_remembered(
    arun: Callable[..., Any], stream: bool
) -> None:
    server = Server("gemini-2.5-flash-image")
    params = GenerationParams(temperature=0.5)

    async def ask(client: ProviderClient, model: str) -> str:
        if stream:
            return await text_of(client.chat_stream(model, MSGS, params))
        return (await client.chat(model, MSGS, params)).text

    async def go() -> None:
        async with gemini_client(server) as client:
            assert await ask(client, "gemini-2.5-flash-image") == "Hello there."
            assert not client.asks_for_thoughts("gemini-2.5-flash-image")
            assert not client.asks_for_thoughts("models/Gemini-2.5-Flash-Image")
            # Remembered: the next request for that model goes without it at once.
            assert await ask(client, "gemini-2.5-flash-image") == "Hello there."
            # Other models of the same client are still asked.
            assert client.asks_for_thoughts("gemini-2.5-pro")
            assert await ask(client, "gemini-2.5-pro") == "Hello there."
        # A new client (another profile, or after a restart) asks again.
        async with gemini_client(server) as fresh:
            assert fresh.asks_for_thoughts("gemini-2.5-flash-image")

    arun(go())
    assert server.models() == [
        "gemini-2.5-flash-image",
        "gemini-2.5-flash-image",
        "gemini-2.5-flash-image",
        "gemini-2.5-pro",
    ]
    configs = [b["generationConfig"] for b in server.bodies()]
    assert configs == [
        {"temperature": 0.5, **THOUGHTS},
        {"temperature": 0.5},
        {"temperature": 0.5},
        {"temperature": 0.5, **THOUGHTS},
    ]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "unary"])
def test_the_fallback_happens_once_only(arun: Callable[..., Any], stream: bool) -> None:
    # A server that keeps answering the same refusal, with or without thinkingConfig.
    server = Server(always=400)

    async def go() -> None:
        async with gemini_client(server) as client:
            with pytest.raises(APIError) as caught:
                if stream:
                    await text_of(client.chat_stream("gemini-2.5-pro", MSGS, GenerationParams()))
                else:
                    await client.chat("gemini-2.5-pro", MSGS, GenerationParams())
            assert caught.value.status == 400

    arun(go())
    assert len(server.requests) == 2
    first, second = server.bodies()
    assert first["generationConfig"] == THOUGHTS and "generationConfig" not in second


def test_other_errors_are_not_a_reason_to_drop_thoughts(arun: Callable[..., Any]) -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(
            400,
            json={
                "error": {
                    "code": 400,
                    "message": "contents is not specified",
                    "status": "INVALID_ARGUMENT",
                }
            },
        )

    async def go() -> None:
        async with gemini_client(handler) as client:
            with pytest.raises(APIError):
                await text_of(client.chat_stream("gemini-2.5-pro", MSGS, GenerationParams()))
            assert client.asks_for_thoughts("gemini-2.5-pro")

    arun(go())
    assert [b["generationConfig"] for b in sent] == [THOUGHTS]


# --- the client against the demo server -------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0) as srv:
        yield srv


@pytest.fixture
def profile(demo: DemoServer) -> ProviderProfile:
    demo.reset()
    found = next(p for p in demo.profiles() if p.id == "demo-gemini")
    return dataclasses.replace(found, max_retries=0)


def demo_generate(demo: DemoServer) -> list[tuple[str, dict[str, Any]]]:
    """(model:verb, generationConfig) of every generate request the demo saw, oldest first."""
    return [
        (r.path.rsplit("/", 1)[-1], (r.json or {}).get("generationConfig", {}))
        for r in demo.requests.find("/gemini/v1beta/models/", method="POST")
    ]


def test_the_demo_refuses_thinking_config_for_a_nothink_model(
    demo: DemoServer, profile: ProviderProfile
) -> None:
    url = demo.base_url("gemini") + "/models/demo-gemini-nothink:generateContent"
    headers = {"x-goog-api-key": KEY}
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    with httpx.Client() as http:
        refused = http.post(url, headers=headers, json={**body, "generationConfig": THOUGHTS})
        plain = http.post(url, headers=headers, json=body)
        thinking = http.post(
            demo.base_url("gemini") + "/models/demo-thinking:generateContent",
            headers=headers,
            json={**body, "generationConfig": THOUGHTS},
        )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and "thinking" in error["message"]
    assert plain.status_code == 200 and plain.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert thinking.status_code == 200
    parts = thinking.json()["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and parts[0]["text"] and "thought" not in parts[1]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "unary"])
def test_the_client_falls_back_against_the_demo_server(
    demo: DemoServer, profile: ProviderProfile, arun: Callable[..., Any], stream: bool
) -> None:
    verb = "streamGenerateContent" if stream else "generateContent"

    async def go() -> None:
        async with ProviderClient(profile, KEY) as client:
            for model in ("gemini-2.5-flash-nothink", "gemini-2.5-flash-nothink", "demo-thinking"):
                if stream:
                    deltas = [d async for d in client.chat_stream(model, MSGS, GenerationParams())]
                    content = "".join(d.content for d in deltas)
                    reasoning = "".join(d.reasoning for d in deltas)
                else:
                    result = await client.chat(model, MSGS, GenerationParams())
                    content, reasoning = result.text, result.choices[0].reasoning
                assert content
                # The demo's thinking model sends its thoughts; the nothink one has none.
                assert bool(reasoning) is (model == "demo-thinking")

    arun(go())
    assert demo_generate(demo) == [
        (f"gemini-2.5-flash-nothink:{verb}", THOUGHTS),  # refused with a 400
        (f"gemini-2.5-flash-nothink:{verb}", {}),  # the one retry, accepted
        (f"gemini-2.5-flash-nothink:{verb}", {}),  # remembered
        (f"demo-thinking:{verb}", THOUGHTS),
    ]

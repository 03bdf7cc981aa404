"""The app's own presets for each seed, driving the real ProviderClient against the DemoServer.

Each test builds a profile with `providers.new_profile_from_preset(<seed preset>)`, keeps every
quirk the preset sets (dialect, trailing slash, User-Agent, size style, response format, video
dialect, default models) and only swaps the documented host for the loopback server — so a wrong
preset fails here. The server's request log then shows what went over the wire: the exact paths
(trailing slashes included), the auth header of each dialect, the User-Agent and the JSON bodies,
which must carry only the parameters that were set.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from app.core.client import ProviderClient
from app.core.demo import DemoServer
from app.core.demo.faults import RecordedRequest
from app.core.demo.wire import FLAVOURS
from app.core.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
)
from app.core.protocol.types import (
    ChatMessage,
    EmbeddingRequest,
    GenerationParams,
    ImageRequest,
    RateLimitInfo,
    VideoRequest,
    VideoState,
)
from app.core.providers import Dialect, ProviderProfile, new_profile_from_preset
from tests.e2e.helpers import seed_profile

from .conftest import DEMO_API_KEY

pytestmark = pytest.mark.e2e

MELANCHOLY_UA = "MelancholyAI-Client"
Arun = Callable[..., Any]


@dataclass(frozen=True)
class Seed:
    preset: str
    flavour: str
    chat_path: str  # the exact path of chat requests, as the seed documents it


SEEDS = [
    Seed("mollyra", "mollyra", "/v1/chat/completions"),  # seed 000
    Seed("gateway", "gateway", "/api/v1/chat/completions"),  # seed 001
    Seed(
        "gateway-gemini",
        "gateway-gemini",
        "/api/v1beta/models/gemini-2.5-pro:generateContent",  # seed 001, Gemini-compatible
    ),
    Seed("star-sizes", "siliconlike", "/siliconlike/v1/chat/completions"),  # seed 002
    Seed("horay", "horay", "/horay/v1/chat/completions"),  # seed 003
    Seed("melancholy", "melancholy", "/melancholy/api/v1/chat/completions/"),  # seed 004
]




def only(server: DemoServer, method: str | None = None) -> RecordedRequest:
    """The single request the server logged (cleared before each step)."""
    seen = [r for r in server.requests.snapshot() if method is None or r.method == method]
    assert len(seen) == 1, [(r.method, r.path) for r in seen]
    server.requests.clear()
    return seen[0]


def assert_auth(request: RecordedRequest, profile: ProviderProfile) -> None:
    """The dialect's auth header only, with the right key; the profile's User-Agent if any."""
    assert request.auth_present and request.auth_valid is True
    if profile.dialect == Dialect.GEMINI:
        assert request.headers.get("x-goog-api-key") == "<redacted>"
        assert "authorization" not in request.headers
    else:
        assert request.headers.get("authorization") == "<redacted>"
        assert "x-goog-api-key" not in request.headers
    agent = profile.extra_headers.get("User-Agent")
    if agent is not None:
        assert request.headers.get("user-agent") == agent


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


# --- chat, streamed and not, for every seed ---------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS, ids=[s.preset for s in SEEDS])
def test_preset_lists_models_and_chats_in_the_seed_dialect(
    seed: Seed, demo_server: DemoServer, arun: Arun
) -> None:
    profile = seed_profile(demo_server, seed.preset, seed.flavour)
    model = profile.model_for("chat")
    messages = [
        ChatMessage("system", "You are a helpful assistant."),
        ChatMessage("user", "What is the capital of France?"),
    ]
    params = GenerationParams(temperature=0.7, max_tokens=512)
    gemini = profile.dialect == Dialect.GEMINI

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            models = await client.list_models()
            assert model in {m.id for m in models}  # the preset's default is a documented model
            listed = only(demo_server)
            assert_auth(listed, profile)
            models_path = seed.chat_path.rsplit("/chat/completions", 1)[0] + "/models"
            if gemini:
                assert listed.path == "/api/v1beta/models"
                assert listed.query == {"pageSize": "1000"}
            else:
                assert listed.path == models_path + ("/" if profile.trailing_slash else "")

            whole = await client.chat("", messages, params)  # "" = the preset's default model
            sent = only(demo_server, "POST")
            assert sent.path == seed.chat_path
            assert_auth(sent, profile)
            if gemini:
                assert sent.query == {}
                config = dict(sent.json["generationConfig"])
                # Thinking models (gemini-2.5-*) may be asked for thought summaries; nothing else
                # beyond the parameters that were set.
                assert config.pop("thinkingConfig", None) in (None, {"includeThoughts": True})
                assert sent.json == {
                    "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
                    "contents": [
                        {"role": "user", "parts": [{"text": "What is the capital of France?"}]}
                    ],
                    "generationConfig": sent.json["generationConfig"],
                }
                assert config == {"temperature": 0.7, "maxOutputTokens": 512}
            else:
                assert sent.json == {
                    "model": model,
                    "messages": [
                        {"role": "system", "content": "You are a helpful assistant."},
                        {"role": "user", "content": "What is the capital of France?"},
                    ],
                    "temperature": 0.7,
                    "max_tokens": 512,
                }
            assert whole.choices[0].content and whole.choices[0].finish_reason == "stop"
            assert whole.usage is not None and whole.usage.completion_tokens

            deltas = [d async for d in client.chat_stream(model, messages, params)]
            streamed = only(demo_server, "POST")
            assert_auth(streamed, profile)
            if gemini:
                assert streamed.path == seed.chat_path.replace(
                    ":generateContent", ":streamGenerateContent"
                )
                assert streamed.query == {"alt": "sse"}
                assert streamed.json == sent.json
            else:
                assert streamed.path == seed.chat_path
                assert streamed.json == {
                    **sent.json,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                }
            # The server is deterministic: the stream spells out the same reply.
            assert "".join(d.content for d in deltas) == whole.choices[0].content
            assert [d.finish_reason for d in deltas if d.finish_reason] == ["stop"]
            assert any(d.usage is not None and d.usage.completion_tokens for d in deltas)

            # Only seed 001 (both of its endpoints) sends X-RateLimit-* headers.
            if FLAVOURS[seed.flavour].rate_limited:
                assert client.last_rate_limit is not None
                assert client.last_rate_limit.limit_requests == demo_server.gateway_rpm
            else:
                assert client.last_rate_limit is None

    arun(scenario())


def test_horay_sends_top_k_and_surfaces_its_max_tokens_limit(
    demo_server: DemoServer, arun: Arun
) -> None:
    """Seed 003: the seed's example body (top_k included) and its 1..4096 max_tokens range."""
    profile = seed_profile(demo_server, "horay", "horay")
    assert profile.supports_top_k
    params = GenerationParams(
        max_tokens=512,
        stop=["<string>"],
        temperature=0.7,
        top_p=0.7,
        top_k=50,
        frequency_penalty=0.5,
        n=1,
    )
    messages = [ChatMessage("user", "What impact will it have on the industry?")]

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            result = await client.chat("", messages, params)
            assert result.choices[0].content
            assert only(demo_server).json == {
                "model": "meta-llama/Meta-Llama-3.1-8B-Instruct",
                "messages": [
                    {"role": "user", "content": "What impact will it have on the industry?"}
                ],
                "temperature": 0.7,
                "top_p": 0.7,
                "top_k": 50,
                "max_tokens": 512,
                "stop": ["<string>"],
                "n": 1,
                "frequency_penalty": 0.5,
            }
            with pytest.raises(BadRequestError) as caught:
                await client.chat("", messages, GenerationParams(max_tokens=5000))
            assert caught.value.status == 400
            assert "max_tokens" in (caught.value.provider_message or "")
            assert "4096" in (caught.value.provider_message or "")
            assert len(demo_server.requests) == 1  # a 400 is not retried

    arun(scenario())


# --- seed 002: legacy completions, star sizes, base64 images, embeddings ----------------------


def test_star_sizes_legacy_completions_streamed_and_not(
    demo_server: DemoServer, arun: Arun
) -> None:
    profile = seed_profile(demo_server, "star-sizes", "siliconlike")
    params = GenerationParams(temperature=0.01, top_p=0.9, max_tokens=8, stop=["\n"])

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            whole = await client.complete("", "Say this is a test", params)
            sent = only(demo_server)
            assert (sent.method, sent.path) == ("POST", "/siliconlike/v1/completions")
            assert_auth(sent, profile)
            assert sent.json == {
                "model": "meta-llama/Meta-Llama-3-70B-Instruct",
                "prompt": "Say this is a test",
                "temperature": 0.01,
                "top_p": 0.9,
                "max_tokens": 8,
                "stop": ["\n"],
            }
            text = whole.choices[0].content
            assert text and whole.choices[0].finish_reason in ("stop", "length")

            deltas = [d async for d in client.complete_stream("", "Say this is a test", params)]
            streamed = only(demo_server)
            assert streamed.path == "/siliconlike/v1/completions"
            assert streamed.json == {
                **sent.json,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            assert "".join(d.content for d in deltas) == text

    arun(scenario())


def test_star_sizes_images_are_star_sized_and_base64(demo_server: DemoServer, arun: Arun) -> None:
    profile = seed_profile(demo_server, "star-sizes", "siliconlike")
    assert profile.image_size_style == "*" and profile.image_response_format == "b64_json"

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            items = await client.generate_images(
                ImageRequest("A beautiful sunset over the ocean", n=1, size=(512, 512))
            )
            sent = only(demo_server)
            assert sent.path == "/siliconlike/v1/images/generations"
            assert sent.json == {
                "prompt": "A beautiful sunset over the ocean",
                "model": "stabilityai/stable-diffusion-xl-base-1.0",
                "n": 1,
                "size": "512*512",
                "response_format": "b64_json",
            }
            assert len(items) == 1 and items[0].url is None and items[0].b64_json
            assert png_size(base64.b64decode(items[0].b64_json)) == (512, 512)

            # Without the preset's quirk the server refuses the size: the quirk matters.
            profile.image_size_style = "x"
        async with ProviderClient(profile, DEMO_API_KEY) as plain:
            with pytest.raises(BadRequestError) as caught:
                await plain.generate_images(ImageRequest("a sunset", size=(512, 512)))
            assert "512x512" in (caught.value.provider_message or "")

    arun(scenario())


@pytest.mark.parametrize(
    ("preset", "flavour", "path", "model"),
    [
        ("mollyra", "mollyra", "/v1/embeddings", "text-embedding-3-small"),
        ("star-sizes", "siliconlike", "/siliconlike/v1/embeddings", "intfloat/e5-large-v2"),
    ],
)
def test_embeddings_where_the_seed_documents_them(
    preset: str, flavour: str, path: str, model: str, demo_server: DemoServer, arun: Arun
) -> None:
    profile = seed_profile(demo_server, preset, flavour)
    texts = ["The food was delicious and the waiter.", "Another text"]

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            result = await client.embed(EmbeddingRequest(texts))
            sent = only(demo_server)
            assert (sent.method, sent.path) == ("POST", path)
            assert_auth(sent, profile)
            # encoding_format: what OpenAI's own SDKs send every compatible server by default.
            assert sent.json == {"input": texts, "model": model, "encoding_format": "base64"}
            assert len(result.vectors) == 2
            assert len(result.vectors[0]) == len(result.vectors[1]) > 0
            assert result.vectors[0] != result.vectors[1]

    arun(scenario())


# --- images as URLs: seeds 000, 001, 004 ------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "flavour", "path", "model"),
    [
        ("mollyra", "mollyra", "/v1/images/generations", "dall-e-3"),
        ("gateway", "gateway", "/api/v1/images/generations", "dall-e-3"),
        ("melancholy", "melancholy", "/melancholy/api/v1/images/generations/", "flux"),
    ],
)
def test_url_images_are_generated_and_downloaded(
    preset: str, flavour: str, path: str, model: str, demo_server: DemoServer, arun: Arun
) -> None:
    profile = seed_profile(demo_server, preset, flavour)

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            items = await client.generate_images(
                ImageRequest("A futuristic city at sunset", n=2, size=(256, 256))
            )
            sent = only(demo_server)
            assert sent.path == path
            assert_auth(sent, profile)
            assert sent.json == {
                "prompt": "A futuristic city at sunset",
                "model": model,
                "n": 2,
                "size": "256x256",
            }
            assert len(items) == 2 and all(i.url and not i.b64_json for i in items)
            for item in items:
                assert item.url is not None
                assert png_size(await client.download(item.url)) == (256, 256)
                fetched = only(demo_server)
                assert fetched.method == "GET" and fetched.path.startswith("/files/")
                if profile.extra_headers:
                    assert fetched.headers.get("user-agent") == MELANCHOLY_UA

    arun(scenario())


def test_melancholy_quirks_are_what_make_it_work(demo_server: DemoServer, arun: Arun) -> None:
    """Seed 004 without its trailing slash gets 404, without its User-Agent 403 on media."""
    profile = seed_profile(demo_server, "melancholy", "melancholy")

    async def scenario() -> None:
        no_slash = seed_profile(demo_server, "melancholy", "melancholy")
        no_slash.trailing_slash = False
        async with ProviderClient(no_slash, DEMO_API_KEY) as client:
            with pytest.raises(NotFoundError):
                await client.chat("", [ChatMessage("user", "Hello")], GenerationParams())
        assert only(demo_server).path == "/melancholy/api/v1/chat/completions"

        no_agent = seed_profile(demo_server, "melancholy", "melancholy")
        no_agent.extra_headers = {}
        async with ProviderClient(no_agent, DEMO_API_KEY) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.generate_images(ImageRequest("a cat"))
            assert caught.value.status == 403
            assert MELANCHOLY_UA in (caught.value.provider_message or "")
        demo_server.requests.clear()

        async with ProviderClient(profile, DEMO_API_KEY) as client:
            await client.generate_images(ImageRequest("a cat"))
        assert only(demo_server).headers["user-agent"] == MELANCHOLY_UA

    arun(scenario())


# --- video ------------------------------------------------------------------------------------


class FakeClock:
    """The demo server's video clock, advanced by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_melancholy_video_task_create_poll_download(
    demo_server_factory: Callable[..., DemoServer], arun: Arun
) -> None:
    clock = FakeClock()
    server = demo_server_factory(clock=clock, video_seconds=10.0)
    profile = seed_profile(server, "melancholy", "melancholy")
    prompt = "A drone shot flying over a tropical beach with crystal clear water"

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            task = await client.create_video(VideoRequest(prompt, aspect_ratio="LANDSCAPE"))
            created = only(server)
            assert (created.method, created.path) == (
                "POST",
                "/melancholy/api/v1/video/generations/",
            )
            assert_auth(created, profile)
            assert created.json == {
                "model": "google/veo-3-1-fast",
                "input": {
                    "prompt": prompt,
                    "aspect_ratio": "LANDSCAPE",
                    "video_generate_type": "text_to_video",
                },
            }
            assert task.task_id and not task.state.finished

            states = []
            for advance in (0.0, 5.0, 5.0):
                clock.now += advance
                polled = await client.get_video(task.task_id)
                states.append((polled.state, polled.raw_status, polled.progress))
                poll = only(server)
                # The seed polls without the trailing slash its POSTs use.
                assert (poll.method, poll.path) == (
                    "GET",
                    f"/melancholy/api/v1/video/generations/{task.task_id}",
                )
                assert_auth(poll, profile)
            assert states == [
                (VideoState.QUEUED, "PENDING", 0),
                (VideoState.RUNNING, "PROCESSING", 50),
                (VideoState.COMPLETED, "COMPLETED", 100),
            ]
            assert polled.video_url and polled.video_url.startswith(server.origin + "/files/")
            video = await client.download_video(polled)
            assert video[4:8] == b"ftyp"
            fetched = only(server)
            assert fetched.path == urlsplit(polled.video_url).path
            assert fetched.headers["user-agent"] == MELANCHOLY_UA

    arun(scenario())


def test_openai_videos_dialect_create_poll_download(
    demo_server_factory: Callable[..., DemoServer], arun: Arun
) -> None:
    clock = FakeClock()
    server = demo_server_factory(clock=clock, video_seconds=8.0)
    profile = new_profile_from_preset("openai")
    profile.base_url = server.base_url("openai")

    async def scenario() -> None:
        async with ProviderClient(profile, DEMO_API_KEY) as client:
            task = await client.create_video(
                VideoRequest("A paper boat", seconds=4, size="1280x720")
            )
            created = only(server)
            assert (created.method, created.path) == ("POST", "/v1/videos")
            assert created.json == {
                "model": "sora-2",
                "prompt": "A paper boat",
                "seconds": "4",
                "size": "1280x720",
            }
            assert task.state == VideoState.QUEUED

            clock.now += 4.0
            running = await client.get_video(task.task_id)
            assert (running.state, running.progress) == (VideoState.RUNNING, 50)
            assert only(server).path == f"/v1/videos/{task.task_id}"

            clock.now += 4.0
            done = await client.get_video(task.task_id)
            assert done.state == VideoState.COMPLETED
            server.requests.clear()
            video = await client.download_video(done)
            assert video[4:8] == b"ftyp"
            fetched = only(server)
            assert fetched.path == f"/v1/videos/{task.task_id}/content"
            assert_auth(fetched, profile)

    arun(scenario())


# --- seed 001: rate-limit headers -------------------------------------------------------------


def test_gateway_rate_limit_headers_reach_the_client(
    demo_server_factory: Callable[..., DemoServer], arun: Arun
) -> None:
    server = demo_server_factory(gateway_rpm=3)
    profile = seed_profile(server, "gateway", "gateway")
    profile.max_retries = 1
    seen: list[RateLimitInfo] = []
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    async def scenario() -> None:
        async with ProviderClient(
            profile,
            DEMO_API_KEY,
            on_rate_limit=seen.append,
            sleep=record_sleep,
            # The gateway advises up to the window's end (60-61 s): allow waiting that long.
            max_retry_wait=120.0,
        ) as client:
            before = time.time()
            await client.list_models()
            await client.chat("", [ChatMessage("user", "Hi")], GenerationParams())
            assert [i.remaining_requests for i in seen] == [2, 1]
            info = client.last_rate_limit
            assert info is seen[-1]
            assert info.limit_requests == 3
            # X-RateLimit-Reset-Requests is an absolute UTC epoch, kept as one.
            assert info.reset_requests_at is not None
            assert before < info.reset_requests_at <= before + 61

            await client.list_models()  # the last request of the window
            with pytest.raises(RateLimitError) as caught:
                await client.list_models()
            error = caught.value
            # It waited once for what the gateway advised (the window's end), then gave up.
            assert len(waits) == 1 and 1 <= waits[0] <= 61
            assert error.retry_after is not None and 1 <= error.retry_after <= 61
            assert [r.path for r in server.requests.find("/models")][-2:] == ["/api/v1/models"] * 2
            assert error.status == 429
            assert client.last_rate_limit is not None
            assert client.last_rate_limit.remaining_requests == 0

    arun(scenario())
    assert {r.path for r in server.requests.snapshot()} == {
        "/api/v1/models",
        "/api/v1/chat/completions",
    }

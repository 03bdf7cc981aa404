"""The app's HTTP core against LiteLLM's proxy (`litellm[proxy]`), every model a mock.

scripts/interop/litellm.sh starts the proxy offline with scripts/interop/litellm_config.yaml and
a random master key, plus a loopback file server for the image mock. Models:
`mock-chat`, `mock-long` (~17 kB reply), `mock-slow` (mock_delay 30 s), `mock-ratelimit`,
`mock-embed`, `mock-image`.

What LiteLLM (1.106.2) does that the app has to live with (observed, asserted below):

- It serves `/v1/...` and the same routes without `/v1`.
- The chat mock ignores `max_tokens` and `stop`: the whole mock text comes back with
  `finish_reason: "stop"`. It streams in 3-character chunks, then a finish chunk, then a
  usage chunk when `stream_options.include_usage` is set, then `[DONE]`.
- `/v1/completions` works on a chat mock (LiteLLM converts it) and streams too.
- A wrong key: HTTP 400 `no_db_connection` "No connected db." (no database to look it up).
  A missing key: a bare `500 Internal Server Error` in text/plain (an exception in its auth code).
- An unknown model: HTTP 400 `invalid_request_error` "Invalid model name passed in model=...".
- The rate-limit mock: HTTP 429 `throttling_error`, with no Retry-After header.
- `mock_delay` sleeps before the response headers, streamed or not.
- The embedding mock returns ONE vector whatever the number of inputs (the client refuses that
  for several inputs: see tests/core/test_interop_adaptations_litellm.py).
- The image mock returns `data[0].url` only (here the loopback image host's PNG).
- `/v1/models` carries `mode` ("embedding", "image_generation") for models with a `model_info`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from app.core.client import ProviderClient
from app.core.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError_,
)
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    EmbeddingRequest,
    GenerationParams,
    ImageRequest,
)
from app.core.providers import KeySource, ProviderProfile
from app.core.services.chat import ChatService, ReplyProgress
from app.core.store.db import Database
from tests.interop.conftest import require_env

pytestmark = pytest.mark.interop

NAMES = ("SWITCHBOARD_LITELLM_URL", "SWITCHBOARD_LITELLM_KEY", "SWITCHBOARD_LITELLM_IMAGE_URL")
MOCK_TEXT = "Hello from the LiteLLM mock. Switchboard streams this reply in small pieces."
MODELS = {"mock-chat", "mock-long", "mock-slow", "mock-ratelimit", "mock-embed", "mock-image"}
LONG_TEXT = " ".join(f"word{i}" for i in range(2000))  # litellm.sh's `mock-long`
MSGS = [ChatMessage("user", "Say hello.")]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return require_env(*NAMES)


def make_profile(env: dict[str, str], *, v1: bool = True, **overrides: Any) -> ProviderProfile:
    fields: dict[str, Any] = {
        "name": "LiteLLM",
        "base_url": env["SWITCHBOARD_LITELLM_URL"] + ("/v1" if v1 else ""),
        "key_source": KeySource.SESSION,
        # A failure must reach the test at once, never after a backoff.
        "max_retries": 0,
    }
    fields.update(overrides)
    return ProviderProfile(**fields)


@pytest.fixture
def profile(env: dict[str, str]) -> ProviderProfile:
    return make_profile(env)


@pytest.fixture
def key(env: dict[str, str]) -> str:
    return env["SWITCHBOARD_LITELLM_KEY"]


def connection_states(client: ProviderClient) -> list[str]:
    """httpcore's state of each connection httpx holds for the (unproxied, loopback) profile:
    e.g. "'http://127.0.0.1:4000', HTTP/1.1, ACTIVE, Request Count: 1", or "CONNECTING"."""
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    return [connection.info() for connection in pool.connections]


def open_connections(client: ProviderClient) -> int:
    return len(connection_states(client))


async def request_on_the_wire(client: ProviderClient) -> None:
    """Until a connection is connected and busy with the request (not a fixed wait)."""
    while not any(", ACTIVE," in state for state in connection_states(client)):
        await asyncio.sleep(0.01)


async def collect(stream: AsyncIterator[ChatDelta]) -> list[ChatDelta]:
    # The client's streams are async generators (typed as iterators): close them explicitly.
    async with contextlib.aclosing(cast(AsyncGenerator[ChatDelta, None], stream)) as deltas:
        return [d async for d in deltas]


# --- models ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("v1", [True, False], ids=["base-v1", "base-root"])
def test_list_models_lists_every_configured_model(
    env: dict[str, str], key: str, v1: bool, arun: Callable[..., Any]
) -> None:
    async def scenario() -> list[Any]:
        async with ProviderClient(make_profile(env, v1=v1), key) as client:
            return await client.list_models()

    models = {m.id: m for m in arun(scenario())}
    assert set(models) == MODELS
    # LiteLLM's `mode` says what a model is for; undescribed models stay open to every use.
    assert models["mock-embed"].capabilities == {"embedding"}
    assert models["mock-image"].capabilities == {"image"}
    assert models["mock-chat"].capabilities == frozenset()
    assert models["mock-chat"].owned_by == "openai"


def test_test_connection_reports_ok_with_models(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        async with ProviderClient(profile, key) as client:
            return await client.test_connection()

    report = arun(scenario())
    assert report.ok and report.error is None
    assert {m.id for m in report.models} == MODELS


# --- chat -----------------------------------------------------------------------------------------


def test_chat_non_streamed_returns_the_mock_text_and_usage(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        async with ProviderClient(profile, key) as client:
            return await client.chat("mock-chat", MSGS, GenerationParams(temperature=0.2))

    result = arun(scenario())
    assert result.text == MOCK_TEXT
    assert result.finish_reason == "stop"
    assert result.model == "mock-chat"
    assert result.id and result.id.startswith("chatcmpl-")
    assert result.usage is not None
    assert result.usage.prompt_tokens and result.usage.completion_tokens
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_chat_streamed_in_small_chunks_with_finish_and_usage(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> tuple[list[ChatDelta], bool]:
        async with ProviderClient(profile, key) as client:
            deltas = await collect(client.chat_stream("mock-chat", MSGS, GenerationParams()))
            return deltas, client.stream_usage_supported

    deltas, usage_supported = arun(scenario())
    texts = [d.content for d in deltas if d.content]
    assert "".join(texts) == MOCK_TEXT
    # Really streamed: LiteLLM's mock sends 3 characters per chunk.
    assert len(texts) == -(-len(MOCK_TEXT) // 3)
    assert max(len(t) for t in texts) == 3
    finishes = [d.finish_reason for d in deltas if d.finish_reason]
    assert finishes == ["stop"]
    usages = [d.usage for d in deltas if d.usage is not None]
    assert len(usages) == 1 and usages[0].completion_tokens
    assert usage_supported  # stream_options was accepted, not retried without it
    assert {d.model for d in deltas if d.model} == {"mock-chat"}


def test_mock_ignores_max_tokens_and_stop(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    """LiteLLM's mock does not apply `max_tokens` or `stop`: measured, so the report is honest.

    The app sends both (`finish_reason: length` is covered against llama.cpp); the mock returns
    its whole text with `finish_reason: "stop"`, streamed or not, and the app shows just that.
    """
    params = GenerationParams(max_tokens=2, stop=["mock", "\n"])

    async def scenario() -> tuple[Any, list[ChatDelta]]:
        async with ProviderClient(profile, key) as client:
            whole = await client.chat("mock-chat", MSGS, params)
            streamed = await collect(client.chat_stream("mock-chat", MSGS, params))
            return whole, streamed

    whole, streamed = arun(scenario())
    assert whole.text == MOCK_TEXT and whole.finish_reason == "stop"
    assert "".join(d.content for d in streamed) == MOCK_TEXT
    assert [d.finish_reason for d in streamed if d.finish_reason] == ["stop"]


def test_legacy_completions_plain_and_streamed(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> tuple[Any, list[ChatDelta]]:
        async with ProviderClient(profile, key) as client:
            whole = await client.complete("mock-chat", "Once upon a time", GenerationParams())
            streamed = await collect(
                client.complete_stream("mock-chat", "Once upon a time", GenerationParams())
            )
            return whole, streamed

    whole, streamed = arun(scenario())
    assert whole.text == MOCK_TEXT and whole.finish_reason == "stop"
    assert whole.usage is not None and whole.usage.total_tokens
    assert "".join(d.content for d in streamed) == MOCK_TEXT
    assert [d.finish_reason for d in streamed if d.finish_reason] == ["stop"]
    assert any(d.usage is not None and d.usage.total_tokens for d in streamed)


# --- embeddings and images -------------------------------------------------------------------------


def test_embedding_of_one_text(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        async with ProviderClient(profile, key) as client:
            return await client.embed(EmbeddingRequest(inputs=["a river"], model="mock-embed"))

    result = arun(scenario())
    assert result.vectors == [[0.25, -0.5, 0.125, 1.0]]
    assert result.model == "mock-embed"
    assert result.usage is not None and result.usage.prompt_tokens == 10


def test_embedding_of_several_texts_is_a_clear_error_not_a_mismatch(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    """LiteLLM's mock answers one vector for three texts; the app refuses to pair them up."""

    async def scenario() -> MalformedResponseError:
        async with ProviderClient(profile, key) as client:
            with pytest.raises(MalformedResponseError) as caught:
                await client.embed(EmbeddingRequest(inputs=["a", "b", "c"], model="mock-embed"))
            # The proxy itself is fine: one text per request works.
            one = await client.embed(EmbeddingRequest(inputs=["b"], model="mock-embed"))
            assert len(one.vectors) == 1
            return caught.value

    error = arun(scenario())
    assert "1 embedding vector(s) for 3 texts" in error.user_message
    assert "LiteLLM" in error.user_message


def test_image_generation_returns_a_url_that_downloads(
    env: dict[str, str], profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> tuple[list[Any], bytes]:
        async with ProviderClient(profile, key) as client:
            items = await client.generate_images(
                ImageRequest(prompt="a lighthouse at dusk", model="mock-image", size=(1024, 1024))
            )
            assert items and items[0].url
            return items, await client.download(items[0].url)

    items, data = arun(scenario())
    assert [i.url for i in items] == [env["SWITCHBOARD_LITELLM_IMAGE_URL"]]
    assert items[0].b64_json is None and items[0].image_bytes() is None
    assert data.startswith(PNG_MAGIC)
    assert data[12:16] == b"IHDR"


# --- cancellation ----------------------------------------------------------------------------------


def test_cancel_mid_stream_closes_the_connection_promptly(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    """Cancel the task consuming `mock-long` (~17 kB in 3-character chunks) after its first text."""

    async def scenario() -> tuple[str, int, int, str]:
        async with ProviderClient(profile, key) as client:
            got_text = asyncio.Event()
            received: list[str] = []

            async def consume() -> None:
                stream = client.chat_stream("mock-long", MSGS, GenerationParams())
                generator = cast(AsyncGenerator[ChatDelta, None], stream)
                async with contextlib.aclosing(generator) as deltas:
                    async for delta in deltas:
                        if delta.content:
                            received.append(delta.content)
                            got_text.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(got_text.wait(), 30)
            during = open_connections(client)
            task.cancel()
            # Promptly: the cancellation is done within a couple of seconds, not at stream end.
            done, _ = await asyncio.wait({task}, timeout=5)
            assert task in done and task.cancelled()
            after = open_connections(client)
            # The proxy still answers on this client after the hang-up.
            reply = await client.chat("mock-chat", MSGS, GenerationParams())
            return "".join(received), during, after, reply.text

    text, during, after, reply = arun(scenario())
    assert text and LONG_TEXT.startswith(text)
    assert len(text) < len(LONG_TEXT)  # stopped in the middle, not after the whole reply
    assert during == 1
    assert after == 0  # closed by the client at once, not returned to the pool
    assert reply == MOCK_TEXT


def test_cancel_while_waiting_for_a_delayed_reply(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    """`mock-slow` holds its headers for 30 s: cancelling the wait closes the connection at once."""

    async def scenario() -> tuple[int, int]:
        async with ProviderClient(profile, key) as client:
            task = asyncio.create_task(
                collect(client.chat_stream("mock-slow", MSGS, GenerationParams()))
            )
            # The request must be on the wire: cancelling before the socket is even connected
            # leaves httpcore an unconnected "CONNECTING" placeholder, which proves nothing.
            await asyncio.wait_for(request_on_the_wire(client), 10)
            during = open_connections(client)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert task in done and task.cancelled()
            return during, open_connections(client)

    during, after = arun(scenario())
    assert during == 1 and after == 0


# --- errors ----------------------------------------------------------------------------------------


def test_wrong_key_is_an_authentication_error_despite_http_400(
    profile: ProviderProfile, arun: Callable[..., Any]
) -> None:
    wrong = "sk-" + "0" * 40

    async def scenario() -> tuple[AuthenticationError, AuthenticationError]:
        async with ProviderClient(profile, wrong) as client:
            with pytest.raises(AuthenticationError) as chat_error:
                await client.chat("mock-chat", MSGS, GenerationParams())
            with pytest.raises(AuthenticationError) as stream_error:
                await collect(client.chat_stream("mock-chat", MSGS, GenerationParams()))
            return chat_error.value, stream_error.value

    for error in arun(scenario()):
        assert error.status == 400
        assert error.user_message.startswith("The provider rejected the API key")
        assert "Settings → Providers" in error.user_message
        assert error.provider_message == "No connected db."
        assert wrong not in str(error)


def test_missing_key_says_no_key_was_sent(
    profile: ProviderProfile, arun: Callable[..., Any]
) -> None:
    async def scenario() -> tuple[ServerError, Any]:
        async with ProviderClient(profile, None) as client:
            with pytest.raises(ServerError) as caught:
                await client.chat("mock-chat", MSGS, GenerationParams())
            report = await client.test_connection()
            return caught.value, report

    error, report = arun(scenario())
    assert error.status == 500
    assert error.provider_message == "Internal Server Error"
    assert "No API key was sent" in error.user_message
    assert "Settings → Providers" in error.user_message
    # The profile editor's Test button says the same.
    assert not report.ok and isinstance(report.error, ServerError)
    assert "No API key was sent" in report.error.user_message


def test_unknown_model_carries_litellms_message(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Exception:
        async with ProviderClient(profile, key) as client:
            with pytest.raises((BadRequestError, NotFoundError)) as caught:
                await collect(client.chat_stream("no-such-model", MSGS, GenerationParams()))
            return caught.value

    error = arun(scenario())
    # LiteLLM answers 400, not 404: the app keeps its words, which name the model.
    assert isinstance(error, BadRequestError) and error.status == 400
    assert "Invalid model name passed in model=no-such-model" in (error.provider_message or "")
    assert "The provider refused the request as invalid" in error.user_message


def test_rate_limit_model_is_a_rate_limit_error_after_the_retries(
    profile: ProviderProfile, key: str, arun: Callable[..., Any]
) -> None:
    """429 is retried (no Retry-After from LiteLLM: exponential backoff), then surfaces."""
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    async def scenario() -> RateLimitError:
        retrying = dataclasses.replace(profile, max_retries=2)
        async with ProviderClient(retrying, key, sleep=no_wait) as client:
            with pytest.raises(RateLimitError) as caught:
                await collect(client.chat_stream("mock-ratelimit", MSGS, GenerationParams()))
            return caught.value

    error = arun(scenario())
    assert len(waits) == 2 and all(0 < w <= 8 for w in waits)
    assert error.status == 429 and error.retry_after is None
    assert error.user_message.startswith("The provider's rate limit was reached")
    assert "mock rate limit error" in (error.provider_message or "")


def test_slow_model_with_a_short_read_timeout_is_a_timeout_sentence(
    env: dict[str, str], key: str, arun: Callable[..., Any]
) -> None:
    impatient = make_profile(env, read_timeout=1.0)

    async def scenario() -> tuple[TimeoutError_, TimeoutError_, int]:
        async with ProviderClient(impatient, key) as client:
            with pytest.raises(TimeoutError_) as plain:
                await client.chat("mock-slow", MSGS, GenerationParams())
            with pytest.raises(TimeoutError_) as streamed:
                await collect(client.chat_stream("mock-slow", MSGS, GenerationParams()))
            return plain.value, streamed.value, open_connections(client)

    plain, streamed, left_open = arun(scenario())
    for error in (plain, streamed):
        assert "took too long to answer" in error.user_message
        assert "read timeout" in error.user_message
    assert left_open == 0


# --- through ChatService and a real database --------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "litellm.db")
    try:
        yield database
    finally:
        database.close()


async def run_service(
    profile: ProviderProfile, key: str | None, db: Database, text: str, model: str
) -> tuple[list[ReplyProgress], Any, list[Any]]:
    async with ProviderClient(profile, key) as client:
        service = ChatService(db, lambda _profile_id: client)
        thread = await service.threads.create_thread(profile_id=profile.id, model=model)
        async with contextlib.aclosing(service.send(thread.id, text)) as progress:
            steps = [p async for p in progress]
        reply = await service.threads.get_message(steps[-1].assistant_message_id)
        path = await service.threads.current_path(thread.id)
        return steps, reply, path


def test_service_saves_a_streamed_reply_complete_with_usage(
    profile: ProviderProfile, key: str, db: Database, arun: Callable[..., Any]
) -> None:
    steps, reply, messages = arun(run_service(profile, key, db, "Say hello", "mock-chat"))
    final = steps[-1]
    assert final.done and final.status == "complete" and final.error is None
    assert len([s for s in steps if s.content_delta]) > 5  # it streamed in pieces
    assert reply.status == "complete"
    assert reply.content == MOCK_TEXT
    assert reply.finish_reason == "stop"
    assert reply.model == "mock-chat"
    assert reply.usage is not None and reply.usage.completion_tokens
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "Say hello"


def test_service_saves_an_error_reply_and_keeps_the_question(
    profile: ProviderProfile, db: Database, arun: Callable[..., Any]
) -> None:
    steps, reply, messages = arun(
        run_service(profile, "sk-" + "1" * 40, db, "Is my key right?", "mock-chat")
    )
    final = steps[-1]
    assert final.done and final.status == "error"
    assert isinstance(final.error, AuthenticationError)
    assert reply.status == "error"
    assert reply.content == ""  # the error is not stored as if the model had said it
    assert reply.error and "rejected the API key" in reply.error
    assert "No connected db." in reply.error
    # Nothing lost: the user's message is there to retry from.
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "Is my key right?"


def test_service_keeps_partial_text_when_cancelled(
    profile: ProviderProfile, key: str, db: Database, arun: Callable[..., Any]
) -> None:
    async def scenario() -> Any:
        async with ProviderClient(profile, key) as client:
            service = ChatService(db, lambda _profile_id: client, journal_interval=0.0)
            thread = await service.threads.create_thread(profile_id=profile.id, model="mock-long")
            seen = asyncio.Event()
            reply_id: list[int] = []

            async def consume() -> None:
                async with contextlib.aclosing(service.send(thread.id, "Talk a lot")) as progress:
                    async for step in progress:
                        reply_id.append(step.assistant_message_id)
                        if len(step.content) > 100:
                            seen.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(seen.wait(), 30)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert open_connections(client) == 0
            return await service.threads.get_message(reply_id[-1])

    reply = arun(scenario())
    assert reply.status == "cancelled"
    assert LONG_TEXT.startswith(reply.content) and 100 < len(reply.content) < len(LONG_TEXT)


def test_a_raw_v1_request_without_the_app_matches_what_the_app_saw(
    env: dict[str, str], key: str, arun: Callable[..., Any]
) -> None:
    """The recorded shapes above, checked once with bare httpx (guards the module docstring)."""

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=env["SWITCHBOARD_LITELLM_URL"], timeout=30) as http:
            body = {"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]}
            no_key = await http.post("/v1/chat/completions", json=body)
            wrong = await http.post(
                "/chat/completions", json=body, headers={"Authorization": "Bearer sk-" + "2" * 40}
            )
            return no_key, wrong

    no_key, wrong = arun(scenario())
    assert no_key.status_code == 500 and no_key.text == "Internal Server Error"
    assert wrong.status_code == 400
    assert wrong.json()["error"]["type"] == "no_db_connection"

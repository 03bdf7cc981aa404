"""The app's HTTP core against llama.cpp's server (llama-cpp-python[server]) doing real inference.

scripts/interop/llamacpp.sh serves a tiny random-weight llama model (make_tiny_gguf.py, seeded)
with `--embedding` and `--api_key`. Its replies are word salad, but real: real tokenisation,
sampling, SSE streaming, stop strings, `finish_reason: length`, usage counts, embeddings, and a
real 401 for a wrong key. At temperature 0 its output is fixed, so tests compare runs.

What llama-cpp-python does that the app has to live with (observed, asserted below):

- `/v1/models` lists one id: the `--model_alias`.
- An unknown model name is not an error: the server answers with its one model and echoes the
  requested name in the reply's `model`.
- `stream_options: {include_usage: true}` is ignored (no error, no usage chunk): a streamed reply
  has no usage, a non-streamed one does.
- Cancelling a stream: the server notices the hang-up and logs "Disconnected from client".
- (From its code, not asserted:) a non-streamed request cannot be cancelled once generating:
  after a client timeout the server finishes that reply anyway, and as it serves one request at
  a time, the next one waits for it.
- `top_k` and a per-request `seed` are honoured (the app's llama.cpp preset sends `top_k`).
- Legacy `/v1/completions` works with the same model; one process serves chat and embeddings.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from app.core.client import ProviderClient
from app.core.errors import AuthenticationError, TimeoutError_
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    EmbeddingRequest,
    GenerationParams,
    Usage,
)
from app.core.providers import KeySource, ProviderProfile, new_profile_from_preset
from app.core.services.chat import ChatService, ReplyProgress
from app.core.store.db import Database
from tests.interop.conftest import require_env

pytestmark = pytest.mark.interop

NAMES = (
    "SWITCHBOARD_LLAMACPP_URL",
    "SWITCHBOARD_LLAMACPP_KEY",
    "SWITCHBOARD_LLAMACPP_MODEL",
    "SWITCHBOARD_LLAMACPP_N_EMBD",
    "SWITCHBOARD_LLAMACPP_LOG",
)
MSGS = [ChatMessage("user", "Tell me about rivers and stones.")]
PROMPT = "Once upon a time"


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return require_env(*NAMES)


def make_profile(env: dict[str, str], **overrides: Any) -> ProviderProfile:
    """The app's llama.cpp preset, pointed at the test server, with a key typed in for the session."""
    fields: dict[str, Any] = {
        "name": "llama.cpp",
        "base_url": env["SWITCHBOARD_LLAMACPP_URL"] + "/v1",
        "key_source": KeySource.SESSION,
        # A failure must reach the test at once, never after a backoff.
        "max_retries": 0,
    }
    fields.update(overrides)
    return dataclasses.replace(new_profile_from_preset("llamacpp"), **fields)


@pytest.fixture
def profile(env: dict[str, str]) -> ProviderProfile:
    return make_profile(env)


@pytest.fixture
def model(env: dict[str, str]) -> str:
    return env["SWITCHBOARD_LLAMACPP_MODEL"]


def client_for(env: dict[str, str], profile: ProviderProfile, key: str | None = None) -> ProviderClient:
    return ProviderClient(profile, env["SWITCHBOARD_LLAMACPP_KEY"] if key is None else key)


def open_connections(client: ProviderClient) -> int:
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    return len(pool.connections)


async def collect(stream: AsyncIterator[ChatDelta]) -> list[ChatDelta]:
    # The client's streams are async generators (typed as iterators): aclose() exists.
    async with contextlib.aclosing(cast(AsyncGenerator[ChatDelta, None], stream)) as deltas:
        return [d async for d in deltas]


def text_of(deltas: list[ChatDelta]) -> str:
    return "".join(d.content for d in deltas if d.index == 0)


def finish_of(deltas: list[ChatDelta]) -> str | None:
    reasons = [d.finish_reason for d in deltas if d.finish_reason]
    return reasons[-1] if reasons else None


def usage_of(deltas: list[ChatDelta]) -> Usage | None:
    usages = [d.usage for d in deltas if d.usage is not None]
    return usages[-1] if usages else None


def greedy(max_tokens: int, **more: Any) -> GenerationParams:
    return GenerationParams(temperature=0.0, max_tokens=max_tokens, **more)


# --- models -----------------------------------------------------------------------------------


def test_list_models_gives_the_pickers_ids(env: dict[str, str], profile: ProviderProfile, arun: Callable[..., Any]) -> None:
    async def go() -> tuple[list[str], bool]:
        async with client_for(env, profile) as client:
            models = await client.list_models()
            report = await client.test_connection()
            return [m.id for m in models], report.ok

    ids, ok = arun(go())
    assert ids == [env["SWITCHBOARD_LLAMACPP_MODEL"]]
    assert ok


# --- chat -------------------------------------------------------------------------------------


def test_chat_non_streamed_is_fixed_at_temperature_zero_with_usage(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    async def go() -> list[Any]:
        async with client_for(env, profile) as client:
            return [await client.chat(model, MSGS, greedy(16)) for _ in range(2)]

    first, second = arun(go(), timeout=60)
    assert first.text.strip(), "the model produced no text"
    assert first.text == second.text
    assert first.finish_reason == "length"
    assert first.usage is not None
    assert first.usage.prompt_tokens is not None and first.usage.prompt_tokens > 0
    assert first.usage.completion_tokens == 16
    assert first.model == model


def test_chat_streamed_is_fixed_and_equals_the_non_streamed_reply(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    async def go() -> tuple[list[ChatDelta], list[ChatDelta], str]:
        async with client_for(env, profile) as client:
            one = await collect(client.chat_stream(model, MSGS, greedy(16)))
            two = await collect(client.chat_stream(model, MSGS, greedy(16)))
            whole = await client.chat(model, MSGS, greedy(16))
            return one, two, whole.text

    one, two, whole = arun(go(), timeout=60)
    # Really streamed: one delta per token, not one blob.
    assert sum(1 for d in one if d.content) > 5
    assert text_of(one) == text_of(two) == whole
    assert finish_of(one) == "length"
    # llama-cpp-python ignores `stream_options.include_usage`: a streamed reply has no usage.
    assert usage_of(one) is None


def test_max_tokens_ends_with_finish_reason_length(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    async def go() -> tuple[list[ChatDelta], Any]:
        async with client_for(env, profile) as client:
            streamed = await collect(client.chat_stream(model, MSGS, greedy(3)))
            whole = await client.chat(model, MSGS, greedy(3))
            return streamed, whole

    streamed, whole = arun(go(), timeout=60)
    assert finish_of(streamed) == "length"
    assert sum(1 for d in streamed if d.content) == 3
    assert whole.finish_reason == "length"
    assert whole.usage is not None and whole.usage.completion_tokens == 3


def pick_stop(text: str) -> tuple[str, str]:
    """A stop string from a fixed reply, and the text the server must return before it.

    The stop string is a later word of `text` whose first occurrence is past the start, so the
    cut is real (some text before it, some after).
    """
    words = text.split()
    for word in words[3:]:
        cut = text.find(word)
        if cut > 0 and text[cut + len(word):].strip():
            return word, text[:cut]
    raise AssertionError(f"no usable stop word in {text!r}")


def test_stop_strings_cut_the_reply(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    async def go() -> tuple[str, str, Any, list[ChatDelta]]:
        async with client_for(env, profile) as client:
            full = (await client.chat(model, MSGS, greedy(24))).text
            stop, before = pick_stop(full)
            cut = await client.chat(model, MSGS, greedy(24, stop=[stop]))
            streamed = await collect(client.chat_stream(model, MSGS, greedy(24, stop=[stop])))
            return stop, before, cut, streamed

    stop, before, cut, streamed = arun(go(), timeout=60)
    assert cut.text == before
    assert stop not in cut.text
    assert cut.finish_reason == "stop"
    assert text_of(streamed) == before
    assert finish_of(streamed) == "stop"


# --- legacy completions -----------------------------------------------------------------------


def test_legacy_completions_streamed_and_not(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    async def go() -> tuple[Any, Any, list[ChatDelta]]:
        async with client_for(env, profile) as client:
            one = await client.complete(model, PROMPT, greedy(12))
            two = await client.complete(model, PROMPT, greedy(12))
            streamed = await collect(client.complete_stream(model, PROMPT, greedy(12)))
            return one, two, streamed

    one, two, streamed = arun(go(), timeout=60)
    assert one.text.strip()
    assert one.text == two.text == text_of(streamed)
    assert one.finish_reason == "length" and finish_of(streamed) == "length"
    assert one.usage is not None
    assert one.usage.prompt_tokens is not None and one.usage.prompt_tokens > 0
    assert one.usage.completion_tokens == 12
    assert sum(1 for d in streamed if d.content) > 5


# --- cancellation -----------------------------------------------------------------------------


def log_size(env: dict[str, str]) -> int:
    return Path(env["SWITCHBOARD_LLAMACPP_LOG"]).stat().st_size


async def wait_for_log(env: dict[str, str], offset: int, needle: str, timeout: float) -> str:
    """The server log written after `offset`, once it contains `needle` (bounded wait)."""
    path = Path(env["SWITCHBOARD_LLAMACPP_LOG"])

    def read_tail() -> str:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")

    deadline = time.monotonic() + timeout
    while True:
        tail = await asyncio.to_thread(read_tail)
        if needle in tail or time.monotonic() > deadline:
            return tail
        await asyncio.sleep(0.05)


def test_cancelling_mid_stream_closes_the_connection_and_the_server_stops(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    async def go() -> tuple[list[ChatDelta], int, str, str]:
        async with client_for(env, profile) as client:
            offset = log_size(env)
            got: list[ChatDelta] = []
            enough = asyncio.Event()

            async def consume() -> None:
                # Far more than the test waits for: only cancellation ends this stream.
                stream = cast(AsyncGenerator[ChatDelta, None], client.chat_stream(model, MSGS, greedy(3500)))
                async with contextlib.aclosing(stream):
                    async for delta in stream:
                        got.append(delta)
                        if sum(1 for d in got if d.content) >= 5:
                            enough.set()

            task = asyncio.create_task(consume())
            await enough.wait()
            task.cancel()
            # Cancellation must unwind promptly (it closes the socket, it does not drain it).
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            connections = open_connections(client)
            server_log = await wait_for_log(env, offset, "Disconnected from client", 15)
            # The server is free again at once: a short request is answered.
            after = (await client.chat(model, MSGS, greedy(2))).text
            return got, connections, server_log, after

    got, connections, server_log, after = arun(go(), timeout=90)
    assert finish_of(got) is None, "the stream had already finished: nothing was cancelled"
    assert connections == 0
    assert "Disconnected from client" in server_log
    assert after.strip()


# --- embeddings -------------------------------------------------------------------------------


def test_embeddings_for_a_list_input(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    inputs = ["rivers and stones", "a quiet garden", "silver light in winter"]

    async def go() -> Any:
        async with client_for(env, profile) as client:
            return await client.embed(EmbeddingRequest(inputs=inputs, model=model))

    result = arun(go(), timeout=60)
    n_embd = int(env["SWITCHBOARD_LLAMACPP_N_EMBD"])
    assert len(result.vectors) == len(inputs)
    assert all(len(v) == n_embd for v in result.vectors)
    # Different texts, different vectors (real pooling of real token states).
    assert len({tuple(v) for v in result.vectors}) == len(inputs)
    assert result.usage is not None and result.usage.prompt_tokens and result.usage.prompt_tokens > 0


# --- errors -----------------------------------------------------------------------------------


def test_wrong_key_is_an_authentication_error(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    wrong = "sk-wrong-key-for-llamacpp-0123456789"

    async def go() -> list[AuthenticationError]:
        errors: list[AuthenticationError] = []
        async with client_for(env, profile, key=wrong) as client:
            for attempt in (client.list_models(), client.chat(model, MSGS, greedy(2))):
                try:
                    await attempt
                except AuthenticationError as exc:
                    errors.append(exc)
            with pytest.raises(AuthenticationError) as streamed:
                await collect(client.chat_stream(model, MSGS, greedy(2)))
            errors.append(streamed.value)
        return errors

    errors = arun(go(), timeout=30)
    assert len(errors) == 3
    assert errors[0].user_message.startswith("The provider rejected the API key")
    for error in errors:
        assert error.status == 401
        assert error.provider_message is not None and "Invalid API key" in error.provider_message
        assert wrong not in str(error) and env["SWITCHBOARD_LLAMACPP_KEY"] not in str(error)


def test_no_key_is_an_authentication_error(
    env: dict[str, str], arun: Callable[..., Any]
) -> None:
    """The preset as it comes (key source NONE) against a server started with --api_key."""
    profile = make_profile(env, key_source=KeySource.NONE)

    async def go() -> AuthenticationError:
        async with ProviderClient(profile, None) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.list_models()
            return caught.value

    error = arun(go(), timeout=30)
    assert error.status == 401


def test_sampling_parameters_reach_the_server(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    """top_k (the preset says the server takes it) and seed change what llama.cpp samples."""
    hot = GenerationParams(temperature=1.5, max_tokens=24)

    async def go() -> tuple[str, str, str, str, str]:
        async with client_for(env, profile) as client:
            greedy_text = (await client.chat(model, MSGS, greedy(24))).text
            top1 = (await client.chat(model, MSGS, dataclasses.replace(hot, top_k=1))).text
            seeded = [
                (await client.chat(model, MSGS, dataclasses.replace(hot, seed=seed))).text
                for seed in (7, 7, 8)
            ]
            return greedy_text, top1, seeded[0], seeded[1], seeded[2]

    greedy_text, top1, seven, seven_again, eight = arun(go(), timeout=60)
    assert profile.supports_top_k
    # top_k=1 leaves only the most likely token: the greedy reply, even at a high temperature.
    assert top1 == greedy_text
    # A fixed seed repeats a sampled reply; another seed (almost surely) does not.
    assert seven == seven_again
    assert seven != eight
    assert seven != greedy_text


def test_unknown_model_is_served_by_the_loaded_model(
    env: dict[str, str], profile: ProviderProfile, model: str, arun: Callable[..., Any]
) -> None:
    """llama-cpp-python serves one model whatever the request names (observed behaviour)."""

    async def go() -> tuple[Any, Any]:
        async with client_for(env, profile) as client:
            known = await client.chat(model, MSGS, greedy(8))
            unknown = await client.chat("no-such-model", MSGS, greedy(8))
            return known, unknown

    known, unknown = arun(go(), timeout=60)
    assert unknown.text == known.text
    assert unknown.model == "no-such-model"  # the requested name is echoed back


def test_short_read_timeout_is_a_timeout_error_sentence(
    env: dict[str, str], model: str, arun: Callable[..., Any]
) -> None:
    profile = make_profile(env, read_timeout=0.05)

    async def go() -> TimeoutError_:
        async with client_for(env, profile) as client:
            with pytest.raises(TimeoutError_) as caught:
                # Non-streamed: nothing is sent back until all of it is generated.
                await client.chat(model, MSGS, greedy(600))
            return caught.value

    error = arun(go(), timeout=60)
    assert "took too long to answer" in error.user_message
    assert "read timeout" in error.user_message


# --- ChatService and SQLite -------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "llamacpp.db")
    try:
        yield database
    finally:
        database.close()


async def collect_progress(stream: AsyncGenerator[ReplyProgress, None]) -> list[ReplyProgress]:
    async with contextlib.aclosing(stream) as progress:
        return [p async for p in progress]


def test_chat_service_saves_a_streamed_reply_and_continue_appends(
    env: dict[str, str], profile: ProviderProfile, model: str, db: Database, arun: Callable[..., Any]
) -> None:
    async def go() -> tuple[list[ReplyProgress], Any, list[ReplyProgress], Any]:
        async with client_for(env, profile) as client:
            service = ChatService(db, lambda _profile_id: client)
            thread = await service.threads.create_thread(
                profile_id=profile.id, model=model, params=greedy(8)
            )
            steps = await collect_progress(service.send(thread.id, "Tell me about rivers."))
            first = await service.threads.get_message(steps[-1].assistant_message_id)
            assert first is not None
            more = await collect_progress(service.continue_reply(first.id))
            continued = await service.threads.get_message(first.id)
            return steps, first, more, continued

    steps, first, more, continued = arun(go(), timeout=60)
    final = steps[-1]
    assert final.done and final.error is None
    assert final.finish_reason == "length"
    assert first.status == "complete"
    assert first.finish_reason == "length"
    assert first.content == final.content and first.content.strip()
    assert first.model == model
    # llama-cpp-python sends no usage in streams (it ignores stream_options); none is invented.
    assert first.usage is None
    assert more[-1].done and more[-1].error is None
    assert continued.id == first.id
    assert continued.content.startswith(first.content)
    assert len(continued.content) > len(first.content)
    assert continued.status == "complete" and continued.finish_reason == "length"

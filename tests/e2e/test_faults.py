"""Network and server faults, end to end: ProviderClient + ChatService + SQLite against the
DemoServer on loopback, with the failure injected server-side (`server.faults`).

Profiles come from the app's seed presets (`seed_profile`), so each fault is met in a real
dialect. The client's `sleep` is injected: retry waits are recorded (what the server advised, or
the backoff) and return at once. What a user would see is checked in the database: the reply
row's status, its error sentence (with the provider's own words) and the partial text kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.core.client import BACKOFF_BASE, ProviderClient
from app.core.demo import DemoServer
from app.core.errors import (
    ConnectError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
    TimeoutError_,
)
from app.core.protocol.types import ChatMessage, GenerationParams, VideoRequest
from app.core.providers import ProviderProfile
from app.core.services.chat import ChatService, ReplyProgress
from app.core.store.db import Database
from app.core.store.records import Message
from tests.e2e.helpers import seed_profile

from .conftest import DEMO_API_KEY

pytestmark = pytest.mark.e2e

Arun = Callable[..., Any]
PROMPT = "Please write 40 tokens about the sea"
SERVER_ERROR = "The server had an error while processing your request."

# (preset, flavour, path fragment of a chat request) — one per dialect shape.
DIALECTS = {
    "mollyra": ("mollyra", "mollyra", "/v1/chat/completions"),
    "melancholy": ("melancholy", "melancholy", "/melancholy/api/v1/chat/completions/"),
    "gateway-gemini": ("gateway-gemini", "gateway-gemini", ":streamGenerateContent"),
}


@pytest.fixture
def server(demo_server_factory: Callable[..., DemoServer]) -> DemoServer:
    # No pacing: a fault happens at its event count, not after some time.
    return demo_server_factory(token_rate=0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "faults.db")
    try:
        yield database
    finally:
        database.close()


@dataclass
class Run:
    """One scenario's client, service and what the client waited before retrying."""

    client: ProviderClient
    service: ChatService
    profile: ProviderProfile
    waits: list[float] = field(default_factory=list)

    async def thread(self) -> int:
        thread = await self.service.threads.create_thread(
            profile_id=self.profile.id, model=self.profile.model_for("chat")
        )
        return thread.id

    async def send(self, text: str = PROMPT) -> tuple[ReplyProgress, Message]:
        """Send `text` in a new thread; the final progress and the stored reply row."""
        return await self.finish(self.service.send(await self.thread(), text))

    async def finish(
        self, stream: AsyncGenerator[ReplyProgress, None]
    ) -> tuple[ReplyProgress, Message]:
        async with aclosing(stream) as steps:
            final = [p async for p in steps][-1]
        assert final.done
        row = await self.service.threads.get_message(final.assistant_message_id)
        assert row is not None
        return final, row


def scenario_runner(
    db: Database, profile: ProviderProfile, **client_kwargs: Any
) -> Callable[[Callable[[Run], Awaitable[None]]], Awaitable[None]]:
    async def run(body: Callable[[Run], Awaitable[None]]) -> None:
        waits: list[float] = []

        async def record_sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(0)

        async with ProviderClient(
            profile, DEMO_API_KEY, sleep=record_sleep, **client_kwargs
        ) as client:
            service = ChatService(db, lambda _profile_id: client)
            await body(Run(client, service, profile, waits))

    return run


def mollyra(server: DemoServer, **changes: Any) -> ProviderProfile:
    profile = seed_profile(server, "mollyra", "mollyra")
    for name, value in changes.items():
        setattr(profile, name, value)
    return profile


def chat_posts(server: DemoServer, fragment: str = "/chat/completions") -> int:
    return len(server.requests.find(fragment, method="POST"))


async def full_reply(run: Run, text: str = PROMPT) -> str:
    """What the server answers without faults (it is deterministic)."""
    result = await run.client.chat("", [ChatMessage("user", text)], GenerationParams())
    return result.choices[0].content


# --- delays and stalls ------------------------------------------------------------------------


def test_a_delay_within_the_read_timeout_succeeds(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", delay_s=0.3, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert (final.status, row.status, row.error) == ("complete", "complete", None)
        assert row.content
        assert chat_posts(server) == 1 and run.waits == []

    arun(scenario_runner(db, mollyra(server, read_timeout=5.0))(body))


def test_a_delay_beyond_the_read_timeout_is_a_timeout_and_nothing_is_lost(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", delay_s=5.0, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, TimeoutError_)
        assert row.status == "error" and row.content == ""
        assert f"127.0.0.1:{server.port} took too long to answer" in (row.error or "")
        assert "raise the read timeout" in (row.error or "")
        # The server may be working on it (and billing it): a read timeout is not re-sent.
        assert chat_posts(server) == 1 and run.waits == []
        # Nothing is lost: the question is stored, and Retry answers it.
        user = await run.service.threads.get_message(row.parent_id or 0)
        assert user is not None and user.role == "user" and user.content == PROMPT
        retried, again = await run.finish(run.service.retry(row.id))
        assert retried.status == "complete" and again.content
        assert again.parent_id == user.id

    arun(scenario_runner(db, mollyra(server, read_timeout=0.3))(body))


def test_a_stall_mid_stream_shorter_than_the_read_timeout_completes(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", stall_s=0.4, stall_after_events=3, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert final.status == "complete" and row.status == "complete"
        assert row.content == await full_reply(run)
        assert run.waits == []

    arun(scenario_runner(db, mollyra(server, read_timeout=5.0))(body))


def test_a_stall_mid_stream_longer_than_the_read_timeout_keeps_the_partial_text(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", stall_s=5.0, stall_after_events=4, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, StreamInterruptedError)
        assert row.status == "error"
        assert "stopped sending while the reply was streaming" in (row.error or "")
        assert row.content and (await full_reply(run)).startswith(row.content)
        assert chat_posts(server) == 2  # the stalled one, and full_reply's

    arun(scenario_runner(db, mollyra(server, read_timeout=0.5))(body))


# --- disconnects ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_a_disconnect_mid_stream_keeps_the_partial_text_and_can_be_continued(
    dialect: str, server: DemoServer, db: Database, arun: Arun
) -> None:
    preset, flavour, fragment = DIALECTS[dialect]
    profile = seed_profile(server, preset, flavour)
    server.faults.add(path_contains=fragment, disconnect_after_events=5, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, StreamInterruptedError)
        assert (final.status, row.status) == ("error", "error")
        assert "dropped the connection while the reply was streaming" in (row.error or "")
        assert "What arrived was kept" in (row.error or "")
        partial = row.content
        assert partial and partial == final.content
        # Output had reached the user: never sent again behind their back.
        assert len(server.requests.find(fragment, method="POST")) == 1 and run.waits == []

        more, continued = await run.finish(run.service.continue_reply(row.id))
        assert more.status == "complete" and continued.id == row.id
        assert continued.status == "complete" and continued.error is None
        assert continued.content.startswith(partial) and len(continued.content) > len(partial)

    arun(scenario_runner(db, profile)(body))


def test_a_disconnect_before_any_answer_is_retried(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    # On a non-streamed request the server closes the socket without any response.
    server.faults.add(path_contains="/models", disconnect_after_events=0, times=1)

    async def body(run: Run) -> None:
        models = await run.client.list_models()
        assert models
        assert len(server.requests.find("/v1/models")) == 2
        assert len(run.waits) == 1 and 0.75 * BACKOFF_BASE <= run.waits[0] <= BACKOFF_BASE

    arun(scenario_runner(db, mollyra(server))(body))


def test_a_disconnect_before_any_answer_gives_up_with_a_connect_error(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="/models", disconnect_after_events=0)

    async def body(run: Run) -> None:
        with pytest.raises(ConnectError) as caught:
            await run.client.list_models()
        assert "dropped the connection" in caught.value.user_message
        assert len(server.requests.find("/v1/models")) == 2 and len(run.waits) == 1

    arun(scenario_runner(db, mollyra(server, max_retries=1))(body))


# --- 429 and Retry-After ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advice", "expected_wait"),
    [({"retry_after": 2}, 2.0), ({"retry_after_ms": 1500}, 1.5)],
    ids=["retry-after", "retry-after-ms"],
)
@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_a_429_is_retried_after_the_advised_wait(
    dialect: str,
    advice: dict[str, float],
    expected_wait: float,
    server: DemoServer,
    db: Database,
    arun: Arun,
) -> None:
    preset, flavour, fragment = DIALECTS[dialect]
    server.faults.add(path_contains=fragment, status=429, times=1, **advice)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert (final.status, row.status, row.error) == ("complete", "complete", None)
        assert row.content
        assert run.waits == [expected_wait]
        assert len(server.requests.find(fragment, method="POST")) == 2

    arun(scenario_runner(db, seed_profile(server, preset, flavour))(body))


def test_a_429_asking_for_longer_than_the_cap_is_raised_with_retry_after(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", status=429, retry_after=120)

    async def body(run: Run) -> None:
        final, row = await run.send()
        error = final.error
        assert isinstance(error, RateLimitError)
        assert error.status == 429 and error.retry_after == 120
        # Waiting two minutes inside a request would look like a hang: no wait, no retry.
        assert run.waits == [] and chat_posts(server) == 1
        assert row.status == "error" and row.content == ""
        assert "Rate limit reached for requests" in (row.error or "")

    arun(scenario_runner(db, mollyra(server), max_retry_wait=60.0)(body))


# --- 5xx --------------------------------------------------------------------------------------


def test_a_5xx_once_is_retried_then_succeeds(server: DemoServer, db: Database, arun: Arun) -> None:
    server.faults.add(path_contains="chat/completions", status=503, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert final.status == "complete" and row.content
        assert chat_posts(server) == 2
        assert len(run.waits) == 1 and 0.75 * BACKOFF_BASE <= run.waits[0] <= BACKOFF_BASE

    arun(scenario_runner(db, mollyra(server))(body))


def test_a_5xx_every_time_is_a_server_error_after_max_retries(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", status=500)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, ServerError) and final.error.status == 500
        assert chat_posts(server) == 1 + run.profile.max_retries == 4
        # Exponential backoff: each wait longer than the one before.
        assert len(run.waits) == 3 and run.waits == sorted(run.waits)
        assert row.status == "error" and row.content == ""
        assert SERVER_ERROR in (row.error or "")

    arun(scenario_runner(db, mollyra(server))(body))


# --- malformed replies ------------------------------------------------------------------------


def test_a_malformed_stream_line_is_skipped_and_the_reply_completes(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    # Issue 7 changed this: a `data:` line that is not JSON (proxies send such lines) no longer
    # ends the stream as an error; it is skipped and the whole reply is delivered.
    server.faults.add(path_contains="chat/completions", malformed_after_events=4, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert final.error is None
        assert row.status == "complete"
        assert row.content == await full_reply(run)

    arun(scenario_runner(db, mollyra(server))(body))


def test_a_stream_that_delivers_nothing_is_an_error_with_nothing_kept(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    # Issue 7: a 200 stream with no event at all is "an empty reply", not a complete one.
    server.faults.add(path_contains="chat/completions", cut_after_events=0, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, MalformedResponseError)
        assert "empty reply" in final.error.user_message
        assert (row.status, row.content) == ("error", "")
        assert chat_posts(server) == 1  # not a transient failure: not retried

    arun(scenario_runner(db, mollyra(server))(body))


def test_an_html_page_instead_of_a_stream_is_named_in_the_error(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", wrong_content_type=True, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        error = final.error
        assert isinstance(error, MalformedResponseError)
        assert "answered a streaming request with text/html instead of an event stream" in (
            error.user_message
        )
        assert "Welcome to nginx!" in (error.provider_message or "")
        assert row.status == "error" and row.content == ""
        assert "Welcome to nginx!" in (row.error or "")
        assert "<title>" not in (row.error or "")  # summarised, tags stripped

    arun(scenario_runner(db, mollyra(server))(body))


def test_a_truncated_json_reply_is_a_malformed_response(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    # On a non-streamed request `malformed_after_events` answers 200 with cut-off JSON.
    server.faults.add(path_contains="chat/completions", malformed_after_events=0, times=1)

    async def body(run: Run) -> None:
        with pytest.raises(MalformedResponseError) as caught:
            await full_reply(run)
        assert "answered with application/json that is not valid JSON" in (
            caught.value.user_message
        )
        assert chat_posts(server) == 1
        assert await full_reply(run)

    arun(scenario_runner(db, mollyra(server))(body))


def test_an_html_page_instead_of_json_is_named_in_the_error(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="/models", wrong_content_type=True, times=1)

    async def body(run: Run) -> None:
        with pytest.raises(MalformedResponseError) as caught:
            await run.client.list_models()
        assert "answered with text/html that is not valid JSON" in caught.value.user_message
        assert "Welcome to nginx!" in (caught.value.provider_message or "")
        assert await run.client.list_models()  # the next answer is fine again

    arun(scenario_runner(db, mollyra(server))(body))


# --- an error event in the middle of a stream -------------------------------------------------


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_an_error_event_mid_stream_keeps_the_provider_message_and_the_partial_text(
    dialect: str, server: DemoServer, db: Database, arun: Arun
) -> None:
    preset, flavour, fragment = DIALECTS[dialect]
    profile = seed_profile(server, preset, flavour)
    server.faults.add(path_contains=fragment, error_event_after=4, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, ServerError)
        assert final.error.provider_message == SERVER_ERROR
        assert row.status == "error" and SERVER_ERROR in (row.error or "")
        assert row.content and row.content == final.content
        assert len(server.requests.find(fragment, method="POST")) == 1 and run.waits == []

    arun(scenario_runner(db, profile)(body))


def test_an_error_event_before_any_text_is_retried_like_a_5xx(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    server.faults.add(path_contains="chat/completions", error_event_after=0, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert final.status == "complete" and row.content == await full_reply(run)
        assert len(run.waits) == 1  # nothing had reached the user: safe to ask again
        assert chat_posts(server) == 3  # the failed stream, its retry, and full_reply's

    arun(scenario_runner(db, mollyra(server))(body))


def test_an_html_page_instead_of_a_gemini_stream_is_named_in_the_error(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    preset, flavour, fragment = DIALECTS["gateway-gemini"]
    server.faults.add(path_contains=fragment, wrong_content_type=True, times=1)

    async def body(run: Run) -> None:
        final, row = await run.send()
        assert isinstance(final.error, MalformedResponseError)
        assert "Welcome to nginx!" in (row.error or "") and row.content == ""

    arun(scenario_runner(db, seed_profile(server, preset, flavour))(body))


def test_a_503_while_polling_a_video_task_is_retried(
    server: DemoServer, db: Database, arun: Arun
) -> None:
    profile = seed_profile(server, "melancholy", "melancholy")

    async def body(run: Run) -> None:
        task = await run.client.create_video(VideoRequest("A lighthouse at night"))
        server.faults.add(path_contains="/video/generations/task_", status=503, times=1)
        polled = await run.client.get_video(task.task_id)
        assert polled.task_id == task.task_id and polled.raw_status
        assert len(run.waits) == 1
        polls = server.requests.find(f"/video/generations/{task.task_id}", method="GET")
        assert len(polls) == 2

    arun(scenario_runner(db, profile)(body))

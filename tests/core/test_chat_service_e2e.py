"""ChatService end to end: the real ProviderClient against the real demo server on loopback.

Nothing is faked between the service and the socket: requests go through httpx to the demo
server's OpenAI dialect (`/v1`), replies are streamed as SSE, faults are injected server-side
(`server.faults`), and the service writes a real SQLite database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from app.core.client import ProviderClient
from app.core.demo import DemoServer
from app.core.protocol.types import GenerationParams
from app.core.providers import ProviderProfile
from app.core.services.chat import ChatService, ReplyProgress
from app.core.store.db import Database

pytestmark = pytest.mark.e2e

KEY = "sk-chat-e2e-secret"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()
    server.token_rate = 0


@pytest.fixture
def profile(server: DemoServer) -> ProviderProfile:
    openai = next(p for p in server.profiles() if p.id == "demo-openai")
    # No retries: a fault must reach the service, and no test waits for a backoff.
    return dataclasses.replace(openai, max_retries=0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "e2e.db")
    try:
        yield database
    finally:
        database.close()


async def collect(stream: AsyncIterator[ReplyProgress]) -> list[ReplyProgress]:
    async with aclosing(stream) as progress:
        return [p async for p in progress]


async def run_with_client(profile: ProviderProfile, db: Database, scenario: Any) -> None:
    async with ProviderClient(profile, KEY) as client:
        service = ChatService(db, lambda _: client)
        await scenario(service)


def chat_requests(server: DemoServer, path: str = "/v1/chat/completions") -> list[Any]:
    return [r.json for r in server.requests.find(path, method="POST") if r.path == path]


def test_a_streamed_reply_is_saved_complete_with_usage(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        steps = await collect(service.send(thread.id, "Explain unit tests briefly"))
        assert steps[0].content == "" and not steps[0].done
        final = steps[-1]
        assert final.status == "complete" and final.error is None
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert reply.status == "complete" and reply.finish_reason == "stop"
        assert reply.content == final.content and len(reply.content) > 20
        assert reply.usage is not None and reply.usage.completion_tokens
        assert reply.provider_name == profile.name and reply.model == "demo-chat"
        body = chat_requests(server)[-1]
        assert body["stream"] is True and body["messages"][-1] == {
            "role": "user",
            "content": "Explain unit tests briefly",
        }

    arun(run_with_client(profile, db, scenario))


def test_a_reply_cut_by_length_is_continued_in_place(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=profile.id, model="demo-chat", params=GenerationParams(max_tokens=5)
        )
        cut = (await collect(service.send(thread.id, "Tell me about rivers")))[-1]
        assert cut.status == "complete" and cut.finish_reason == "length"
        partial = cut.content
        assert len(partial.split()) == 5

        final = (await collect(service.continue_reply(cut.assistant_message_id)))[-1]
        assert final.status == "complete" and final.assistant_message_id == cut.assistant_message_id
        assert final.content.startswith(partial) and len(final.content) > len(partial)
        body = chat_requests(server)[-1]
        assert body["messages"][-1] == {"role": "assistant", "content": partial}
        assert body["max_tokens"] == 5
        reply = await service.threads.get_message(cut.assistant_message_id)
        assert reply is not None and reply.content == final.content
        assert len(await service.threads.siblings(reply.id)) == 1
        assert reply.usage is not None and reply.usage.completion_tokens == 10  # 5 + 5

    arun(run_with_client(profile, db, scenario))


def test_two_choices_become_two_alternatives(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=profile.id, model="demo-chat", params=GenerationParams(n=2)
        )
        final = (await collect(service.send(thread.id, "Name a colour")))[-1]
        assert final.status == "complete" and list(final.alternatives) == [1]
        rows = await service.threads.siblings(final.assistant_message_id)
        assert [m.id for m in rows] == [final.assistant_message_id, final.alternatives[1]]
        assert all(m.status == "complete" and m.content for m in rows)
        assert rows[0].content != rows[1].content  # the demo varies its text by choice
        assert rows[1].content == final.alternative_contents[1]
        leaf = await service.threads.default_leaf(thread.id)
        assert leaf is not None and leaf.id == final.assistant_message_id
        assert chat_requests(server)[-1]["n"] == 2

    arun(run_with_client(profile, db, scenario))


def test_a_server_error_mid_stream_keeps_the_partial_text(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    server.faults.add(path_contains="chat/completions", error_event_after=4, times=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = (await collect(service.send(thread.id, "Say something long")))[-1]
        assert final.status == "error" and final.error is not None
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.status == "error"
        assert reply.content and reply.content == final.content  # 3 tokens arrived
        assert "The server had an error while processing your request." in (reply.error or "")

    arun(run_with_client(profile, db, scenario))


def test_a_500_status_is_an_error_with_the_provider_message(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    server.faults.add(path_contains="chat/completions", status=500, times=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = (await collect(service.send(thread.id, "hello")))[-1]
        assert final.status == "error"
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and (reply.status, reply.content) == ("error", "")
        assert "The server had an error while processing your request." in (reply.error or "")
        retried = (await collect(service.retry(reply.id)))[-1]
        assert retried.status == "complete" and retried.content

    arun(run_with_client(profile, db, scenario))


def test_a_completion_thread_uses_the_completions_endpoint(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            kind="completion", profile_id=profile.id, model="demo-instruct"
        )
        final = (await collect(service.send(thread.id, "Once upon a time")))[-1]
        assert final.status == "complete" and final.content
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.role == "assistant" and reply.content == final.content
        assert reply.parent_id == final.user_message.id
        bodies = chat_requests(server, "/v1/completions")
        assert len(bodies) == 1 and bodies[0]["prompt"] == "Once upon a time"
        assert chat_requests(server) == []

        await collect(service.send(thread.id, " The end."))
        assert chat_requests(server, "/v1/completions")[-1]["prompt"] == (
            "Once upon a time" + final.content + " The end."
        )

    arun(run_with_client(profile, db, scenario))


def test_a_disconnect_mid_stream_keeps_the_partial_text(
    server: DemoServer, profile: ProviderProfile, db: Database, arun
) -> None:
    server.faults.add(path_contains="chat/completions", disconnect_after_events=5, times=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = (await collect(service.send(thread.id, "Describe the sea")))[-1]
        assert final.status == "error"
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.status == "error"
        assert reply.content and len(reply.content.split()) == 4  # events 1..4 were tokens
        assert "dropped the connection while the reply was streaming" in (reply.error or "")
        assert "What arrived was kept" in (reply.error or "")
        # and it can be continued
        more = (await collect(service.continue_reply(reply.id)))[-1]
        assert more.status == "complete" and more.content.startswith(reply.content)

    arun(run_with_client(profile, db, scenario))

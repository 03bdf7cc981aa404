"""Every chat-thread feature over a Gemini-dialect profile, end to end, for both Gemini flavours.

The real `ProviderClient` talks to the real demo server on loopback — native Gemini
(`/gemini/v1beta`, Google's error shapes) and the gateway's Gemini endpoint (`/api/v1beta`) —
and `ChatService` writes a real SQLite database. What the app sent is checked in the server's
request log (`server.requests`), faults are injected server-side (`server.faults`).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from app.core.client import ProviderClient
from app.core.demo import DemoServer
from app.core.errors import AuthenticationError, ConfigError
from app.core.protocol.types import GenerationParams, ImagePart, TextPart
from app.core.providers import ProviderProfile
from app.core.services.chat import ChatService, ReplyProgress
from app.core.services.continuation import CONTINUE_INSTRUCTION
from app.core.services.export import export_archive, export_thread
from app.core.services.importers import import_archive
from app.core.store.db import Database

pytestmark = pytest.mark.e2e

KEY = "gm-threads-e2e-secret"
FLAVOURS = ("gemini", "gateway-gemini")
PREFIX = {"gemini": "/gemini/v1beta", "gateway-gemini": "/api/v1beta"}
# The smallest valid PNG (1x1, transparent): an attachment the demo counts as an image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(api_key=KEY, token_rate=0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh(server: DemoServer) -> None:
    server.reset()
    server.token_rate = 0


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def profile(server: DemoServer, flavour: str) -> ProviderProfile:
    found = next(p for p in server.profiles() if p.id == f"demo-{flavour}")
    # No retries unless a test asks: a fault must reach the service, no test waits on a backoff.
    return dataclasses.replace(found, max_retries=0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "gemini.db")
    try:
        yield database
    finally:
        database.close()


async def collect(stream: AsyncGenerator[ReplyProgress, None]) -> list[ReplyProgress]:
    async with aclosing(stream) as progress:
        return [p async for p in progress]


async def last(stream: AsyncGenerator[ReplyProgress, None]) -> ReplyProgress:
    return (await collect(stream))[-1]


async def run_with_client(
    profile: ProviderProfile, db: Database, scenario: Any, key: str = KEY
) -> None:
    async with ProviderClient(profile, key) as client:
        service = ChatService(db, lambda _: client)
        await scenario(service)


def generate_bodies(server: DemoServer, flavour: str, *, stream: bool = True) -> list[Any]:
    """JSON bodies of the generate requests that reached `flavour`'s prefix, oldest first."""
    verb = ":streamGenerateContent" if stream else ":generateContent"
    return [
        r.json
        for r in server.requests.find(PREFIX[flavour] + "/models/", method="POST")
        if r.path.endswith(verb)
    ]


# --- streaming, usage, request shape ----------------------------------------------------------


def test_a_streamed_reply_is_saved_complete_with_usage(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=profile.id, model="demo-chat", system_prompt="You are terse."
        )
        steps = await collect(service.send(thread.id, "Explain unit tests briefly"))
        assert steps[0].content == "" and not steps[0].done
        assert sum(1 for s in steps if s.content_delta) > 10  # it streamed, token by token
        final = steps[-1]
        assert final.status == "complete" and final.error is None
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.status, reply.finish_reason) == ("complete", "stop")
        assert reply.content == final.content and "## " in reply.content
        assert reply.usage is not None
        assert reply.usage.prompt_tokens and reply.usage.completion_tokens
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
        assert reply.provider_name == profile.name and reply.model == "demo-chat"

        recorded = server.requests.find(PREFIX[flavour] + "/models/demo-chat:", method="POST")
        assert len(recorded) == 1
        assert recorded[0].query == {"alt": "sse"}
        assert recorded[0].headers["x-goog-api-key"] == "<redacted>" and recorded[0].auth_valid
        assert "authorization" not in recorded[0].headers
        body = recorded[0].json
        assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": "Explain unit tests briefly"}]}
        ]
        assert "generationConfig" not in body  # nothing set, nothing sent

    arun(run_with_client(profile, db, scenario))


def test_the_second_turn_sends_the_history_with_model_roles(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        first = await last(service.send(thread.id, "Name a river"))
        await last(service.send(thread.id, "And a lake?"))
        body = generate_bodies(server, flavour)[-1]
        assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
        assert body["contents"][1]["parts"] == [{"text": first.content}]
        assert "systemInstruction" not in body

    arun(run_with_client(profile, db, scenario))


def test_set_params_become_generation_config_and_only_those(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    params = GenerationParams(
        temperature=0.3,
        top_p=0.9,
        top_k=40,
        max_tokens=500,
        stop=["ZZZ"],
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=0.25,
    )

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=profile.id, model="demo-chat", params=params
        )
        final = await last(service.send(thread.id, "Tell me about owls"))
        assert final.status == "complete"
        await last(
            service.send(
                thread.id, "And bats?", params=GenerationParams(temperature=1.0, stop="X Y")
            )
        )
        first, second = generate_bodies(server, flavour)
        assert first["generationConfig"] == {
            "temperature": 0.3,
            "topP": 0.9,
            "topK": 40,
            "maxOutputTokens": 500,
            "stopSequences": ["ZZZ"],
            "seed": 7,
            "presencePenalty": 0.5,
            "frequencyPenalty": 0.25,
        }
        assert second["generationConfig"] == {"temperature": 1.0, "stopSequences": ["X Y"]}
        for body in (first, second):
            assert "model" not in body and "stream" not in body and "messages" not in body

    arun(run_with_client(profile, db, scenario))


def test_a_stop_sequence_cuts_the_reply(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        whole = await last(service.send(thread.id, "Describe gardens"))
        assert "```python" in whole.content
        cut = await last(
            service.regenerate(
                whole.assistant_message_id, params=GenerationParams(stop=["```python"])
            )
        )
        assert cut.status == "complete" and "```python" not in cut.content
        assert whole.content.startswith(cut.content.rstrip())

    arun(run_with_client(profile, db, scenario))


# --- alternatives, length, continue, regenerate, branches -------------------------------------


def test_two_candidates_become_two_alternatives(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=profile.id, model="demo-chat", params=GenerationParams(n=2)
        )
        final = await last(service.send(thread.id, "Name a colour"))
        assert final.status == "complete" and list(final.alternatives) == [1]
        rows = await service.threads.siblings(final.assistant_message_id)
        assert [m.id for m in rows] == [final.assistant_message_id, final.alternatives[1]]
        assert all(m.status == "complete" and m.content and m.finish_reason == "stop" for m in rows)
        assert rows[0].content != rows[1].content
        assert rows[1].content == final.alternative_contents[1]
        leaf = await service.threads.default_leaf(thread.id)
        assert leaf is not None and leaf.id == final.assistant_message_id
        assert generate_bodies(server, flavour)[-1]["generationConfig"] == {"candidateCount": 2}

    arun(run_with_client(profile, db, scenario))


def test_a_reply_cut_by_max_tokens_is_continued_in_place(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=profile.id, model="demo-chat", params=GenerationParams(max_tokens=5)
        )
        cut = await last(service.send(thread.id, "Tell me about rivers"))
        assert cut.status == "complete" and cut.finish_reason == "length"  # MAX_TOKENS
        partial = cut.content
        assert len(partial.split()) == 5

        final = await last(service.continue_reply(cut.assistant_message_id))
        assert final.status == "complete"
        assert final.assistant_message_id == cut.assistant_message_id
        assert final.content.startswith(partial) and len(final.content) > len(partial)
        body = generate_bodies(server, flavour)[-1]
        # The partial reply goes back as a `model` turn, then a user turn asks to continue
        # (recent Gemini models refuse contents that end with a model turn); n is never asked.
        assert body["contents"][-2] == {"role": "model", "parts": [{"text": partial}]}
        assert body["contents"][-1] == {"role": "user", "parts": [{"text": CONTINUE_INSTRUCTION}]}
        assert body["generationConfig"] == {"maxOutputTokens": 5}
        reply = await service.threads.get_message(cut.assistant_message_id)
        assert reply is not None and reply.content == final.content
        assert len(await service.threads.siblings(reply.id)) == 1
        assert reply.usage is not None and reply.usage.completion_tokens == 10  # 5 + 5

    arun(run_with_client(profile, db, scenario))


def test_regenerate_adds_a_sibling_reply(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        first = await last(service.send(thread.id, "Suggest a name for a cat"))
        again = await last(
            service.regenerate(first.assistant_message_id, params=GenerationParams(seed=3))
        )
        assert again.status == "complete" and again.content
        assert again.assistant_message_id != first.assistant_message_id
        siblings = await service.threads.siblings(first.assistant_message_id)
        assert [m.id for m in siblings] == [first.assistant_message_id, again.assistant_message_id]
        leaf = await service.threads.default_leaf(thread.id)
        assert leaf is not None and leaf.id == again.assistant_message_id
        bodies = generate_bodies(server, flavour)
        assert len(bodies) == 2 and bodies[0]["contents"] == bodies[1]["contents"]
        assert bodies[1]["generationConfig"] == {"seed": 3}

    arun(run_with_client(profile, db, scenario))


def test_edit_and_resend_makes_a_branch(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        first = await last(service.send(thread.id, "Explain volcanoes"))
        second = await last(service.send(thread.id, "Explain glaciers"))
        edited = await last(service.edit_and_resend(second.user_message.id, "Explain deserts"))
        assert edited.status == "complete" and edited.content
        users = await service.threads.siblings(second.user_message.id)
        assert [m.content for m in users] == ["Explain glaciers", "Explain deserts"]
        path = await service.threads.current_path(thread.id)
        assert [m.content for m in path][-2:] == ["Explain deserts", edited.content]
        assert path[1].id == first.assistant_message_id  # the shared history stays
        body = generate_bodies(server, flavour)[-1]
        assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
        assert body["contents"][-1]["parts"] == [{"text": "Explain deserts"}]

    arun(run_with_client(profile, db, scenario))


# --- errors, retry ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 429])
def test_an_error_status_is_an_error_row_and_retry_recovers(
    server: DemoServer,
    profile: ProviderProfile,
    flavour: str,
    db: Database,
    arun,
    status: int,
) -> None:
    server.faults.add(path_contains=":streamGenerateContent", status=status, times=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        failed = await last(service.send(thread.id, "hello there"))
        assert failed.status == "error" and failed.error is not None
        reply = await service.threads.get_message(failed.assistant_message_id)
        assert reply is not None and (reply.status, reply.content) == ("error", "")
        provider_says = (
            "The server had an error while processing your request."
            if status == 500
            else "Rate limit reached for requests."
        )
        assert provider_says in (reply.error or "")
        retried = await last(service.retry(reply.id))
        assert retried.status == "complete" and retried.content
        siblings = await service.threads.siblings(reply.id)
        assert [m.status for m in siblings] == ["error", "complete"]

    arun(run_with_client(profile, db, scenario))


def test_a_429_before_output_is_retried_by_the_client(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    server.faults.add(path_contains=":streamGenerateContent", status=429, retry_after=0, times=1)
    retrying = dataclasses.replace(profile, max_retries=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=retrying.id, model="demo-chat")
        final = await last(service.send(thread.id, "hello again"))
        assert final.status == "complete" and final.content
        assert len(generate_bodies(server, flavour)) == 2

    arun(run_with_client(retrying, db, scenario))


def test_a_drop_mid_stream_keeps_the_text_and_continues(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    server.faults.add(path_contains=":streamGenerateContent", disconnect_after_events=5, times=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = await last(service.send(thread.id, "Describe the sea"))
        assert final.status == "error"
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.status == "error"
        assert reply.content and len(reply.content.split()) == 5
        assert "What arrived was kept" in (reply.error or "")
        more = await last(service.continue_reply(reply.id))
        assert more.status == "complete" and more.content.startswith(reply.content)

    arun(run_with_client(profile, db, scenario))


def test_an_error_event_mid_stream_is_an_error_with_the_partial_text(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    server.faults.add(path_contains=":streamGenerateContent", error_event_after=4, times=1)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = await last(service.send(thread.id, "Say something long"))
        assert final.status == "error" and final.error is not None
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.status == "error"
        assert reply.content and reply.content == final.content
        assert "The server had an error while processing your request." in (reply.error or "")
        assert "INTERNAL" not in reply.content and "error" not in reply.content.lower()

    arun(run_with_client(profile, db, scenario))


def test_a_blocked_prompt_is_an_error_never_text(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = await last(service.send(thread.id, "Something [blocked] please"))
        assert final.status == "error" and final.content == ""
        assert final.error is not None and "blocked" in str(final.error)
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None
        assert (reply.status, reply.content, reply.reasoning) == ("error", "", "")
        assert reply.error == (
            "The provider blocked this prompt or reply (reason: safety). Rephrase and try again."
        )
        # A failed reply is left out of the next request: Gemini rejects empty parts.
        await last(service.send(thread.id, "A harmless question"))
        body = generate_bodies(server, flavour)[-1]
        assert [c["role"] for c in body["contents"]] == ["user"]
        assert [p["text"] for p in body["contents"][0]["parts"]] == [
            "Something [blocked] please",
            "A harmless question",
        ]

    arun(run_with_client(profile, db, scenario))


def test_a_wrong_key_is_an_authentication_sentence(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = await last(service.send(thread.id, "hello"))
        assert final.status == "error" and isinstance(final.error, AuthenticationError)
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and (reply.status, reply.content) == ("error", "")
        assert "key" in (reply.error or "").lower()
        assert "wrong-key-value" not in (reply.error or "")
        # Native Gemini answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID.
        expected_status = 400 if flavour == "gemini" else 401
        assert final.error.status == expected_status

    arun(run_with_client(profile, db, scenario, key="wrong-key-value"))


def test_no_key_says_the_profile_has_none(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = await last(service.send(thread.id, "hello"))
        assert final.status == "error" and isinstance(final.error, AuthenticationError)
        assert "this profile has none" in str(final.error)
        recorded = generate_bodies(server, flavour)
        assert len(recorded) == 1  # an auth refusal is not retried

    arun(run_with_client(profile, db, scenario, key=""))


# --- reasoning, attachments --------------------------------------------------------------------


def test_thought_parts_are_kept_as_reasoning(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-thinking")
        steps = await collect(service.send(thread.id, "Why is the sky blue?"))
        final = steps[-1]
        assert final.status == "complete"
        assert any(s.reasoning_delta for s in steps)
        reply = await service.threads.get_message(final.assistant_message_id)
        assert reply is not None and reply.reasoning and reply.content
        assert reply.reasoning not in reply.content
        assert reply.usage is not None and reply.usage.reasoning_tokens
        # Reasoning is never sent back on the next turn.
        await last(service.send(thread.id, "And at sunset?"))
        body = generate_bodies(server, flavour)[-1]
        assert body["contents"][1] == {"role": "model", "parts": [{"text": reply.content}]}

    arun(run_with_client(profile, db, scenario))


def test_image_attachments_go_as_inline_data(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        final = await last(
            service.send(
                thread.id,
                [TextPart("What is in this picture?"), ImagePart(mime="image/png", data=PNG)],
            )
        )
        assert final.status == "complete"
        assert "I can see 1 image attached" in final.content
        body = generate_bodies(server, flavour)[-1]
        assert body["contents"][0]["parts"] == [
            {"text": "What is in this picture?"},
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
        ]
        user = await service.threads.get_message(final.user_message.id)
        assert user is not None and user.parts[0]["mime"] == "image/png"
        # Editing only the text keeps the picture.
        await last(service.edit_and_resend(user.id, "Describe this picture"))
        parts = generate_bodies(server, flavour)[-1]["contents"][0]["parts"]
        assert parts[0] == {"text": "Describe this picture"} and "inlineData" in parts[1]

    arun(run_with_client(profile, db, scenario))


# --- titles, context, models ------------------------------------------------------------------


def test_auto_title_asks_the_gemini_model(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        await last(service.send(thread.id, "How do lighthouses work"))
        title = await service.auto_title(thread.id, ask_model=True)
        assert title and title != "New chat" and len(title) <= 60
        stored = await service.threads.get_thread(thread.id)
        assert stored is not None and stored.title == title
        unary = generate_bodies(server, flavour, stream=False)
        assert len(unary) == 1
        assert "name chat conversations" in unary[0]["systemInstruction"]["parts"][0]["text"]
        assert unary[0]["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 20}
        assert "lighthouses" in title.lower()  # the demo's answer echoes the topic

    arun(run_with_client(profile, db, scenario))


def test_auto_title_falls_back_when_the_title_request_fails(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    server.faults.add(path_contains=":generateContent", status=503)

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-chat")
        await last(service.send(thread.id, "How do lighthouses work"))
        title = await service.auto_title(thread.id, ask_model=True)
        assert title == "How do lighthouses work"

    arun(run_with_client(profile, db, scenario))


def test_a_small_context_window_drops_the_oldest_turns(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    small = dataclasses.replace(profile, context_windows={"demo-chat": 260})

    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            profile_id=small.id,
            model="demo-chat",
            system_prompt="Be brief.",
            params=GenerationParams(max_tokens=100),
        )
        for topic in ("rivers", "mountains", "forests"):
            final = await last(service.send(thread.id, f"Tell me about {topic}"))
            assert final.status == "complete"
        assert final.dropped_turns >= 1
        body = generate_bodies(server, flavour)[-1]
        assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        assert body["contents"][0]["role"] == "user"  # still starts with a user turn
        assert body["contents"][-1]["parts"] == [{"text": "Tell me about forests"}]
        texts = [p["text"] for c in body["contents"] for p in c["parts"]]
        assert "Tell me about rivers" not in texts

    arun(run_with_client(small, db, scenario))


def test_list_models_gives_picker_ids(
    server: DemoServer, profile: ProviderProfile, flavour: str, arun
) -> None:
    async def scenario() -> None:
        async with ProviderClient(profile, KEY) as client:
            models = await client.list_models()
            report = await client.test_connection()
        ids = [m.id for m in models]
        assert ids == [
            "gemini-2.5-flash",
            "gemini-2.5-pro",
            "demo-chat",
            "demo-thinking",
            "text-embedding-004",
        ]
        assert all(not i.startswith("models/") for i in ids)
        chat = {m.id for m in models if "chat" in m.capabilities}
        assert "demo-chat" in chat and "text-embedding-004" not in chat
        assert report.ok and [m.id for m in report.models] == ids
        listed = server.requests.find(PREFIX[flavour] + "/models", method="GET")
        assert listed and listed[0].path == PREFIX[flavour] + "/models"

    arun(scenario())


# --- completion threads -----------------------------------------------------------------------


def test_a_completion_thread_is_refused_with_a_sentence(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(
            kind="completion", profile_id=profile.id, model="demo-chat"
        )
        with pytest.raises(ConfigError) as caught:
            await last(service.send(thread.id, "Once upon a time"))
        sentence = str(caught.value)
        assert "Gemini" in sentence and "completion" in sentence.lower()
        assert "404" not in sentence
        # Refused before anything was written or sent.
        assert await service.threads.thread_messages(thread.id) == []
        assert server.requests.find(PREFIX[flavour]) == []

    arun(run_with_client(profile, db, scenario))


def test_a_completion_thread_cannot_be_regenerated_or_continued_on_gemini(
    server: DemoServer, profile: ProviderProfile, flavour: str, db: Database, arun
) -> None:
    openai = dataclasses.replace(
        next(p for p in server.profiles() if p.id == "demo-openai"), max_retries=0
    )

    async def scenario() -> None:
        async with ProviderClient(openai, KEY) as oa, ProviderClient(profile, KEY) as gm:
            clients = {openai.id: oa, profile.id: gm}
            service = ChatService(db, clients.__getitem__)
            thread = await service.threads.create_thread(
                kind="completion",
                profile_id=openai.id,
                model="demo-instruct",
                params=GenerationParams(max_tokens=3),
            )
            cut = await last(service.send(thread.id, "Once upon a time"))
            assert cut.status == "complete" and cut.finish_reason == "length"
            before = await service.threads.thread_messages(thread.id)
            with pytest.raises(ConfigError, match="completion threads cannot use it"):
                await last(service.regenerate(cut.assistant_message_id, profile_id=profile.id))
            with pytest.raises(ConfigError, match="completion threads cannot use it"):
                await last(service.continue_reply(cut.assistant_message_id, profile_id=profile.id))
            assert await service.threads.thread_messages(thread.id) == before
            assert server.requests.find(PREFIX[flavour]) == []

    arun(scenario())


# --- search, export/import ---------------------------------------------------------------------


def test_search_finds_gemini_replies_and_export_import_keeps_them(
    server: DemoServer,
    profile: ProviderProfile,
    flavour: str,
    db: Database,
    tmp_path: Path,
    arun,
) -> None:
    async def scenario(service: ChatService) -> None:
        thread = await service.threads.create_thread(profile_id=profile.id, model="demo-thinking")
        final = await last(service.send(thread.id, "Teach me about zeppelins"))
        assert final.status == "complete"
        hits = await service.threads.search("zeppelins")
        assert {h.message_id for h in hits} >= {final.assistant_message_id}
        assert any(h.role == "assistant" for h in hits)

        original = await service.threads.thread_messages(thread.id)
        await export_thread(service.threads, thread.id, tmp_path / "thread.json")
        assert await export_archive(service.threads, tmp_path / "all.json") == 1
        assert KEY not in (tmp_path / "thread.json").read_text(encoding="utf-8")

        other = Database.open(tmp_path / "other.db")
        try:
            report = await import_archive(other, tmp_path / "thread.json")
            assert (report.threads, report.messages) == (1, len(original))
            service2 = ChatService(other, lambda _: None)  # type: ignore[arg-type,return-value]
            copied = await service2.threads.thread_messages(report.thread_ids[0])
            for before, after in zip(original, copied, strict=True):
                for name in (
                    "role",
                    "content",
                    "reasoning",
                    "status",
                    "finish_reason",
                    "usage",
                    "model",
                    "profile_id",
                    "provider_name",
                ):
                    assert getattr(after, name) == getattr(before, name), name
            assert await service2.threads.search("zeppelins")
        finally:
            other.close()

    arun(run_with_client(profile, db, scenario))

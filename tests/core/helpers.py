"""Helpers shared by the tests of tests/core (never a test module itself): a scripted chat client,
recorded HTTP, archives; and for the images, notes and videos services a client-pool stand-in,
the demo server's profiles without retries, a database that closes, a service over a job engine."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.core.client import ProviderClient
from app.core.demo.server import DemoServer
from app.core.errors import ConfigError
from app.core.jobs import JobEngine, JobStore
from app.core.protocol.types import (
    ChatDelta,
    ChatMessage,
    ChatResult,
    Choice,
    GenerationParams,
)
from app.core.providers import ProviderProfile
from app.core.services.chat import ReplyProgress
from app.core.store.db import Database
from app.core.store.threads import ThreadRepository

KEY = "sk-test-abcdefghijklmnop1234"
Handler = Callable[[httpx.Request], Any]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode("ascii")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def at(self, t: float) -> Callable[[], Awaitable[None]]:
        async def move() -> None:
            self.now = t

        return move


class FakeClient:
    """A stand-in for ProviderClient whose streams play scripts.

    Each stream request (`chat_stream` or `complete_stream`) plays the next script of `scripts`
    (`then()` adds one); the last script is replayed when they run out. `chat` (used for titles)
    returns `chat_result` or raises it.
    """

    def __init__(
        self,
        script: list[Any],
        name: str = "Fake provider",
        context_windows: dict[str, int] | None = None,
    ) -> None:
        self.scripts = [script]
        self.profile = Profile(name, dict(context_windows or {}))
        self.calls: list[tuple[str, list[ChatMessage], GenerationParams]] = []
        self.prompts: list[tuple[str, str, GenerationParams]] = []
        self.chat_calls: list[tuple[str, list[ChatMessage], GenerationParams]] = []
        self.chat_result: ChatResult | BaseException = ChatResult(choices=[Choice(content="A title")])
        self.closed = False
        self._played = 0

    def then(self, script: list[Any]) -> FakeClient:
        self.scripts.append(script)
        return self

    def _next_script(self) -> list[Any]:
        script = self.scripts[min(self._played, len(self.scripts) - 1)]
        self._played += 1
        return script

    async def _play(self, script: list[Any]) -> AsyncIterator[ChatDelta]:
        self.closed = False
        try:
            for item in script:
                if isinstance(item, ChatDelta):
                    yield item
                elif isinstance(item, BaseException):
                    raise item
                else:
                    await item()
        finally:
            self.closed = True

    def chat_stream(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> AsyncIterator[ChatDelta]:
        self.calls.append((model, messages, params))
        return self._play(self._next_script())

    def complete_stream(
        self, model: str, prompt: str, params: GenerationParams
    ) -> AsyncIterator[ChatDelta]:
        self.prompts.append((model, prompt, params))
        return self._play(self._next_script())

    async def chat(
        self, model: str, messages: list[ChatMessage], params: GenerationParams
    ) -> ChatResult:
        self.chat_calls.append((model, messages, params))
        if isinstance(self.chat_result, BaseException):
            raise self.chat_result
        return self.chat_result


def text(s: str, **kw: Any) -> ChatDelta:
    return ChatDelta(content=s, **kw)


async def collect(stream: AsyncIterator[ReplyProgress]) -> list[ReplyProgress]:
    async with aclosing(stream) as progress:
        return [p async for p in progress]


async def new_thread(repo: ThreadRepository, **kw: Any) -> int:
    kw.setdefault("profile_id", "prof")
    kw.setdefault("model", "model-a")
    return (await repo.create_thread("chat", **kw)).id


def entry(title: str = "Trip") -> dict[str, Any]:
    return {
        "thread": {"title": title, "profile_id": "p", "model": "m", "created_at": 1.0,
                   "updated_at": 2.0, "params": {"temperature": 0.5}, "selected_leaf_id": 3},
        "messages": [
            {"id": 1, "parent_id": None, "role": "user", "content": "hi",
             "parts": [{"type": "image", "mime": "image/png", "data_b64": PNG}]},
            {"id": 2, "parent_id": 1, "role": "assistant", "content": "hello",
             "params": {"temperature": 0.5, "stop": ["END"]},
             "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
             "tool_calls": [{"index": 0, "id": "c1", "type": "function", "name": "f",
                             "arguments": "{}"}]},
            {"id": 3, "parent_id": 2, "role": "user", "content": "more"},
        ],
    }


def archive(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"format": "switchboard-archive", "version": 1, "threads": list(entries)}


SSE = {"content-type": "text/event-stream"}


class Recorder:
    """A MockTransport handler that answers from a list and records each request."""

    def __init__(self, *responses: httpx.Response | Exception | Callable[[httpx.Request], Any]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(
    handler: Handler, *, key: str | None = KEY, sleep: Sleeps | None = None, **kwargs: Any
) -> ProviderClient:
    max_retry_wait = kwargs.pop("max_retry_wait", 60.0)
    on_rate_limit = kwargs.pop("on_rate_limit", None)
    return ProviderClient(
        make_profile(**kwargs),
        key,
        transport=httpx.MockTransport(handler),
        sleep=sleep if sleep is not None else Sleeps(),
        max_retry_wait=max_retry_wait,
        on_rate_limit=on_rate_limit,
    )


def chat_json(text: str = "Hi there") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def sse_chunk(text: str, finish: str | None = None) -> bytes:
    obj = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(obj)}\n\n".encode()


@dataclass
class Profile:
    name: str
    context_windows: dict[str, int] = field(default_factory=dict)






def make_profile(**kwargs: Any) -> ProviderProfile:
    kwargs.setdefault("name", "Test")
    kwargs.setdefault("base_url", "https://api.example.com/v1")
    return ProviderProfile(**kwargs)




# --- the images, notes and videos services: a client pool, the demo profiles, a database ---


class Clients:
    """A minimal client pool: one ProviderClient per profile, closed by `aclose`."""

    def __init__(self, profiles: list[ProviderProfile], key: str | None) -> None:
        self.profiles = {p.id: p for p in profiles}
        self.key = key
        self.open: dict[str, ProviderClient] = {}

    async def get(self, profile_id: str) -> ProviderClient:
        if profile_id not in self.profiles:
            # What ClientPool raises for a deleted profile.
            raise ConfigError("This provider profile no longer exists.")
        if profile_id not in self.open:
            self.open[profile_id] = ProviderClient(self.profiles[profile_id], self.key)
        return self.open[profile_id]

    async def aclose(self) -> None:
        for client in self.open.values():
            await client.aclose()
        self.open.clear()


def profiles_without_retries(server: DemoServer) -> list[ProviderProfile]:
    """The demo server's profiles with retries off, so a fault shows at once."""
    return [dataclasses.replace(p, max_retries=0) for p in server.profiles()]


@contextmanager
def open_database(path: Path) -> Iterator[Database]:
    database = Database.open(path)
    try:
        yield database
    finally:
        database.close()


@asynccontextmanager
async def service_over[S](
    make: Callable[..., S],
    db: Database,
    profiles: list[ProviderProfile],
    key: str,
    *args: object,
    **kwargs: object,
) -> AsyncIterator[S]:
    """`make(db, engine, clients, *args, **kwargs)` over a fresh job engine and client pool;
    the service, then the engine, then the clients are closed on the way out."""
    clients = Clients(profiles, key)
    engine = JobEngine(JobStore(db))
    service: Any = make(db, engine, clients, *args, **kwargs)
    try:
        yield service
    finally:
        await service.aclose()
        await engine.aclose()
        await clients.aclose()


async def with_loop_ticks(work: Awaitable[Any]) -> tuple[Any, int]:
    """Await `work` while a task counts loop turns: (its result, how many turns the loop ran
    meanwhile). A long piece of work that never yields gives a count near zero."""
    import asyncio

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    try:
        result = await work
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return result, ticks

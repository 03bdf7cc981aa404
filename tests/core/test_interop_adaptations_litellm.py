"""What the app changed to cope with LiteLLM's proxy, on LiteLLM's exact replies (no server).

The bodies below were recorded from litellm 1.106.2 (`litellm --config ...`, mock models, no
database). The live counterparts are in tests/interop/test_litellm.py.

1. A wrong key gets HTTP 400 `{"error": {"message": "No connected db.", "type":
   "no_db_connection", "code": "400"}}`: it must read as a refused key, not a bad request.
2. A missing key gets a bare `500 Internal Server Error` (text/plain): the message must say that
   no key was sent; a 401 without a key must say the key is missing, not wrong.
3. The embedding mock returns one vector whatever the number of inputs: the client refuses a
   vector count that differs from the input count instead of mismatching texts and vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.core.client import ProviderClient
from app.core.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ServerError,
)
from app.core.protocol.errors import api_error_from_response
from app.core.protocol.types import ChatMessage, EmbeddingRequest, GenerationParams
from app.core.providers import KeySource, ProviderProfile

BASE = "http://litellm.test/v1"
KEY = "sk-0123456789abcdef0123456789abcdef"

NO_DB_BODY = (
    b'{"error":{"message":"No connected db.","type":"no_db_connection","param":null,"code":"400"}}'
)
UNKNOWN_MODEL_BODY = json.dumps(
    {
        "error": {
            "message": "/chat/completions: Invalid model name passed in model=nope. Call "
            "`/v1/models` to view available models for your key.",
            "type": "invalid_request_error",
            "param": None,
            "code": "400",
        }
    }
).encode()
ONE_VECTOR_BODY = {
    "model": "mock-embed",
    "data": [{"embedding": [0.25, -0.5, 0.125, 1.0], "index": 0, "object": "embedding"}],
    "object": "list",
    "usage": {"completion_tokens": 0, "prompt_tokens": 10, "total_tokens": 0},
}


def profile() -> ProviderProfile:
    return ProviderProfile(
        name="LiteLLM", base_url=BASE, key_source=KeySource.SESSION, max_retries=0
    )


def client_with(
    handler: Callable[[httpx.Request], httpx.Response], key: str | None
) -> ProviderClient:
    return ProviderClient(profile(), key, transport=httpx.MockTransport(handler))


async def chat_error(client: ProviderClient) -> Exception:
    async with client:
        with pytest.raises(Exception) as caught:
            await client.chat("mock-chat", [ChatMessage("user", "hi")], GenerationParams())
    return caught.value


# --- 1. wrong key: 400 no_db_connection ---------------------------------------------------------


def test_no_db_connection_body_is_an_authentication_error() -> None:
    error = api_error_from_response(400, {"content-type": "application/json"}, NO_DB_BODY)
    assert isinstance(error, AuthenticationError)
    assert error.status == 400
    assert error.user_message.startswith("The provider rejected the API key")
    assert error.provider_message == "No connected db."


def test_wrong_key_through_the_client_is_an_authentication_error(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer sk-wrong-0123456789"
        return httpx.Response(400, content=NO_DB_BODY, headers={"content-type": "application/json"})

    error = arun(chat_error(client_with(handler, "sk-wrong-0123456789")))
    assert isinstance(error, AuthenticationError)
    assert "API key" in str(error) and "sk-wrong" not in str(error)


def test_litellm_unknown_model_stays_a_bad_request_with_its_message() -> None:
    # Not swept up by the auth rule: only the no_db_connection type is.
    error = api_error_from_response(400, {"content-type": "application/json"}, UNKNOWN_MODEL_BODY)
    assert isinstance(error, BadRequestError)
    assert "Invalid model name passed in model=nope" in (error.provider_message or "")


# --- 2. missing key: bare 500 --------------------------------------------------------------------


def bare_500(request: httpx.Request) -> httpx.Response:
    assert "authorization" not in request.headers
    return httpx.Response(
        500, content=b"Internal Server Error", headers={"content-type": "text/plain; charset=utf-8"}
    )


def test_missing_key_bare_500_says_no_key_was_sent(arun: Callable[..., Any]) -> None:
    error = arun(chat_error(client_with(bare_500, None)))
    assert isinstance(error, ServerError)
    assert "No API key was sent" in error.user_message
    assert "Settings → Providers" in error.user_message
    assert error.provider_message == "Internal Server Error"


def test_bare_500_with_a_key_is_left_as_a_server_error(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=b"Internal Server Error")

    error = arun(chat_error(client_with(handler, KEY)))
    assert isinstance(error, ServerError)
    assert "No API key" not in error.user_message


def test_structured_500_without_a_key_is_left_alone(arun: Callable[..., Any]) -> None:
    # The server said what failed: the missing key is not the likely cause.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            500, json={"error": {"message": "model crashed", "type": "server_error"}}
        )

    error = arun(chat_error(client_with(handler, None)))
    assert isinstance(error, ServerError)
    assert "No API key" not in error.user_message
    assert error.provider_message == "model crashed"


def test_401_without_a_key_says_the_key_is_missing(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"error": {"message": "Authentication Error, No api key passed in."}}
        )

    error = arun(chat_error(client_with(handler, None)))
    assert isinstance(error, AuthenticationError)
    assert "this profile has none" in error.user_message
    assert error.provider_message == "Authentication Error, No api key passed in."


def test_no_key_wording_is_not_applied_to_another_host(arun: Callable[..., Any]) -> None:
    # A download from a CDN never carries the key; its 403 says nothing about the profile's key.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text="Forbidden")

    async def scenario() -> Exception:
        async with client_with(handler, None) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.download("http://cdn.example.test/img.png")
        return caught.value

    error = arun(scenario())
    assert "this profile has none" not in error.user_message


# --- 3. one vector for several inputs ---------------------------------------------------------------


def test_fewer_vectors_than_inputs_is_a_clear_error(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["input"] == ["a", "b", "c"]
        return httpx.Response(200, json=ONE_VECTOR_BODY)

    async def scenario() -> MalformedResponseError:
        async with client_with(handler, KEY) as client:
            with pytest.raises(MalformedResponseError) as caught:
                await client.embed(EmbeddingRequest(inputs=["a", "b", "c"], model="mock-embed"))
        return caught.value

    error = arun(scenario())
    assert "1 embedding vector(s) for 3 texts" in error.user_message
    assert "LiteLLM" in error.user_message


def test_one_vector_for_one_input_is_fine(arun: Callable[..., Any]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=ONE_VECTOR_BODY)

    async def scenario() -> list[list[float]]:
        async with client_with(handler, KEY) as client:
            result = await client.embed(EmbeddingRequest(inputs=["a"], model="mock-embed"))
        return result.vectors

    assert arun(scenario()) == [[0.25, -0.5, 0.125, 1.0]]


# --- 4. LiteLLM's `mode` and `max_input_tokens` in /v1/models ----------------------------------------


def test_litellm_model_modes_become_capabilities() -> None:
    from app.core.protocol.openai import parse_models

    body = {
        "data": [
            {"id": "mock-chat", "object": "model", "created": 1677610602, "owned_by": "openai"},
            {
                "id": "mock-embed",
                "object": "model",
                "created": 1677610602,
                "owned_by": "openai",
                "mode": "embedding",
                "max_input_tokens": 8191,
            },
            {
                "id": "mock-image",
                "object": "model",
                "owned_by": "openai",
                "mode": "image_generation",
            },
            {"id": "gpt-4o", "object": "model", "mode": "chat", "max_input_tokens": 128000},
        ],
        "object": "list",
    }
    models = {m.id: m for m in parse_models(body)}
    assert models["mock-chat"].capabilities == frozenset()  # not described: offered everywhere
    assert models["mock-embed"].capabilities == {"embedding"}
    assert models["mock-embed"].context_window == 8191
    assert models["mock-image"].capabilities == {"image"}
    assert models["gpt-4o"].capabilities == {"chat"}
    assert models["gpt-4o"].context_window == 128000

"""endpoint_url / gemini_base: every base URL flavour of the seeds, trailing slashes, queries."""

from __future__ import annotations

import pytest

from app.core.errors import ConfigError
from app.core.protocol.urls import endpoint_url, gemini_base


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("https://api.mollyra.ai/v1", "chat/completions", "https://api.mollyra.ai/v1/chat/completions"),
        ("https://api.mollyra.ai/v1/", "/chat/completions", "https://api.mollyra.ai/v1/chat/completions"),
        ("https://your-domain.com/api/v1", "models", "https://your-domain.com/api/v1/models"),
        ("https://api.horay.ai/v1//", "//chat/completions", "https://api.horay.ai/v1/chat/completions"),
        ("https://gen.example.com/openai/v1", "/embeddings", "https://gen.example.com/openai/v1/embeddings"),
        ("https://api.example.com", "models", "https://api.example.com/models"),
        ("http://127.0.0.1:1234/v1", "models", "http://127.0.0.1:1234/v1/models"),
        ("  https://api.example.com/v1  ", "models", "https://api.example.com/v1/models"),
        ("https://api.example.com/v1", "", "https://api.example.com/v1"),
        ("https://api.example.com", "", "https://api.example.com/"),
    ],
)
def test_endpoint_url_joins_with_one_slash(base: str, path: str, expected: str) -> None:
    assert endpoint_url(base, path) == expected


def test_trailing_slash_as_seed_004_documents() -> None:
    base = "https://app.melancholyai.fun/api/v1"
    assert (
        endpoint_url(base, "chat/completions", trailing_slash=True)
        == "https://app.melancholyai.fun/api/v1/chat/completions/"
    )
    assert (
        endpoint_url(base + "/", "/video/generations/", trailing_slash=True)
        == "https://app.melancholyai.fun/api/v1/video/generations/"
    )


def test_trailing_slash_never_on_gemini_colon_paths() -> None:
    url = endpoint_url(
        "https://your-domain.com/api/v1beta",
        "models/gemini-2.5-pro:streamGenerateContent",
        trailing_slash=True,
        query={"alt": "sse"},
    )
    assert url == "https://your-domain.com/api/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"


def test_trailing_slash_goes_before_the_query() -> None:
    url = endpoint_url("https://h/api/v1", "models?page=2", trailing_slash=True, query={"limit": "5"})
    assert url == "https://h/api/v1/models/?page=2&limit=5"


def test_queries_from_base_path_and_mapping_are_merged() -> None:
    url = endpoint_url(
        "https://h.openai.azure.com/openai/v1?api-version=2024-10-21",
        "chat/completions",
        query={"x": "a b"},
    )
    assert url == "https://h.openai.azure.com/openai/v1/chat/completions?api-version=2024-10-21&x=a+b"


def test_later_query_value_replaces_earlier() -> None:
    assert endpoint_url("https://h/v1?alt=json", "m", query={"alt": "sse"}) == "https://h/v1/m?alt=sse"


@pytest.mark.parametrize("base", ["", "api.example.com/v1", "ftp://h/v1", "https://"])
def test_unusable_base_is_a_config_error(base: str) -> None:
    with pytest.raises(ConfigError) as info:
        endpoint_url(base, "models")
    assert "base URL" in info.value.user_message


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://generativelanguage.googleapis.com", "https://generativelanguage.googleapis.com/v1beta"),
        ("https://generativelanguage.googleapis.com/", "https://generativelanguage.googleapis.com/v1beta"),
        ("https://generativelanguage.googleapis.com/v1beta/", "https://generativelanguage.googleapis.com/v1beta"),
        ("https://your-domain.com/api", "https://your-domain.com/api/v1beta"),
        ("https://your-domain.com/api/v1", "https://your-domain.com/api/v1beta"),
        ("https://your-domain.com/api/v1beta", "https://your-domain.com/api/v1beta"),
        ("https://h/v1alpha", "https://h/v1alpha"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "https://generativelanguage.googleapis.com/v1beta"),
    ],
)
def test_gemini_base(base: str, expected: str) -> None:
    assert gemini_base(base) == expected


def test_gemini_base_joins_with_seed_path() -> None:
    url = endpoint_url(gemini_base("https://your-domain.com/api"), "models/gemini-2.5-pro:generateContent")
    assert url == "https://your-domain.com/api/v1beta/models/gemini-2.5-pro:generateContent"

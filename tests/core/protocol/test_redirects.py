"""What a redirected API call tells the user (protocol.urls.redirect_sentence)."""

from __future__ import annotations

from app.core.protocol.urls import redirect_sentence

BASE = "https://api.example.com/v1"


def test_same_path_with_a_slash_names_the_switch_on() -> None:
    text = redirect_sentence(
        "POST", f"{BASE}/chat/completions", f"{BASE}/chat/completions/", BASE
    )
    assert "Trailing slash" in text and "option on" in text
    assert "/chat/completions" not in text


def test_same_path_without_the_slash_names_the_switch_off() -> None:
    text = redirect_sentence("POST", f"{BASE}/chat/completions/", f"{BASE}/chat/completions", BASE)
    assert "option off" in text


def test_a_moved_provider_is_offered_as_a_base_url_not_an_endpoint() -> None:
    text = redirect_sentence(
        "POST", f"{BASE}/chat/completions", "https://new.example.com/api/v2/chat/completions", BASE
    )
    assert "https://new.example.com/api/v2 as the base URL" in text
    assert "chat/completions" not in text


def test_an_unrelated_target_names_only_its_host() -> None:
    text = redirect_sentence("POST", f"{BASE}/chat/completions", "https://login.example.net/sso?next=1", BASE)
    assert "https://login.example.net" in text and "sso" not in text

"""Token estimates, context-window lookup and fitting a conversation into a window."""

from __future__ import annotations

import pytest

from app.core.protocol.types import ChatMessage, ImagePart, TextPart
from app.core.services.context_window import (
    IMAGE_TOKENS,
    KNOWN_CONTEXT_WINDOWS,
    MESSAGE_OVERHEAD,
    FitResult,
    context_window_for,
    estimate_messages,
    estimate_tokens,
    fit_to_window,
)

# --- estimate_tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("a", 1),
        ("abcd", 1),
        ("abcde", 2),
        ("hello world", 3),  # 11 chars / 4, rounded up
        ("你好世界", 4),  # one token per Han character
        ("こんにちは", 5),  # kana
        ("안녕하세요", 5),  # Hangul
        ("日本語 text", 5),  # 3 CJK + ceil(5 / 4)
        ("「引用」", 4),  # CJK punctuation
        ("ＡＢＣ", 3),  # full-width forms
        ("\U00020000", 1),  # CJK Extension B (outside the BMP)
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_estimate_tokens_long_text() -> None:
    assert estimate_tokens("x" * 1_000_000) == 250_000
    assert estimate_tokens("字" * 100_000 + "y" * 400_000) == 200_000


# --- estimate_messages --------------------------------------------------------------------------


def test_estimate_messages_adds_overhead_per_message() -> None:
    assert MESSAGE_OVERHEAD == 4
    assert estimate_messages([]) == 0
    assert estimate_messages([ChatMessage("user", "hello world")]) == 7
    assert estimate_messages([ChatMessage("system", "abcd"), ChatMessage("user", "你好")]) == 11
    assert estimate_messages([ChatMessage("assistant", "")]) == 4


def test_estimate_messages_counts_images_at_a_fixed_cost() -> None:
    assert IMAGE_TOKENS == 765
    one = ChatMessage("user", [TextPart("abcd"), ImagePart(data=b"\x89PNG")])
    two = ChatMessage(
        "user", [ImagePart(url="https://x/a.png"), ImagePart(data=b"1"), TextPart("ab")]
    )
    assert estimate_messages([one]) == 4 + 1 + 765
    assert estimate_messages([two]) == 4 + 1 + 2 * 765
    assert estimate_messages([one, two]) == 770 + 1535


# --- context_window_for ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("gpt-4o", 128_000),
        ("GPT-4o-mini-2024-07-18", 128_000),
        ("gpt-4-turbo-preview", 128_000),
        ("gpt-4", 8_192),
        ("gpt-4-0613", 8_192),
        ("gpt-3.5-turbo-0125", 16_385),
        ("o1-2024-12-17", 200_000),
        ("o3-mini", 200_000),
        ("claude-3-5-sonnet-20241022", 200_000),
        ("anthropic/claude-3.5-haiku", 200_000),
        ("gemini-1.5-pro-002", 2_097_152),
        ("models/gemini-1.5-flash", 1_048_576),
        ("gemini-2.0-flash", 1_048_576),
        ("gemini-2.5-pro", 1_048_576),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", 131_072),
        ("llama-3.1-8b-instant", 131_072),
        ("llama3.2:3b", 131_072),
        ("qwen2.5-coder:7b", 32_768),
        ("Qwen/Qwen2.5-72B-Instruct", 32_768),
        ("mistral-large-latest", 131_072),
        ("deepseek-chat", 65_536),
    ],
)
def test_known_context_windows(model: str, window: int) -> None:
    assert context_window_for(model) == window


def test_known_table_has_the_documented_entries() -> None:
    assert KNOWN_CONTEXT_WINDOWS["gpt-4o"] == 128_000
    assert KNOWN_CONTEXT_WINDOWS["gpt-4"] == 8_192
    assert KNOWN_CONTEXT_WINDOWS["gemini-1.5-pro"] == 2_097_152


def test_unknown_model_gets_the_default() -> None:
    assert context_window_for("mystery-model") == 8192
    assert context_window_for("mystery-model", default=4096) == 4096
    assert context_window_for("", default=1234) == 1234


def test_overrides_come_first() -> None:
    assert context_window_for("gpt-4o", {"gpt-4o": 64_000}) == 64_000
    assert context_window_for("GPT-4O", {"gpt-4o": 64_000}) == 64_000
    assert context_window_for("openai/gpt-4o", {"gpt-4o": 1_000}) == 1_000
    # Longest prefix among the overrides, then the exact id.
    windows = {"Mollyra-X": 32_000, "mollyra-x-long": 100_000}
    assert context_window_for("mollyra-x-2", windows) == 32_000
    assert context_window_for("mollyra-x-long-v2", windows) == 100_000
    # An override that does not match falls through to the known table.
    assert context_window_for("gpt-4o", {"other": 5}) == 128_000
    # Non-positive values are ignored.
    assert context_window_for("gpt-4o", {"gpt-4o": 0}) == 128_000
    assert context_window_for("mystery", None, default=777) == 777


# --- fit_to_window --------------------------------------------------------------------------------


def msg(role: str, tokens: int) -> ChatMessage:
    """A message whose estimate is `tokens` + the 4-token overhead."""
    return ChatMessage(role, "x" * (tokens * 4))


SYS = msg("system", 9)  # 13
U1 = ChatMessage("user", "first question " + "a" * 21)  # 36 chars -> 13
A1 = msg("assistant", 19)  # 23
U2 = ChatMessage("user", "second question" + "b" * 21)  # 13
A2 = msg("assistant", 19)  # 23
U3 = ChatMessage("user", "third question " + "c" * 21)  # 13
CONVERSATION = [SYS, U1, A1, U2, A2, U3]  # 98 in all


def test_conversation_costs_what_the_tests_assume() -> None:
    assert [estimate_messages([m]) for m in CONVERSATION] == [13, 13, 23, 13, 23, 13]
    assert estimate_messages(CONVERSATION) == 98


def test_everything_fits() -> None:
    assert fit_to_window(CONVERSATION, 200, 50) == FitResult(CONVERSATION, 0, 98, False)
    # Exactly at the budget still fits.
    assert fit_to_window(CONVERSATION, 98, 0) == FitResult(CONVERSATION, 0, 98, False)


def test_drops_the_oldest_turn_with_its_reply() -> None:
    result = fit_to_window(CONVERSATION, 97, 0)
    assert result == FitResult([SYS, U2, A2, U3], 2, 62, False)
    assert fit_to_window(CONVERSATION, 100, 20) == FitResult([SYS, U2, A2, U3], 2, 62, False)


def test_drops_as_many_turns_as_needed() -> None:
    assert fit_to_window(CONVERSATION, 100, 50) == FitResult([SYS, U3], 4, 26, False)


def test_last_user_message_is_never_dropped() -> None:
    assert fit_to_window(CONVERSATION, 30, 10) == FitResult([SYS, U3], 4, 26, True)
    assert fit_to_window([U3], 10, 10) == FitResult([U3], 0, 13, True)
    # A reserve larger than the window: nothing fits, the minimum is still returned.
    assert fit_to_window(CONVERSATION, 100, 500) == FitResult([SYS, U3], 4, 26, True)


def test_last_turn_keeps_the_replies_after_the_last_user_message() -> None:
    # "Continue" sends a partial reply after the last user message: it stays with it.
    conversation = [U1, A1, U2, A2]
    assert fit_to_window(conversation, 40, 0) == FitResult([U2, A2], 2, 36, False)
    assert fit_to_window(conversation, 20, 0) == FitResult([U2, A2], 2, 36, True)


def test_system_messages_anywhere_are_kept_in_place() -> None:
    note = msg("system", 1)  # 5
    conversation = [U1, A1, note, U2, A2, U3]
    result = fit_to_window(conversation, 60, 0)
    assert result == FitResult([note, U2, A2, U3], 2, 54, False)
    result = fit_to_window(conversation, 20, 0)
    assert result == FitResult([note, U3], 4, 18, False)


def test_messages_before_the_first_user_message_are_a_turn_of_their_own() -> None:
    greeting = msg("assistant", 6)  # 10
    conversation = [SYS, greeting, U1, A1, U2]
    assert estimate_messages(conversation) == 72
    assert fit_to_window(conversation, 62, 0) == FitResult([SYS, U1, A1, U2], 1, 62, False)
    assert fit_to_window(conversation, 61, 0) == FitResult([SYS, U2], 3, 26, False)


def test_an_image_turn_counts_its_fixed_cost() -> None:
    with_image = ChatMessage("user", [TextPart("look"), ImagePart(data=b"png")])  # 4+1+765 = 770
    reply = msg("assistant", 1)  # 5
    conversation = [with_image, reply, U3]
    assert estimate_messages(conversation) == 788
    assert fit_to_window(conversation, 1000, 200) == FitResult(conversation, 0, 788, False)
    assert fit_to_window(conversation, 1000, 300) == FitResult([U3], 2, 13, False)


def test_empty_conversation() -> None:
    assert fit_to_window([], 100, 10) == FitResult([], 0, 0, False)
    assert fit_to_window([], 0, 10) == FitResult([], 0, 0, True)

"""Redaction of every echoed form of a registered key: exact, upper-cased, masked, base64."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from app.core.errors import AuthenticationError, forget_secret, redact, register_secret

KEY = "gsk_live_7Hq2Lm9Pz4Rt8Vw1Xy6Bc3Nd"  # not sk-/AIza-shaped: only registration finds it


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    register_secret(KEY)
    yield
    forget_secret(KEY)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "echo",
    [
        KEY,
        KEY.upper(),
        KEY.lower(),
        f"{KEY[:8]}****{KEY[-4:]}",
        f"{KEY[:8]}••••••{KEY[-4:]}",
        f"{KEY[:7]}...{KEY[-4:]}",
        f"{KEY[:8]}********",
        b64(KEY),
        b64(f"Bearer {KEY}"),
        b64(f":{KEY}"),
        b64(f"user:{KEY}"),
        b64(f"ab:{KEY}"),
        base64.urlsafe_b64encode(f"x{KEY}".encode()).decode(),
    ],
)
def test_every_form_is_redacted(echo: str) -> None:
    text = f"Invalid credentials {echo} were given"
    out = redact(text)
    assert out.startswith("Invalid credentials ") and out.endswith(" were given")
    assert "[redacted]" in out
    for probe in (KEY[:8], KEY[-6:], KEY.upper()[-6:], b64(KEY)[4:16]):
        assert probe not in out


def test_error_messages_are_redacted_in_every_form() -> None:
    error = AuthenticationError(
        "Wrong key.", provider_message=f"Incorrect key {KEY[:8]}****{KEY[-4:]} ({b64('Bearer ' + KEY)})"
    )
    assert KEY[:8] not in str(error) and b64(KEY)[4:16] not in str(error)


def test_ordinary_text_is_left_alone() -> None:
    text = "The model gsk_other is busy; try *** later. aGVsbG8gd29ybGQ="
    assert redact(text) == text


def test_forgotten_key_is_no_longer_redacted() -> None:
    forget_secret(KEY)
    assert redact(KEY.upper()) == KEY.upper()
    register_secret(KEY)

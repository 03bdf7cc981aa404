"""The error tree of Switchboard, in one place.

Errors are split by who must act:

    SwitchboardError                 base of every *known* error; never a bug
    ├── ProviderError                the provider or the network stopped the work
    │   ├── ConnectError             host unreachable, DNS, TLS handshake, proxy refused
    │   ├── TimeoutError_            connect/read timeout
    │   ├── APIError                 the server answered with an error (HTTP status or error body)
    │   │   ├── AuthenticationError  401/403, wrong or missing key
    │   │   ├── NotFoundError        404, unknown model or path
    │   │   ├── RateLimitError       429 or a rate-limit error body (carries retry_after)
    │   │   ├── BadRequestError      400/422 and other 4xx
    │   │   ├── ServerError          5xx
    │   │   └── ContentBlockedError  the provider refused the prompt or the reply (safety, recitation)
    │   ├── MalformedResponseError   the reply could not be understood (bad JSON, wrong content type)
    │   └── StreamInterruptedError   the connection dropped after output had started
    │       └── IncompleteReplyError the stream ended cleanly but with no finish reason / [DONE]
    ├── KeychainError                no keychain backend, or it refused
    ├── StorageError                 SQLite failure, disk full, migration failure
    └── ConfigError                  a profile or setting is invalid

Every known error has `user_message` (a sentence saying what happened and what to do next) and,
for provider errors, `provider_message` (the provider's own words) and `status`. None of them may
contain an API key: `redact()` is applied to everything a provider sends back.

Anything else that escapes is a bug: it goes to the excepthook, the log file and a crash dialog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConnectError",
    "ContentBlockedError",
    "IncompleteReplyError",
    "KeychainError",
    "MalformedResponseError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "StreamInterruptedError",
    "SwitchboardError",
    "TimeoutError_",
    "forget_secret",
    "redact",
    "register_secret",
]

# Secrets known to this process; every error text is scrubbed of them.
_known_secrets: set[str] = set()

_KEY_PATTERNS = [
    re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,})"),
    re.compile(r"\b(AIza[0-9A-Za-z_\-]{20,})"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9_\-\.=]{8,})"),
    re.compile(r"(?i)([?&]key=)([^&\s]+)"),
    # Providers echo a wrong key back, often masked ("sk-abc...xyz", "sk-proj-****abcd"): even a
    # masked key identifies it, so the echo goes too.
    re.compile(r"\b(sk-(?:[A-Za-z0-9_\-*]|\.{2,3}|…){3,})"),
    # "Incorrect API key provided: xyz", "Invalid API key: key1234", "x-api-key=...".
    re.compile(r"(?i)(api[ _-]?key(?:\s+provided)?\s*[:=]\s*)((?!\[redacted\])[^\s,;\"']+)"),
]


# Per secret, one compiled pattern for every form a provider echoes it in (see `_forms`).
_secret_patterns: dict[str, _SecretForms] = {}
# Characters providers use to mask the middle of a key ("sk-abcd****wxyz", "sk-ab…yz").
_MASK = r"(?:[*•●·xX#_]|\.|…){2,}"


def _b64_fragments(value: str) -> list[str]:
    """Base64 text that appears whenever `value` is base64-encoded inside a longer string.

    The key may sit at any byte offset of what was encoded (`Bearer key`, `:key`, `user:key`), so
    each of the three alignments is encoded and only the groups made of key bytes alone are kept.
    """
    import base64

    raw = value.encode("utf-8")
    out: list[str] = []
    for shift in range(3):
        data = b"\0" * shift + raw
        encoded = base64.b64encode(data).decode("ascii")
        start = 4 if shift else 0  # the first group mixes in the bytes before the key
        end = (len(data) // 3) * 4  # the last partial group mixes in the bytes after it
        piece = encoded[start:end]
        if len(piece) >= 12:
            out.append(piece)
    return out


@dataclass(frozen=True)
class _SecretForms:
    """How one key may be echoed back: `text` (exact in any case, masked) and `b64` (inside
    base64); `fragments` are literal pieces of the latter, checked first because most texts hold
    none and a plain substring test is far cheaper than the pattern."""

    text: re.Pattern[str]
    b64: re.Pattern[str] | None
    fragments: tuple[str, ...]


def _forms(value: str) -> _SecretForms:
    """Every echoed form of one key: exact, any letter case, masked, base64 (std and url-safe)."""
    alternatives = [re.escape(value)]
    if len(value) >= 12:
        # Masked: the first 4-8 characters and the last 2-4 around a run of mask characters
        # (OpenAI shows the first 8 and last 4), or the prefix alone followed by the mask.
        heads = "|".join(re.escape(value[:n]) for n in range(8, 3, -1))
        tails = "|".join(re.escape(value[-n:]) for n in range(4, 1, -1))
        alternatives.append(f"(?:{heads}){_MASK}(?:{tails})?")
    text = re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)
    fragments: list[str] = []
    for piece in _b64_fragments(value):
        fragments.extend({piece, piece.replace("+", "-").replace("/", "_")})
    b64 = None
    if fragments:
        # Bounded margins (the groups that mix in neighbouring bytes): an unbounded class here
        # would make redaction quadratic on long base64-looking text.
        b64 = re.compile(
            "|".join(
                r"[A-Za-z0-9+/_-]{0,4}" + re.escape(f) + r"[A-Za-z0-9+/_=-]{0,8}" for f in fragments
            )
        )
    return _SecretForms(text, b64, tuple(fragments))


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` removes it, in any form it is echoed in, from any text
    shown, logged, stored or exported."""
    if value and len(value) >= 4:
        _known_secrets.add(value)
        if value not in _secret_patterns:
            _secret_patterns[value] = _forms(value)


def forget_secret(value: str | None) -> None:
    if value:
        _known_secrets.discard(value)
        _secret_patterns.pop(value, None)


def redact(text: str | None) -> str:
    """Remove API keys (known ones in every form, and anything shaped like one) from `text`."""
    if not text:
        return ""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        forms = _secret_patterns.get(secret)
        if forms is None:
            text = text.replace(secret, "[redacted]")
            continue
        if forms.b64 is not None and any(f in text for f in forms.fragments):
            text = forms.b64.sub("[redacted]", text)
        text = forms.text.sub("[redacted]", text)
    for pattern in _KEY_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class SwitchboardError(Exception):
    """A known error: something the user (or their provider) can act on."""

    default_message = "Something went wrong."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        self.user_message = redact(user_message or self.default_message)
        self.detail = redact(detail) if detail else None
        super().__init__(self.user_message)

    def __str__(self) -> str:
        if self.detail:
            return f"{self.user_message} ({self.detail})"
        return self.user_message


class ProviderError(SwitchboardError):
    default_message = "The provider could not complete the request."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        status: int | None = None,
        provider_message: str | None = None,
        code: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.status = status
        self.provider_message = redact(provider_message) if provider_message else None
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.user_message]
        if self.provider_message and self.provider_message not in self.user_message:
            parts.append(f"The provider said: {self.provider_message}")
        return " ".join(parts)


class ConnectError(ProviderError):
    default_message = (
        "Could not reach the server. Check the base URL, your network or proxy, and that the "
        "server is running."
    )


class TimeoutError_(ProviderError):
    default_message = (
        "The server took too long to answer. Try again, or raise the timeout in the profile's "
        "settings for slow models."
    )


class APIError(ProviderError):
    default_message = "The provider returned an error."


class AuthenticationError(APIError):
    default_message = (
        "The provider rejected the API key. Check the key in Settings → Providers, or that the "
        "named environment variable is set."
    )


class NotFoundError(APIError):
    default_message = (
        "The provider does not know this model or path. Pick another model or check the base URL."
    )


class RateLimitError(APIError):
    default_message = "The provider's rate limit was reached. Wait a moment and try again."


class BadRequestError(APIError):
    default_message = (
        "The provider refused the request as invalid. Check the model and parameters."
    )


class ServerError(APIError):
    default_message = "The provider had an internal error. Try again in a moment."


class ContentBlockedError(APIError):
    default_message = (
        "The provider blocked this prompt or reply (safety or recitation filter). Rephrase and try "
        "again."
    )


class MalformedResponseError(ProviderError):
    default_message = (
        "The server's reply could not be understood. Check that the base URL points at an "
        "OpenAI-compatible or Gemini API."
    )


class StreamInterruptedError(ProviderError):
    default_message = (
        "The connection dropped while the reply was streaming. What arrived was kept; press Retry "
        "or Continue."
    )


class IncompleteReplyError(StreamInterruptedError):
    """Raised after every delta was delivered, when the stream ended with no finish reason and no
    `[DONE]`: the text is kept and the reply is stored as interrupted (Continue / Regenerate)."""

    default_message = (
        "The connection ended before the reply finished. What arrived was kept; press Continue or "
        "Regenerate."
    )


class KeychainError(SwitchboardError):
    default_message = (
        "No system keychain is available. Use a session-only key or name an environment variable "
        "that holds the key."
    )


class StorageError(SwitchboardError):
    default_message = (
        "The database could not be written. Check free disk space and permissions of the data "
        "directory."
    )


class ConfigError(SwitchboardError):
    default_message = "This setting is not valid."


@dataclass(frozen=True)
class _StatusClass:
    """How an HTTP status (or range) is explained to the user."""

    status: int
    cls: type[APIError]


def error_class_for_status(status: int) -> type[APIError]:
    """The APIError subclass for an HTTP status code."""
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return BadRequestError
    return APIError

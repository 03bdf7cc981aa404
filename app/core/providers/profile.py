"""The provider profile record: where to send requests and how (dialect, URL, headers, key
source, network), its validation, and its type-checked JSON form.

A profile never holds the API key itself; `app.core.secrets` resolves it from the key source.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx is imported where it is used: it is slow to import at start-up
    pass

from app.core.errors import ConfigError, redact


class Dialect(StrEnum):
    OPENAI = "openai"  # OpenAI-compatible: /chat/completions, /completions, /models, ...
    GEMINI = "gemini"  # Google Gemini: /v1beta/models/{model}:generateContent


class VideoDialect(StrEnum):
    NONE = "none"
    TASKS = "tasks"  # POST /video/generations -> task_id; GET /video/generations/{task_id}
    OPENAI = "openai"  # POST /videos -> id; GET /videos/{id}; GET /videos/{id}/content
    VEO = "veo"  # Gemini: POST models/{model}:predictLongRunning -> operation; GET {name}


class KeySource(StrEnum):
    KEYCHAIN = "keychain"  # the OS keychain through keyring
    ENV = "env"  # an environment variable the user named
    SESSION = "session"  # typed in for this session only, kept in memory
    NONE = "none"  # local servers that need no key


CAPABILITIES = ("chat", "completion", "image", "embedding", "video")


@dataclass
class ProviderProfile:
    """One provider profile: endpoint, dialect, key source, network settings and defaults."""

    name: str
    base_url: str
    dialect: Dialect = Dialect.OPENAI
    id: str = field(default_factory=lambda: new_profile_id())  # defined below the class
    preset: str = "custom"
    key_source: KeySource = KeySource.KEYCHAIN
    key_env_var: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)
    # One seed documents `/chat/completions/`: append a slash to every endpoint path.
    trailing_slash: bool = False
    # capability ("chat", "completion", "image", "embedding", "video") -> model id
    default_models: dict[str, str] = field(default_factory=dict)
    video_dialect: VideoDialect = VideoDialect.NONE
    image_size_style: str = "x"  # "x" -> 1024x1024, "*" -> 1024*1024
    connect_timeout: float = 15.0
    # Slow local models can take minutes before the first token: not httpx's 5 s.
    read_timeout: float = 600.0
    max_retries: int = 3
    proxy: str = ""  # "" = system/env proxy settings; "http://host:port" or "socks5://host:port"
    ca_file: str = ""  # extra CA bundle (PEM) trusted besides the system store
    # Known context windows per model, editable by the user (tokens).
    context_windows: dict[str, int] = field(default_factory=dict)
    is_demo: bool = False
    # The server takes `top_k` in OpenAI-style chat bodies (the UI shows the control when True).
    supports_top_k: bool = False
    # Image `response_format` to send by default ("url" | "b64_json"); "" = do not send one.
    image_response_format: str = ""
    # "Stream replies": off for endpoints that document only a non-streamed path (the client also
    # stops streaming for the session when the streaming path answers 404/405/501).
    stream: bool = True
    # Seconds a stream may go without new reply text (pings, empty events) before it ends as
    # stalled, keeping what arrived.
    stall_timeout: float = 300.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["dialect"] = str(self.dialect)
        data["key_source"] = str(self.key_source)
        data["video_dialect"] = str(self.video_dialect)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProviderProfile:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "dialect" in kwargs:
            kwargs["dialect"] = Dialect(kwargs["dialect"])
        if "key_source" in kwargs:
            kwargs["key_source"] = KeySource(kwargs["key_source"])
        if "video_dialect" in kwargs:
            kwargs["video_dialect"] = VideoDialect(kwargs["video_dialect"])
        return cls(**kwargs)

    def model_for(self, capability: str) -> str:
        return self.default_models.get(capability, "")


# --- validation -------------------------------------------------------------------------------

# RFC 9110 token characters: what a header name may consist of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers that carry credentials: the key belongs in the keychain, never in a profile.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"}
)
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def new_profile_id() -> str:
    """A new random id (128 bits as 32 hex digits, the form uuid4().hex gave ids before)."""
    return os.urandom(16).hex()


def validate_profile(p: ProviderProfile) -> list[str]:
    """Problems the user must fix, one sentence each; an empty list means the profile is usable."""
    # urllib.parse (with ipaddress) is imported here, not with the module: loading the profiles
    # at start-up needs neither (issue 9's start-up figure).
    from urllib.parse import urlsplit

    problems: list[str] = []
    if not p.name.strip():
        problems.append("Give the profile a name.")
    url = p.base_url.strip()
    parts = urlsplit(url) if url else None
    if not url:
        problems.append("Enter the base URL, for example https://api.openai.com/v1.")
    elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("The base URL must start with http:// or https:// and name a host.")
    for name, value in p.extra_headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            problems.append(f"“{name}” is not a valid header name: use letters, digits and - only.")
        elif name.lower() in SECRET_HEADERS:
            problems.append(
                f"Do not put credentials in the “{name}” header: enter the API key in the key "
                "field so it is kept in the keychain."
            )
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            problems.append(f"The value of header “{name}” must be a single line of text.")
    if p.proxy.strip():
        scheme = urlsplit(p.proxy.strip()).scheme.lower()
        if scheme not in _PROXY_SCHEMES or not urlsplit(p.proxy.strip()).hostname:
            problems.append(
                "The proxy must look like http://host:port, https://host:port, "
                "socks5://host:port or socks5h://host:port."
            )
    if p.connect_timeout < 0:
        problems.append("The connect timeout cannot be negative.")
    if p.read_timeout < 0:
        problems.append("The read timeout cannot be negative.")
    if p.max_retries < 0:
        problems.append("The number of retries cannot be negative.")
    if p.key_source == KeySource.ENV and not p.key_env_var.strip():
        problems.append("Name the environment variable that holds the API key.")
    if p.image_size_style not in ("x", "*"):
        problems.append("The image size style must be “x” (1024x1024) or “*” (1024*1024).")
    if p.image_response_format not in ("", "url", "b64_json"):
        problems.append("The image response format must be url, b64_json or empty.")
    return problems


# --- profile (de)serialisation ----------------------------------------------------------------

_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "base_url": (str,),
    "id": (str,),
    "preset": (str,),
    "key_env_var": (str,),
    "extra_headers": (dict,),
    "trailing_slash": (bool,),
    "default_models": (dict,),
    "image_size_style": (str,),
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "max_retries": (int,),
    "proxy": (str,),
    "ca_file": (str,),
    "context_windows": (dict,),
    "is_demo": (bool,),
    "stream": (bool,),
    "stall_timeout": (int, float),
    "supports_top_k": (bool,),
    "image_response_format": (str,),
}


def profile_from_dict(data: Any) -> ProviderProfile:
    """A profile from its JSON form, checking types; unknown fields are ignored.

    Raises ConfigError naming the first field that is wrong.
    """
    if not isinstance(data, dict):
        raise ConfigError("A provider profile must be a JSON object.")
    label = data.get("name") if isinstance(data.get("name"), str) else "a profile"
    for key in ("name", "base_url"):
        if key not in data:
            raise ConfigError(f"The profile “{label}” has no “{key}”.")
    for key, types in _FIELD_TYPES.items():
        if key not in data:
            continue
        value = data[key]
        ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
        if not ok:
            raise ConfigError(f"The field “{key}” of the profile “{label}” has the wrong type.")
    for key in ("extra_headers", "default_models"):
        if key in data and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data[key].items()
        ):
            raise ConfigError(f"The field “{key}” of the profile “{label}” must map text to text.")
    if "context_windows" in data and not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in data["context_windows"].items()
    ):
        raise ConfigError(f"The context windows of the profile “{label}” must be whole numbers.")
    enums: dict[str, type[StrEnum]] = {
        "dialect": Dialect,
        "key_source": KeySource,
        "video_dialect": VideoDialect,
    }
    for key, enum in enums.items():
        if key in data and data[key] not in {str(m) for m in enum}:
            raise ConfigError(
                f"The profile “{label}” has an unknown {key.replace('_', ' ')} “{data[key]}”."
            )
    if "id" in data and not data["id"].strip():
        raise ConfigError(f"The profile “{label}” has an empty id.")
    return ProviderProfile.from_json(copy.deepcopy(data))


def safe_profile_json(profile: ProviderProfile) -> dict[str, Any]:
    """The profile's JSON form with any credential-carrying header removed."""
    data = profile.to_json()
    data["extra_headers"] = {
        k: v for k, v in profile.extra_headers.items() if k.lower() not in SECRET_HEADERS
    }
    return data


def contains_secret(text: str) -> bool:
    return redact(text) != text

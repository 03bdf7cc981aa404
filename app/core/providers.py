"""Provider profiles: where to send requests and how (dialect, URL, headers, key source, network).

A profile never holds the API key itself; `app.core.secrets` resolves it from the key source.

This module also holds:

- `PRESETS`: ready-made profiles for well-known providers, the five documented seed flavours and
  local servers (`new_profile_from_preset`, `preset_choices`, `presets`);
- `validate_profile`: the problems a user must fix before a profile can be used;
- `ProfileRepository`: `profiles.json` in the data directory (atomic writes, schema version,
  corrupt files set aside, import/export that never carries a key);
- `detect_local_servers`: a quick concurrent probe of loopback ports for Ollama, LM Studio,
  llama.cpp and vLLM.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # httpx is imported where it is used: it is slow to import at start-up
    import httpx

from app.core.errors import ConfigError, StorageError, redact


def _httpx() -> Any:
    import httpx

    return httpx


class Dialect(StrEnum):
    OPENAI = "openai"  # OpenAI-compatible: /chat/completions, /completions, /models, ...
    GEMINI = "gemini"  # Google Gemini: /v1beta/models/{model}:generateContent


class VideoDialect(StrEnum):
    NONE = "none"
    TASKS = "tasks"  # POST /video/generations -> task_id; GET /video/generations/{task_id}
    OPENAI = "openai"  # POST /videos -> id; GET /videos/{id}; GET /videos/{id}/content


class KeySource(StrEnum):
    KEYCHAIN = "keychain"  # the OS keychain through keyring
    ENV = "env"  # an environment variable the user named
    SESSION = "session"  # typed in for this session only, kept in memory
    NONE = "none"  # local servers that need no key


CAPABILITIES = ("chat", "completion", "image", "embedding", "video")


@dataclass
class ProviderProfile:
    name: str
    base_url: str
    dialect: Dialect = Dialect.OPENAI
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
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


# --- presets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A template for a new profile. `build()` returns a fresh profile with its own id."""

    id: str
    label: str
    base_url: str
    dialect: Dialect = Dialect.OPENAI
    key_source: KeySource = KeySource.KEYCHAIN
    key_env_var: str = ""
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    trailing_slash: bool = False
    default_models: Mapping[str, str] = field(default_factory=dict)
    video_dialect: VideoDialect = VideoDialect.NONE
    image_size_style: str = "x"
    supports_top_k: bool = False
    image_response_format: str = ""
    context_windows: Mapping[str, int] = field(default_factory=dict)
    # Seconds before giving up on a connection; local servers answer at once or not at all.
    connect_timeout: float = 15.0
    # Shown in the profile editor: what to change after picking the preset.
    note: str = ""
    local: bool = False

    def build(self, name: str | None = None) -> ProviderProfile:
        return ProviderProfile(
            name=name or self.label,
            base_url=self.base_url,
            dialect=self.dialect,
            preset=self.id,
            key_source=self.key_source,
            key_env_var=self.key_env_var,
            extra_headers=dict(self.extra_headers),
            trailing_slash=self.trailing_slash,
            default_models=dict(self.default_models),
            video_dialect=self.video_dialect,
            image_size_style=self.image_size_style,
            supports_top_k=self.supports_top_k,
            image_response_format=self.image_response_format,
            context_windows=dict(self.context_windows),
            connect_timeout=self.connect_timeout,
        )


def _preset_list() -> list[Preset]:
    return [
        # --- well-known hosted providers ---
        Preset(
            id="openai",
            label="OpenAI",
            base_url="https://api.openai.com/v1",
            key_env_var="OPENAI_API_KEY",
            video_dialect=VideoDialect.OPENAI,
            default_models={
                "chat": "gpt-4o-mini",
                "image": "gpt-image-1",
                "embedding": "text-embedding-3-small",
                "video": "sora-2",
            },
        ),
        Preset(
            id="gemini",
            label="Google Gemini",
            base_url="https://generativelanguage.googleapis.com",
            dialect=Dialect.GEMINI,
            key_env_var="GEMINI_API_KEY",
            supports_top_k=True,
            default_models={"chat": "gemini-2.5-flash", "embedding": "gemini-embedding-001"},
        ),
        Preset(
            id="openrouter",
            label="OpenRouter",
            base_url="https://openrouter.ai/api/v1",
            key_env_var="OPENROUTER_API_KEY",
            supports_top_k=True,
            default_models={"chat": "openai/gpt-4o-mini"},
        ),
        Preset(
            id="groq",
            label="Groq",
            base_url="https://api.groq.com/openai/v1",
            key_env_var="GROQ_API_KEY",
            default_models={"chat": "llama-3.3-70b-versatile"},
        ),
        Preset(
            id="mistral",
            label="Mistral",
            base_url="https://api.mistral.ai/v1",
            key_env_var="MISTRAL_API_KEY",
            default_models={"chat": "mistral-small-latest", "embedding": "mistral-embed"},
        ),
        Preset(
            id="deepseek",
            label="DeepSeek",
            base_url="https://api.deepseek.com/v1",
            key_env_var="DEEPSEEK_API_KEY",
            default_models={"chat": "deepseek-chat"},
        ),
        Preset(
            id="together",
            label="Together",
            base_url="https://api.together.xyz/v1",
            key_env_var="TOGETHER_API_KEY",
            supports_top_k=True,
            default_models={"chat": "meta-llama/Llama-3.3-70B-Instruct-Turbo"},
        ),
        # --- the documented seed flavours ---
        Preset(
            id="mollyra",
            label="Mollyra",
            base_url="https://api.mollyra.ai/v1",
            default_models={
                "chat": "gpt-4-turbo",
                "image": "dall-e-3",
                "embedding": "text-embedding-3-small",
            },
            context_windows={
                "gpt-4-turbo": 128_000,
                "gpt-3.5-turbo": 16_000,
                "claude-3-opus": 200_000,
                "claude-3-sonnet": 200_000,
                "mollyra-x": 32_000,
            },
        ),
        Preset(
            id="gateway",
            label="OpenAI-compatible gateway (/api/v1)",
            base_url="https://your-domain.com/api/v1",
            default_models={"chat": "gpt-4o", "image": "dall-e-3"},
            note="Replace your-domain.com with your gateway's host.",
        ),
        Preset(
            id="gateway-gemini",
            label="Gateway, Gemini-compatible endpoint (/api/v1beta)",
            base_url="https://your-domain.com/api",
            dialect=Dialect.GEMINI,
            default_models={"chat": "gemini-2.5-pro"},
            note=(
                "Replace your-domain.com with your gateway's host. Requests go to "
                "/api/v1beta/models/{model}:generateContent with the key in x-goog-api-key."
            ),
        ),
        Preset(
            id="star-sizes",
            label="OpenAI-compatible server (1024*1024 image sizes)",
            base_url="https://your-server.example.com/v1",
            image_size_style="*",
            image_response_format="b64_json",
            default_models={
                "chat": "meta-llama/Meta-Llama-3-70B-Instruct",
                "completion": "meta-llama/Meta-Llama-3-70B-Instruct",
                "image": "stabilityai/stable-diffusion-xl-base-1.0",
                "embedding": "intfloat/e5-large-v2",
            },
            note=(
                "Replace the host with your server's. Image sizes are sent as 1024*1024 and "
                "images come back as base64."
            ),
        ),
        Preset(
            id="horay",
            label="Horay",
            base_url="https://api.horay.ai/v1",
            supports_top_k=True,
            default_models={"chat": "meta-llama/Meta-Llama-3.1-8B-Instruct"},
        ),
        Preset(
            id="melancholy",
            label="Melancholy AI",
            base_url="https://app.melancholyai.fun/api/v1",
            trailing_slash=True,
            extra_headers={"User-Agent": "MelancholyAI-Client"},
            video_dialect=VideoDialect.TASKS,
            default_models={"chat": "qwen3-max", "image": "flux", "video": "google/veo-3-1-fast"},
        ),
        # --- local servers: no key ---
        Preset(
            id="ollama",
            label="Ollama",
            base_url="http://127.0.0.1:11434/v1",
            key_source=KeySource.NONE,
            supports_top_k=True,
            connect_timeout=5.0,
            local=True,
        ),
        Preset(
            id="lmstudio",
            label="LM Studio",
            base_url="http://127.0.0.1:1234/v1",
            key_source=KeySource.NONE,
            supports_top_k=True,
            connect_timeout=5.0,
            local=True,
        ),
        Preset(
            id="llamacpp",
            label="llama.cpp server",
            base_url="http://127.0.0.1:8080/v1",
            key_source=KeySource.NONE,
            supports_top_k=True,
            connect_timeout=5.0,
            local=True,
        ),
        Preset(
            id="vllm",
            label="vLLM",
            base_url="http://127.0.0.1:8000/v1",
            key_source=KeySource.NONE,
            supports_top_k=True,
            connect_timeout=5.0,
            local=True,
        ),
        Preset(
            id="custom",
            label="Custom",
            base_url="",
            note="Any OpenAI-compatible or Gemini endpoint: enter its base URL.",
        ),
    ]


PRESETS: dict[str, Preset] = {p.id: p for p in _preset_list()}

# Loopback port -> preset id, probed by `detect_local_servers`.
LOCAL_SERVER_PORTS: dict[int, str] = {
    11434: "ollama",
    1234: "lmstudio",
    8080: "llamacpp",
    8000: "vllm",
}


def presets() -> list[Preset]:
    """Every preset, in menu order."""
    return list(PRESETS.values())


def preset_choices() -> list[tuple[str, str]]:
    """(preset id, label) pairs for a picker, in menu order."""
    return [(p.id, p.label) for p in PRESETS.values()]


def new_profile_from_preset(preset_id: str, name: str | None = None) -> ProviderProfile:
    """A new profile (fresh id) filled in from a preset; unknown ids raise ConfigError."""
    preset = PRESETS.get(preset_id)
    if preset is None:
        raise ConfigError(
            f"There is no provider preset named “{preset_id}”. Pick one from the list."
        )
    return preset.build(name)


# --- validation -------------------------------------------------------------------------------

# RFC 9110 token characters: what a header name may consist of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers that carry credentials: the key belongs in the keychain, never in a profile.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"}
)
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def validate_profile(p: ProviderProfile) -> list[str]:
    """Problems the user must fix, one sentence each; an empty list means the profile is usable."""
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


def _safe_profile_json(profile: ProviderProfile) -> dict[str, Any]:
    """The profile's JSON form with any credential-carrying header removed."""
    data = profile.to_json()
    data["extra_headers"] = {
        k: v for k, v in profile.extra_headers.items() if k.lower() not in SECRET_HEADERS
    }
    return data


def _contains_secret(text: str) -> bool:
    return redact(text) != text


# --- repository -------------------------------------------------------------------------------

SCHEMA_VERSION = 1
EXPORT_KIND = "switchboard-profiles"


class ProfileRepository:
    """The profiles file (`profiles.json`): profiles and the active profile id. Never a key.

    File shape: `{"schema": 1, "active_id": str | null, "profiles": [profile, ...]}`. Every
    write goes to a temporary file in the same directory and is moved over the old one with
    `os.replace`, so a crash leaves either the old or the new file, never half of one.
    """

    FILE_NAME = "profiles.json"

    def __init__(self, path: Path) -> None:
        path = Path(path)
        # Accept the data directory as well as the file itself.
        self.path = path / self.FILE_NAME if path.is_dir() else path
        self._lock = threading.RLock()

    # -- reading --

    def _read(self) -> dict[str, Any]:
        """The file's content; {} when there is none. Sets a damaged file aside."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(
                f"The provider settings file {self.path} could not be read. Check its permissions.",
                detail=exc.strerror,
            ) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self._set_aside(f"not JSON: {exc}") from exc
        schema = data.get("schema", 1) if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("profiles", []), list)
            or not isinstance(schema, int)
            or isinstance(schema, bool)
        ):
            raise self._set_aside("not a Switchboard profiles file")
        if schema > SCHEMA_VERSION:
            raise ConfigError(
                f"The provider settings file {self.path} was written by a newer version of "
                "Switchboard. Update Switchboard to use it; the file was left unchanged."
            )
        return data

    def _set_aside(self, why: str) -> ConfigError:
        """Move a damaged file out of the way; returns the error to raise."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.path, target)
        except OSError as exc:
            return ConfigError(
                f"The provider settings file {self.path} is damaged and could not be moved "
                f"aside ({exc.strerror}). Move or delete it, then restart.",
                detail=why,
            )
        return ConfigError(
            f"The provider settings file was damaged; it was kept as {target.name} and a new "
            "one will be started. Re-create or import your profiles.",
            detail=why,
        )

    def load(self) -> list[ProviderProfile]:
        """The saved profiles ([] when there is no file yet).

        A damaged file is renamed to `profiles.json.corrupt-<timestamp>` (nothing is deleted)
        and ConfigError is raised.
        """
        with self._lock:
            data = self._read()
            try:
                return [profile_from_dict(item) for item in data.get("profiles", [])]
            except ConfigError as exc:
                raise self._set_aside(exc.user_message) from exc

    def get(self, profile_id: str) -> ProviderProfile | None:
        """The saved profile with this id, or None."""
        for profile in self.load():
            if profile.id == profile_id:
                return profile
        return None

    def get_active_id(self) -> str | None:
        """The active profile's id, if it names a saved profile."""
        with self._lock:
            data = self._read()
            active = data.get("active_id")
            ids = {p.get("id") for p in data.get("profiles", []) if isinstance(p, dict)}
            return active if isinstance(active, str) and active in ids else None

    @property
    def active_id(self) -> str | None:
        return self.get_active_id()

    # -- writing --

    def save(self, profiles: Iterable[ProviderProfile]) -> None:
        """Replace the saved profiles, keeping the active id. Raises ConfigError if a profile
        would carry a key (a credential header or a known secret) and StorageError on I/O errors."""
        with self._lock:
            try:
                active = self._read().get("active_id")
            except ConfigError:
                # A damaged file has just been set aside: start afresh. Anything else (a file
                # from a newer version, an unreadable file) must not be overwritten.
                if self.path.exists():
                    raise
                active = None
            self._write(list(profiles), active if isinstance(active, str) else None)

    def set_active_id(self, profile_id: str | None) -> None:
        with self._lock:
            data = self._read()
            profiles = [profile_from_dict(item) for item in data.get("profiles", [])]
            self._write(profiles, profile_id)

    def _write(self, profiles: list[ProviderProfile], active_id: str | None) -> None:
        for p in profiles:
            bad = [k for k in p.extra_headers if k.lower() in SECRET_HEADERS]
            if bad:
                raise ConfigError(
                    f"The profile “{p.name}” has a credential in the “{bad[0]}” header. Remove "
                    "it and enter the API key in the key field instead; nothing was saved."
                )
        payload = {
            "schema": SCHEMA_VERSION,
            "active_id": active_id,
            "profiles": [p.to_json() for p in profiles],
        }
        text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        if _contains_secret(text):
            raise ConfigError(
                "A profile contains what looks like an API key (in its URL, name or headers). "
                "Remove it and enter the key in the key field instead; nothing was saved."
            )
        _atomic_write(self.path, text)

    # -- import / export / duplicate --

    def export_json(self, profiles: Iterable[ProviderProfile]) -> str:
        """Profiles as JSON text to share or back up. Never contains a key: credential headers
        are dropped and anything that looks like a key is replaced by “[redacted]”."""
        payload = {
            "kind": EXPORT_KIND,
            "schema": SCHEMA_VERSION,
            "profiles": [_safe_profile_json(p) for p in profiles],
        }
        return redact(json.dumps(payload, indent=2, ensure_ascii=False)) + "\n"

    def import_json(self, text: str) -> list[ProviderProfile]:
        """Profiles from exported JSON (a file from `export_json`, a bare list, or one profile).

        Ids that clash with saved profiles (or with each other) are replaced by new ones;
        unknown fields are ignored. Does not save: the caller adds them and calls `save`.
        Raises ConfigError with a sentence when the text is not valid.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(
                "The file is not valid JSON, so no profiles were imported.", detail=str(exc)
            ) from exc
        if isinstance(data, dict) and "profiles" in data:
            schema = data.get("schema", 1)
            if isinstance(schema, int) and schema > SCHEMA_VERSION:
                raise ConfigError(
                    "These profiles were exported by a newer version of Switchboard. Update "
                    "Switchboard to import them."
                )
            items = data["profiles"]
        elif isinstance(data, dict):
            items = [data]
        else:
            items = data
        if not isinstance(items, list) or not items:
            raise ConfigError("The file holds no provider profiles, so nothing was imported.")
        try:
            taken = {p.id for p in self.load()}
        except ConfigError:
            taken = set()
        imported: list[ProviderProfile] = []
        for item in items:
            profile = profile_from_dict(item)
            problems = validate_profile(profile)
            if problems:
                raise ConfigError(
                    f"The profile “{profile.name or '(unnamed)'}” cannot be imported: "
                    + " ".join(problems)
                )
            if profile.id in taken:
                profile.id = uuid.uuid4().hex
            taken.add(profile.id)
            imported.append(profile)
        return imported

    @staticmethod
    def duplicate(profile: ProviderProfile) -> ProviderProfile:
        """A copy with a new id and the name “X (copy)” (the key is not copied)."""
        return replace(copy.deepcopy(profile), id=uuid.uuid4().hex, name=f"{profile.name} (copy)")


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file and `os.replace` (readable by the owner only)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StorageError(
            f"The provider settings could not be saved in {path.parent}. Check that the folder "
            "exists and is writable.",
            detail=exc.strerror,
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StorageError(
            f"The provider settings could not be saved to {path}. Check free disk space and "
            "permissions; the previous file was kept.",
            detail=exc.strerror,
        ) from exc


# --- local server detection -------------------------------------------------------------------


def _model_ids(obj: Any) -> list[str] | None:
    """Model ids from an OpenAI `/v1/models` or Ollama `/api/tags` body; None if neither."""
    if isinstance(obj, dict):
        items = obj.get("data", obj.get("models"))
    else:
        items = obj
    if not isinstance(items, list):
        return None
    ids: list[str] = []
    for item in items:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict):
            value = item.get("id") or item.get("model") or item.get("name")
            if isinstance(value, str) and value:
                ids.append(value.removeprefix("models/"))
    return ids


async def _probe(
    client: httpx.AsyncClient, host: str, port: int, preset_id: str
) -> ProviderProfile | None:
    paths = ["/v1/models"]
    if preset_id == "ollama":
        paths.append("/api/tags")
    for path in paths:
        try:
            response = await client.get(f"http://{host}:{port}{path}")
        except _httpx().HTTPError:
            continue
        if not response.is_success:
            continue
        try:
            ids = _model_ids(response.json())
        except ValueError:
            continue
        if ids is None:
            continue
        if preset_id in PRESETS and PRESETS[preset_id].local:
            profile = new_profile_from_preset(preset_id)
        else:
            profile = ProviderProfile(
                name=f"Local server on port {port}",
                base_url="",
                preset="custom",
                key_source=KeySource.NONE,
                supports_top_k=True,
                connect_timeout=5.0,
            )
        url_host = f"[{host}]" if ":" in host else host
        profile.base_url = f"http://{url_host}:{port}/v1"
        if ids:
            profile.default_models["chat"] = ids[0]
        return profile
    return None


async def detect_local_servers(
    ports: Iterable[int] | Mapping[int, str] | None = None,
    timeout: float = 0.5,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    host: str = "127.0.0.1",
) -> list[ProviderProfile]:
    """Profiles for the local model servers answering on loopback, in port order.

    `ports` maps port -> preset id (default `LOCAL_SERVER_PORTS`); a plain list of ports uses
    the known preset for a known port and a generic local profile otherwise. All ports are
    probed at once (`GET /v1/models`, and Ollama's `/api/tags` as a fallback) and the whole
    probe ends after about `timeout` seconds even when a port accepts and never answers.
    """
    if ports is None:
        port_map: dict[int, str] = dict(LOCAL_SERVER_PORTS)
    elif isinstance(ports, Mapping):
        port_map = {int(k): str(v) for k, v in ports.items()}
    else:
        port_map = {int(p): LOCAL_SERVER_PORTS.get(int(p), "custom") for p in ports}
    if not port_map:
        return []
    # trust_env=False: a loopback probe must never go through a proxy.
    httpx = _httpx()
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), transport=transport, trust_env=False
    ) as client:
        tasks = {
            port: asyncio.create_task(_probe(client, host, port, preset))
            for port, preset in port_map.items()
        }
        _done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    found: list[ProviderProfile] = []
    for port in port_map:
        task = tasks[port]
        if task.cancelled() or task.exception() is not None:
            continue
        result = task.result()
        if result is not None:
            found.append(result)
    return found

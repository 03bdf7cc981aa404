"""Provider profiles: where to send requests and how (dialect, URL, headers, key source, network).

A profile never holds the API key itself; `app.core.secrets` resolves it from the key source.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["dialect"] = str(self.dialect)
        data["key_source"] = str(self.key_source)
        data["video_dialect"] = str(self.video_dialect)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProviderProfile":
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

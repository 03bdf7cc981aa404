"""Provider presets: ready-made profiles for well-known providers, the five documented seed
flavours and local servers (`new_profile_from_preset`, `preset_choices`, `presets`). Data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx is imported where it is used: it is slow to import at start-up
    pass

from app.core.errors import ConfigError
from app.core.providers.profile import Dialect, KeySource, ProviderProfile, VideoDialect

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
            video_dialect=VideoDialect.VEO,
            default_models={
                "chat": "gemini-2.5-flash",
                "embedding": "gemini-embedding-001",
                "video": "veo-3.0-fast-generate-001",
            },
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

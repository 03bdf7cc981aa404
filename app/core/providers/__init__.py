"""Provider profiles, split by reason to change:

- `profile`: the `ProviderProfile` record, its enums, validation and type-checked JSON form;
- `presets`: ready-made profiles (data);
- `repository`: `profiles.json` (`ProfileRepository`);
- `local_servers`: loopback detection of Ollama, LM Studio, llama.cpp and vLLM.

The names below are the public surface; import them from `app.core.providers`.
"""

from app.core.providers.local_servers import detect_local_servers
from app.core.providers.presets import (
    LOCAL_SERVER_PORTS,
    PRESETS,
    Preset,
    new_profile_from_preset,
    preset_choices,
    presets,
)
from app.core.providers.profile import (
    CAPABILITIES,
    SECRET_HEADERS,
    Dialect,
    KeySource,
    ProviderProfile,
    VideoDialect,
    profile_from_dict,
    validate_profile,
)
from app.core.providers.repository import EXPORT_KIND, SCHEMA_VERSION, ProfileRepository

__all__ = [
    "CAPABILITIES",
    "EXPORT_KIND",
    "LOCAL_SERVER_PORTS",
    "PRESETS",
    "SCHEMA_VERSION",
    "SECRET_HEADERS",
    "Dialect",
    "KeySource",
    "Preset",
    "ProfileRepository",
    "ProviderProfile",
    "VideoDialect",
    "detect_local_servers",
    "new_profile_from_preset",
    "preset_choices",
    "presets",
    "profile_from_dict",
    "validate_profile",
]

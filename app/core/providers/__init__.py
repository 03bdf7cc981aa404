"""Provider profiles, split by reason to change:

- `profile`: the `ProviderProfile` record, its enums, validation and type-checked JSON form;
- `presets`: ready-made profiles (data);
- `repository`: `profiles.json` (`ProfileRepository`);
- `local_servers`: loopback detection of Ollama, LM Studio, llama.cpp and vLLM.

The names below are the public surface; import them from `app.core.providers`.

The names are imported on first use (PEP 562): loading the profiles (`ProfileRepository`) at
start-up does not import the presets or the local-server detection (issue 9). The function
`presets()` is read from its module (`app.core.providers.presets.presets`): lazily, the package's
attribute of that name is the submodule once it is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from app.core.providers.local_servers import detect_local_servers
    from app.core.providers.presets import (
        LOCAL_SERVER_PORTS,
        PRESETS,
        Preset,
        new_profile_from_preset,
        preset_choices,
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

_WHERE = {
    "detect_local_servers": "local_servers",
    "LOCAL_SERVER_PORTS": "presets",
    "PRESETS": "presets",
    "Preset": "presets",
    "new_profile_from_preset": "presets",
    "preset_choices": "presets",
    "CAPABILITIES": "profile",
    "SECRET_HEADERS": "profile",
    "Dialect": "profile",
    "KeySource": "profile",
    "ProviderProfile": "profile",
    "VideoDialect": "profile",
    "profile_from_dict": "profile",
    "validate_profile": "profile",
    "EXPORT_KIND": "repository",
    "SCHEMA_VERSION": "repository",
    "ProfileRepository": "repository",
}

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
    "profile_from_dict",
    "validate_profile",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())

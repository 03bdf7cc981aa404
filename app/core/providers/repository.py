"""`ProfileRepository`: `profiles.json` in the data directory (atomic writes, schema version,
corrupt files set aside, import/export that never carries a key).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx is imported where it is used: it is slow to import at start-up
    pass

from app.core.errors import ConfigError, StorageError, redact
from app.core.providers.profile import (
    SECRET_HEADERS,
    ProviderProfile,
    contains_secret,
    new_profile_id,
    profile_from_dict,
    safe_profile_json,
    validate_profile,
)

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
        if contains_secret(text):
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
            "profiles": [safe_profile_json(p) for p in profiles],
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
                profile.id = new_profile_id()
            taken.add(profile.id)
            imported.append(profile)
        return imported

    @staticmethod
    def duplicate(profile: ProviderProfile) -> ProviderProfile:
        """A copy with a new id and the name “X (copy)” (the key is not copied)."""
        return replace(copy.deepcopy(profile), id=new_profile_id(), name=f"{profile.name} (copy)")


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

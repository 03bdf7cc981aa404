"""Committing profile edits: the one path by which the profile list changes at run time.

The settings dialog, the profile import, the "Add" offer for a detected local server and the demo
all end here: save the non-demo profiles to `profiles.json`, drop stale clients from the pool,
update `AppContext.profile_list`/`active_profile_id`, and tell the views.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.providers import ProviderProfile

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.ui.context import AppContext


async def commit_profiles(
    ctx: AppContext,
    profiles: list[ProviderProfile],
    active_id: str,
    *,
    changed_ids: Iterable[str] = (),
    persist: bool = True,
) -> None:
    """Persist `profiles` (demo profiles are never written), then update ctx and emit signals.

    `persist=False` changes only this session (used by the demo, which saves nothing).
    Raises ConfigError/StorageError from the repository; nothing in ctx changes then.
    """
    saved = [p for p in profiles if not p.is_demo]
    ids = {p.id for p in profiles}
    if active_id not in ids:
        active_id = saved[0].id if saved else (profiles[0].id if profiles else "")
    active = next((p for p in profiles if p.id == active_id), None)
    if persist:
        await asyncio.to_thread(ctx.profiles.save, saved)
    if persist and (active is None or not active.is_demo):
        # The demo lives for this session only: leave the saved choice alone while it is active.
        await asyncio.to_thread(ctx.profiles.set_active_id, active_id or None)

    old_ids = {p.id for p in ctx.profile_list}
    stale = set(changed_ids) | (old_ids - ids)
    for profile_id in stale:
        await ctx.clients.invalidate(profile_id)

    old_active = ctx.active_profile()
    old_model = old_active.model_for("chat") if old_active else ""
    ctx.profile_list = [copy.deepcopy(p) for p in profiles]
    ctx.active_profile_id = active_id
    ctx.events.profilesChanged.emit()
    new_active = ctx.active_profile()
    if (old_active.id if old_active else "") != active_id:
        ctx.events.activeProfileChanged.emit(active_id)
    elif new_active is not None and new_active.model_for("chat") != old_model:
        ctx.events.activeModelChanged.emit(new_active.id, new_active.model_for("chat"))


async def add_profile(
    ctx: AppContext, profile: ProviderProfile, *, activate: bool | None = None
) -> None:
    """Append one profile; it becomes active when asked, or when nothing (or the demo) is active."""
    current = ctx.active_profile()
    if activate is None:
        activate = current is None or current.is_demo
    profiles = [*ctx.profile_list, profile]
    await commit_profiles(ctx, profiles, profile.id if activate else ctx.active_profile_id)


def export_profiles_text(ctx: AppContext, profiles: Iterable[ProviderProfile] | None = None) -> str:
    """Exported JSON for the saved (non-demo) profiles: never contains a key."""
    chosen = ctx.profile_list if profiles is None else list(profiles)
    return ctx.profiles.export_json([p for p in chosen if not p.is_demo])


async def export_profiles_to(
    ctx: AppContext, path: Path, profiles: Iterable[ProviderProfile] | None = None
) -> int:
    """Write the export to `path`; returns how many profiles it holds."""
    chosen = [
        p for p in (ctx.profile_list if profiles is None else list(profiles)) if not p.is_demo
    ]
    text = ctx.profiles.export_json(chosen)
    await asyncio.to_thread(Path(path).write_text, text, "utf-8")
    return len(chosen)


async def read_import(ctx: AppContext, path: Path) -> list[ProviderProfile]:
    """Profiles from an exported file (new ids where they clash); raises ConfigError."""
    text = await asyncio.to_thread(Path(path).read_text, "utf-8")
    imported = ctx.profiles.import_json(text)
    taken = {p.id for p in ctx.profile_list}
    for p in imported:
        if p.id in taken:
            p.id = ProviderProfile(name="", base_url="").id
        taken.add(p.id)
        p.is_demo = False
    return imported


async def choose_profiles_file(parent: QWidget, *, save: bool) -> Path | None:
    """Ask for a profiles JSON file to export to (`save`) or import from; None if cancelled."""
    from app.ui.async_bridge import choose_file

    if save:
        path = await choose_file(
            parent,
            "Export profiles",
            save=True,
            name_filter="Switchboard profiles (*.json)",
            default_name="switchboard-profiles.json",
            default_suffix="json",
        )
    else:
        path = await choose_file(
            parent, "Import profiles", name_filter="Switchboard profiles (*.json)"
        )
    return Path(path) if path else None

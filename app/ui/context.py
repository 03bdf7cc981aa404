"""What every window and tab is given: the services built in app.main, and the app-wide signals.

There are no global singletons: app.main builds one AppContext and passes it down.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal

if TYPE_CHECKING:
    from app.core.demo.server import DemoServer
    from app.core.providers import ProfileRepository, ProviderProfile
    from app.core.secrets import SecretStore
    from app.core.services.chat import ChatService
    from app.core.services.clients import ClientPool
    from app.core.services.tasks import TaskOwner
    from app.core.store.db import Database
    from app.core.store.threads import ThreadRepository


class AppEvents(QObject):
    """App-wide notifications. Views subscribe; services never know about views."""

    # The list of profiles was edited (added, removed, renamed, settings changed).
    profilesChanged = Signal()
    # The active profile changed: its id ("" when none).
    activeProfileChanged = Signal(str)
    # The model chosen for chat changed: (profile_id, model).
    activeModelChanged = Signal(str, str)
    # A provider reported rate limits: (profile_id, RateLimitInfo).
    rateLimitChanged = Signal(str, object)
    # A short message for the status bar.
    statusMessage = Signal(str)


@dataclass
class AppContext:
    data_dir: Path
    db: "Database"
    threads: "ThreadRepository"
    chat: "ChatService"
    profiles: "ProfileRepository"
    secrets: "SecretStore"
    clients: "ClientPool"
    tasks: "TaskOwner"
    settings: QSettings
    events: AppEvents
    demo: "DemoServer | None" = None
    # Durable jobs (app.core.jobs) and the Notes service (issue 12); None when read-only.
    jobs: Any = None
    notes: Any = None
    # Profiles as loaded; the settings dialog replaces this list and emits profilesChanged.
    profile_list: list["ProviderProfile"] = field(default_factory=list)
    active_profile_id: str = ""

    def active_profile(self) -> "ProviderProfile | None":
        for p in self.profile_list:
            if p.id == self.active_profile_id:
                return p
        return None

    def profile(self, profile_id: str) -> "ProviderProfile | None":
        for p in self.profile_list:
            if p.id == profile_id:
                return p
        return None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Start work owned by the app's TaskOwner (never a bare create_task)."""
        return self.tasks.spawn(coro)

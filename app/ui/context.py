"""What every window and tab is given: the services built in app.main, and the app-wide signals.

There are no global singletons: app.main builds one AppContext and passes it down.

The job engine and the images, videos and notes services are built on first use (`LazyServices`):
the chat composer needs none of them, and their imports (Pillow's, the notes scanner's, the job
store's) would otherwise stand between the first paint and a composer that accepts typing.
app.main asks for them right after that (their start-up recovery runs then); a tab shown or a
dialog opened earlier builds the one it uses. `ctx.images` and the others read like fields.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal

from app.core.services.tasks import TaskOwner

if TYPE_CHECKING:
    from app.core.jobs import JobEngine
    from app.core.services.images import ImageService
    from app.core.demo.server import DemoServer
    from app.core.providers import ProfileRepository, ProviderProfile
    from app.core.secrets import SecretStore
    from app.core.services.chat import ChatService
    from app.core.services.clients import ClientPool
    from app.core.services.notes import NotesService
    from app.core.services.videos import VideoService
    from app.core.store.db import Database
    from app.core.store.personas import PersonaRepository
    from app.core.store.settings import SettingsRepository
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


class LazyServices:
    """Services built on first use, each once, from the factories app.main gives.

    A factory is called with this object (so the notes service can ask for the job engine).
    `started()` lists the built ones in the order they were built, for a staged shutdown (a
    service never asked for is never built, so there is nothing to close). After `close()` an
    unbuilt service can no longer be built: the database it would use is being closed.
    """

    def __init__(self, factories: dict[str, Callable[[LazyServices], Any]] | None = None) -> None:
        self._factories = dict(factories or {})
        self._built: dict[str, Any] = {}  # insertion order = build order
        self._closed = False

    def get(self, name: str) -> Any:
        if name in self._built:
            return self._built[name]
        if self._closed:
            raise RuntimeError(f"the {name} service was asked for after shutdown began")
        factory = self._factories.get(name)
        if factory is None:
            raise LookupError(f"no {name} service in this context")
        service = factory(self)
        # A factory may have built this one through another (none does today); keep the first.
        return self._built.setdefault(name, service)

    def set(self, name: str, service: Any) -> None:
        """Use `service` as `name` (tests hand in their own); it is closed like a built one."""
        self._built[name] = service

    def is_built(self, name: str) -> bool:
        return name in self._built

    def started(self) -> list[tuple[str, Any]]:
        return list(self._built.items())

    def close(self) -> None:
        self._closed = True


@dataclass
class AppContext:
    """The services, repositories and app-wide signals built once in `app.main.build_context`."""

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
    # Personas (saved system prompts) and the app's stored preferences, in the database.
    personas: "PersonaRepository"
    app_settings: "SettingsRepository"
    # The durable job engine every long-running service shares (app.core.jobs), and the images,
    # videos and notes services built on it: built on first use (the properties below).
    lazy: LazyServices = field(default_factory=LazyServices)
    demo: "DemoServer | None" = None
    # Profiles as loaded; the settings dialog replaces this list and emits profilesChanged.
    profile_list: list["ProviderProfile"] = field(default_factory=list)
    active_profile_id: str = ""

    @property
    def jobs(self) -> JobEngine:
        return self.lazy.get("jobs")

    @jobs.setter
    def jobs(self, engine: JobEngine) -> None:
        self.lazy.set("jobs", engine)

    @property
    def images(self) -> ImageService:
        return self.lazy.get("images")

    @images.setter
    def images(self, service: ImageService) -> None:
        self.lazy.set("images", service)

    @property
    def videos(self) -> VideoService:
        return self.lazy.get("videos")

    @videos.setter
    def videos(self, service: VideoService) -> None:
        self.lazy.set("videos", service)

    @property
    def notes(self) -> NotesService:
        return self.lazy.get("notes")

    @notes.setter
    def notes(self, service: NotesService) -> None:
        self.lazy.set("notes", service)

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

    def task_owner(self, name: str) -> TaskOwner:
        """A TaskOwner for one tab or dialog: closing it cancels only its work; a failure goes
        where the app's go (the excepthook)."""
        return TaskOwner(name, on_error=self.tasks.on_error)

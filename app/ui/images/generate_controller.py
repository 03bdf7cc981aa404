"""Runs the generate form: profiles and their image models, starting generations as jobs,
following them in the job list, Cancel / Retry download / Run again.

Given the service, a spawn function, the form, the job list, a function listing the profiles and
one returning a profile's client (for `/models`) — never the tab. Every generation is a job of
the service's; the form stays usable while any number of them run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import SwitchboardError
from app.ui.images.adapters import capabilities_for, generation_request, job_view
from app.ui.images.generate_form import FormSettings, GenerateForm
from app.ui.images.job_list import JobList

if TYPE_CHECKING:
    from app.core.jobs import JobRecord
    from app.core.providers import ProviderProfile
    from app.core.services.images import ImageEvent, ImageService

__all__ = ["GenerateController"]

log = logging.getLogger(__name__)
SpawnFn = Callable[[Any], Any]
RECENT_FAILURES_S = 24 * 3600
ClientFn = Callable[[str], Awaitable[Any]]


IMAGE_WORDS = (
    "image",
    "dall-e",
    "flux",
    "stable-diffusion",
    "sdxl",
    "imagen",
    "kolors",
    "midjourney",
    "recraft",
    "ideogram",
    "playground",
    "seedream",
    "qwen-image",
)


def image_model_ids(models: list[Any]) -> list[str]:
    """The image models of a `/models` list: by capability where the server says, else by name
    (most servers list every model without kinds); every model when no name looks like one."""
    if any(m.capabilities for m in models):
        return [m.id for m in models if "image" in m.capabilities]
    named = [m.id for m in models if any(w in m.id.lower() for w in IMAGE_WORDS)]
    return named or [m.id for m in models]


class GenerateController(QObject):
    jobStarted = Signal(int)  # job id
    jobFinished = Signal(int, str)  # job id, final state
    modelsLoaded = Signal(str, list)  # profile id, model ids
    startFailed = Signal(str)  # the sentence shown beside the form

    def __init__(
        self,
        service: ImageService,
        spawn: SpawnFn,
        form: GenerateForm,
        jobs: JobList,
        *,
        profiles: Callable[[], list[ProviderProfile]],
        client_for: ClientFn | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.spawn = spawn
        self.form = form
        self.jobs = jobs
        self._profiles = profiles
        self._client_for = client_for
        self._saved: dict[int, int] = {}  # job id -> images saved (from image events)
        self._finished: set[int] = set()
        self._models_generation = 0
        self._unsubscribe = service.on_event(self._on_event)
        form.generateRequested.connect(self._on_generate)
        form.profileChanged.connect(self._on_profile)
        jobs.cancelRequested.connect(lambda jid: self.spawn(self.service.cancel(jid)))
        jobs.retryDownloadRequested.connect(
            lambda jid: self.spawn(self._guard(self.service.retry_download(jid), jid))
        )
        jobs.rerunRequested.connect(lambda jid: self.spawn(self.rerun(jid)))

    def start(self) -> None:
        self.refresh_profiles()
        self.spawn(self.load_jobs())

    def close(self) -> None:
        self._unsubscribe()
        self.jobs.stop()

    # -- profiles and models --

    def image_profiles(self) -> list[ProviderProfile]:
        """Profiles that can make images: those with an image model, or an OpenAI/Gemini dialect."""
        return list(self._profiles())

    def refresh_profiles(self) -> None:
        self.form.set_profiles([(p.id, p.name) for p in self.image_profiles()])

    def profile(self, profile_id: str) -> ProviderProfile | None:
        for p in self._profiles():
            if p.id == profile_id:
                return p
        return None

    def _on_profile(self, profile_id: str) -> None:
        profile = self.profile(profile_id)
        self.form.set_capabilities(capabilities_for(profile))
        default = profile.model_for("image") if profile is not None else ""
        self.form.model_combo.setCurrentText("")
        self.form.set_models([], default)
        self._models_generation += 1
        if profile is not None and self._client_for is not None:
            self.spawn(self.load_models(profile.id, self._models_generation))

    async def load_models(self, profile_id: str, generation: int) -> None:
        """Offer the provider's image models from /models; keep a typed name when it has none."""
        assert self._client_for is not None
        try:
            client = await self._client_for(profile_id)
            models = await client.list_models()
        except SwitchboardError as exc:
            if generation == self._models_generation:
                self.form.model_combo.setToolTip(
                    f"Could not list models: {exc.user_message} Type a model name."
                )
                self.modelsLoaded.emit(profile_id, [])
            return
        if generation != self._models_generation:
            return
        ids = image_model_ids(models)
        profile = self.profile(profile_id)
        self.form.set_models(ids, profile.model_for("image") if profile else "")
        self.form.model_combo.setToolTip(
            "Pick an image model or type its name."
            if ids
            else "This provider lists no image models; type the model's name."
        )
        self.modelsLoaded.emit(profile_id, ids)

    # -- generating --

    def _on_generate(self, settings: FormSettings) -> None:
        self.spawn(self.generate(settings))

    async def generate(self, settings: FormSettings) -> int | None:
        try:
            job_id = await self.service.generate(generation_request(settings))
        except SwitchboardError as exc:
            self.form.hint.setText(exc.user_message)
            self.startFailed.emit(exc.user_message)
            return None
        job = await self.service.job(job_id)
        if job is not None:
            self._show(job)
        self.jobStarted.emit(job_id)
        return job_id

    async def rerun(self, job_id: int) -> int | None:
        try:
            new_id = await self.service.rerun(job_id)
        except SwitchboardError as exc:
            self.startFailed.emit(exc.user_message)
            return None
        self.jobs.dismiss(job_id)
        job = await self.service.job(new_id)
        if job is not None:
            self._show(job)
        self.jobStarted.emit(new_id)
        return new_id

    async def _guard(self, coro: Awaitable[Any], job_id: int) -> None:
        try:
            await coro
        except SwitchboardError as exc:
            self.jobs.set_error(job_id, exc.user_message)

    async def load_jobs(self) -> None:
        """Show generations still running, and those that failed or were interrupted in the last
        day (older ones would greet every start; their images, if any, are in the gallery)."""
        recent = time.time() - RECENT_FAILURES_S
        for job in reversed(await self.service.jobs(limit=20)):
            if job.active or (job.state in ("failed", "interrupted") and job.updated_at >= recent):
                self._show(job)

    def _show(self, job: JobRecord) -> None:
        try:
            can_retry = job.state == "failed" and self.service.can_retry_download(job)
        except NotImplementedError:
            can_retry = False
        view = job_view(job, can_retry)
        view.saved = max(view.saved, self._saved.get(job.id, 0))
        self.jobs.update_job(view)

    def _on_event(self, event: ImageEvent) -> None:
        job = event.job
        if event.what == "image" and job is not None:
            self._saved[job.id] = self._saved.get(job.id, 0) + 1
        if job is None or event.what not in ("job", "image"):
            return
        self._show(job)
        if job.finished and job.id not in self._finished:
            self._finished.add(job.id)
            self.jobFinished.emit(job.id, job.state)
            if job.state == "completed":
                # A finished generation leaves the list; its images are in the gallery.
                self.jobs.dismiss(job.id)

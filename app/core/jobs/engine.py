"""`JobEngine`: runs durable jobs as tasks of its own `TaskOwner` (see `app.core.jobs`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import SwitchboardError
from app.core.jobs.listeners import Listeners
from app.core.jobs.records import ACTIVE_STATES, JobEvent, JobRecord, JobState
from app.core.jobs.store import JobStore
from app.core.services.tasks import TaskOwner

__all__ = ["JobCancelled", "JobContext", "JobEngine", "JobKind", "JobListener", "RunFn"]

log = logging.getLogger(__name__)

JobListener = Callable[[JobEvent], None]
RunFn = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]

INTERRUPTED_MAY_HAVE_REACHED = (
    "The app stopped while this request was being sent, so the provider may have received it "
    "(and may charge for it). It was not sent again; re-run it if you want another attempt."
)
INTERRUPTED_NOT_RESUMABLE = "The app stopped while this job was running. Re-run it to try again."
INTERNAL_FAILURE = "An internal error stopped this job; it was logged. Re-run it to try again."


class JobCancelled(SwitchboardError):
    """Raised inside a run when the user cancelled (never escapes the engine)."""


@dataclass
class JobKind:
    """How to run one kind of job.

    `run(ctx)` does the work and returns the final result JSON (merged into the row's result),
    or raises a `SwitchboardError` (the job fails with its `user_message`). It is called both for
    a fresh job and for a resumed one (`ctx.resumed`), and must carry on from `ctx.job.result`.
    `resume_states`: states in which a job found unfinished at start-up is run again with
    `ctx.resumed = True`. A `submitting` job that `may_have_reached_provider` is never resumed
    automatically; one that never reached the provider is resumed when "submitting" is listed.
    """

    name: str
    run: RunFn
    resume_states: frozenset[str] = field(
        default_factory=lambda: frozenset({"submitting", "running", "downloading"})
    )


class JobContext:
    """What a running job sees: its current row and the calls that write it."""

    def __init__(self, engine: JobEngine, job: JobRecord, *, resumed: bool) -> None:
        self._engine = engine
        self.job = job
        self.resumed = resumed
        self._last_progress_write = 0.0

    @property
    def id(self) -> int:
        return self.job.id

    async def set_state(self, state: str, **fields: Any) -> JobRecord:
        """Write a new active state (`running`, `downloading`, ...) and tell listeners."""
        if state not in ACTIVE_STATES:
            raise ValueError("a run ends by returning or raising, not by set_state()")
        return await self._write("state", state=state, **fields)

    async def mark_sending(self) -> JobRecord:
        """Call just before sending a request the provider may bill: after a crash from here
        on, the job is `interrupted`, never re-sent by itself."""
        return await self._write("state", may_have_reached_provider=True)

    async def set_provider_task_id(self, task_id: str) -> JobRecord:
        return await self._write("state", provider_task_id=task_id)

    async def save_result(self, **values: Any) -> JobRecord:
        """Merge `values` into the result JSON now (e.g. URLs returned, files indexed)."""
        return await self._write("progress", merge_result=values)

    async def progress(self, fraction: float | None, text: str = "") -> None:
        """Report progress. Listeners hear every call; the row is written at most every
        `engine.progress_write_interval` seconds (a 10,000-file run must not write 10,000
        times), and always by the next state change."""
        self.job.progress = fraction
        self.job.progress_text = text
        now = time.monotonic()
        if now - self._last_progress_write >= self._engine.progress_write_interval:
            self._last_progress_write = now
            await self._write("progress", progress=fraction, progress_text=text)
        else:
            self._engine._emit(JobEvent("progress", self.job))

    async def _write(self, what: str, **fields: Any) -> JobRecord:
        row = await self._engine.store.update(
            self.job.id, only_if_state=ACTIVE_STATES, **fields
        )
        if row is None:  # cancelled (or deleted) under us
            raise JobCancelled("This job was cancelled.")
        self.job = row
        self._engine._emit(JobEvent(what, row))  # type: ignore[arg-type]
        return row


class JobEngine:
    """Starts, cancels, resumes and reconciles durable jobs. One per database.

    The store writes every state; listeners (`subscribe`) are plain callables called on the
    event loop's thread with a `JobEvent`. `aclose()` cancels every running task but leaves
    their rows as they are, so the next start resumes or reconciles them exactly as after a
    crash (quitting is not the user cancelling).
    """

    def __init__(
        self,
        store: JobStore,
        *,
        on_error: Callable[[BaseException], None] | None = None,
        progress_write_interval: float = 0.5,
    ) -> None:
        self.store = store
        self.progress_write_interval = progress_write_interval
        self._on_error = on_error
        self._owner = TaskOwner("jobs", on_error=on_error)
        self._kinds: dict[str, JobKind] = {}
        self._tasks: dict[int, asyncio.Task[Any]] = {}
        self._cancelling: set[int] = set()
        self._listeners: Listeners[JobEvent] = Listeners(log, "job listener failed", on_error)

    # --- registration and events --------------------------------------------------------------

    def register(self, kind: JobKind) -> None:
        self._kinds[kind.name] = kind

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        """Call `listener(JobEvent)` on every change; returns a function that unsubscribes."""
        return self._listeners.add(listener)

    def _emit(self, event: JobEvent) -> None:
        # A listener's bug must not break the job: Listeners sends it to on_error or the log.
        self._listeners.emit(event)

    # --- starting and stopping ----------------------------------------------------------------

    def running(self, job_id: int) -> bool:
        return job_id in self._tasks

    async def start(
        self, kind: str, params: dict[str, Any], *, owner_key: str = ""
    ) -> JobRecord:
        """Write the row (`submitting`) and start its run; returns the row as written.

        Returns after the row is committed, not after the work: follow it with `subscribe`
        or `wait(job_id)`.
        """
        job_kind = self._kind(kind)
        job = await self.store.create(kind, params, owner_key=owner_key)
        self._emit(JobEvent("state", job))
        self._launch(job_kind, job, resumed=False)
        return job

    async def wait(self, job_id: int) -> JobRecord | None:
        """Wait until the job's task (if any) ends; the row as it is then."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait({task})
        return await self.store.get(job_id)

    async def cancel(self, job_id: int) -> JobRecord | None:
        """The user's cancel: the row becomes `cancelled` and its task is stopped."""
        return await self._stop(job_id, "cancelled", None)

    async def pause(self, job_id: int, reason: str = "Paused. Resume to carry on.") -> JobRecord | None:
        """Stop a running job so that `rerun` carries on from its saved result (a notes
        indexing run's pause). The row becomes `interrupted` with `reason` as its error."""
        return await self._stop(job_id, "interrupted", reason)

    async def _stop(self, job_id: int, state: JobState, error: str | None) -> JobRecord | None:
        """Write `state` (if the job is still active), stop its task, tell the listeners."""
        row = await self.store.transition(job_id, ACTIVE_STATES, state, error=error)
        task = self._tasks.get(job_id)
        if task is not None:
            self._cancelling.add(job_id)
            task.cancel()
            await asyncio.wait({task})
        if row is not None:
            self._emit(JobEvent("state", row))
        return await self.store.get(job_id)

    async def remove(self, job_id: int) -> bool:
        """Delete a finished job's row (what it produced stays). False while it is active."""
        job = await self.store.get(job_id)
        if job is None or job.active or job_id in self._tasks:
            return False
        await self.store.delete(job_id)
        return True

    async def rerun(self, job_id: int) -> JobRecord | None:
        """Run a finished (failed / interrupted / cancelled) job again, as the user asked.

        The run sees `ctx.resumed = True` and the row's result so far. None when the job is
        not in a final state other than completed (already running, or done).
        """
        current = await self.store.get(job_id)
        if current is None:
            return None
        job_kind = self._kind(current.kind)
        row = await self.store.transition(
            job_id,
            ("failed", "interrupted", "cancelled"),
            "submitting" if not current.result else "running",
            error=None,
            may_have_reached_provider=False,
            attempts_delta=1,
        )
        if row is None:
            return None
        self._emit(JobEvent("state", row))
        self._launch(job_kind, row, resumed=True)
        return row

    async def recover(self, kind: str) -> list[JobRecord]:
        """At start-up: resolve every job of `kind` left active by a crash or a quit.

        Resumable ones (see `JobKind.resume_states`) are run again with `ctx.resumed`; a
        `submitting` job that may have reached the provider, and any other, becomes
        `interrupted` with a sentence saying what is known. Returns the rows as resolved.
        Call once per kind, before the UI reads the jobs.
        """
        job_kind = self._kind(kind)
        resolved: list[JobRecord] = []
        for job in await self.store.list(kind=kind, states=ACTIVE_STATES, limit=100_000):
            if job.id in self._tasks:
                continue  # already running in this process
            resume = job.state in job_kind.resume_states and not (
                job.state == "submitting" and job.may_have_reached_provider
            )
            if resume:
                # Claim it (attempts + 1 only if nobody else did) so a second recover(), here
                # or in another process, cannot run it too.
                row = await self.store.update(
                    job.id,
                    only_if_state=(job.state,),
                    only_if_attempts=job.attempts,
                    attempts_delta=1,
                )
                if row is not None and job.id not in self._tasks:
                    self._launch(job_kind, row, resumed=True)
                    resolved.append(row)
                continue
            text = (
                INTERRUPTED_MAY_HAVE_REACHED
                if job.state == "submitting"
                else INTERRUPTED_NOT_RESUMABLE
            )
            row = await self.store.transition(job.id, (job.state,), "interrupted", error=text)
            if row is not None:
                self._emit(JobEvent("state", row))
                resolved.append(row)
        return resolved

    async def aclose(self) -> None:
        """Stop every running job (rows left active: the next start resumes or reconciles)."""
        await self._owner.aclose()

    # --- internals ----------------------------------------------------------------------------

    def _kind(self, kind: str) -> JobKind:
        try:
            return self._kinds[kind]
        except KeyError:
            raise ValueError(f"no job kind {kind!r} is registered") from None

    def _launch(self, kind: JobKind, job: JobRecord, *, resumed: bool) -> None:
        task = self._owner.spawn(self._run(kind, job, resumed), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _t, job_id=job.id: self._tasks.pop(job_id, None))

    async def _run(self, kind: JobKind, job: JobRecord, resumed: bool) -> None:
        ctx = JobContext(self, job, resumed=resumed)
        try:
            result = await kind.run(ctx)
        except asyncio.CancelledError:
            if job.id in self._cancelling:
                self._cancelling.discard(job.id)
                return  # cancel() / pause() wrote the state
            raise  # shutdown: leave the row for the next start
        except JobCancelled:
            return
        except SwitchboardError as exc:
            # str(): the user sentence and, for provider errors, the provider's own words.
            await self._finish(job.id, "failed", error=str(exc))
            return
        except Exception:
            await self._finish(job.id, "failed", error=INTERNAL_FAILURE)
            raise  # a bug: to the owner's on_error (the excepthook)
        await self._finish(job.id, "completed", merge_result=result or {}, progress=1.0)

    async def _finish(self, job_id: int, state: str, **fields: Any) -> None:
        row = await self.store.transition(job_id, ACTIVE_STATES, state, **fields)
        if row is not None:
            self._emit(JobEvent("state", row))

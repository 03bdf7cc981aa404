"""Durable jobs: long work whose every step is in SQLite, so no paid result is lost or repeated.

Used by image generations, video tasks (polled for an hour) and notes indexing (10,000 files).
No Qt: listeners are plain callables; the UI adapts them to signals.

The contract
------------
Row first. `JobEngine.start(kind, params)` writes a `jobs` row in state `submitting` and
commits it *before* the run is started; it returns that row (it does not wait for the work).

States::

    submitting ──> running ──> downloading ──> completed
        │             │             │
        └─────────────┴─────────────┴──> failed | cancelled | interrupted

- `submitting`: the request is being sent. A run calls `ctx.mark_sending()` just before a
  request the provider may bill; from then on `may_have_reached_provider` is set.
- `running`: the provider accepted it (e.g. a video task id, saved with
  `ctx.set_provider_task_id`), or local work is under way (indexing).
- `downloading`: results are being fetched; what is already known (URLs, partial results) is
  saved with `ctx.save_result(...)` as it arrives.
- `completed` / `failed` (with `error`: the user's sentence plus the provider's own words) /
  `cancelled` (the user's cancel) / `interrupted` (found unfinished at start-up and not resumed,
  with `error` saying why).

Every state change is written as it happens (`JobStore.update`, one transaction) and then told
to listeners (`JobEngine.subscribe(fn)`, `fn(JobEvent)`, on the loop's thread). Progress
(`ctx.progress(fraction, text)`) reaches listeners on every call but is written to the row at
most every `progress_write_interval` seconds.

Never twice by accident. Moving a job between states is a compare-and-swap on its current
state, so a job is claimed by exactly one task: `cancel`, `rerun` and `recover` cannot race
into a second run. A run whose row was cancelled under it is stopped at its next write.

Recovery. At start-up, `await engine.recover(kind)` for each registered kind (after
`register(JobKind(name, run, resume_states))`). A job left active by a crash or a quit is
- resumed (`run(ctx)` with `ctx.resumed = True` and `ctx.job.result` as saved) when its state is
  in the kind's `resume_states` — except a `submitting` job that may have reached the provider,
  which is marked `interrupted` and NOT re-sent: the user decides (`rerun(job_id)`);
- otherwise marked `interrupted` with a sentence.
So a video task with a task id resumes polling; a download whose URLs are saved resumes; an
indexing run resumes from its saved position.

Cancel, pause and shutdown. `cancel(job_id)` writes `cancelled` and cancels the task.
`pause(job_id)` writes `interrupted` ("Paused...") and stops the task; `rerun(job_id)` resumes
it from its saved result. `remove(job_id)` deletes a finished job's row. `aclose()` (the
engine is the jobs' owner) cancels every task but leaves rows as they are: quitting is treated
like a crash, and the next start resumes or reconciles them.

Failures. A `SwitchboardError` raised by a run fails the job with its text. Any other exception
also fails the job (with a generic sentence) and goes to the `on_error` hook (the excepthook).
"""

from app.core.jobs.engine import JobCancelled, JobContext, JobEngine, JobKind, JobListener, RunFn
from app.core.jobs.listeners import Listeners
from app.core.jobs.records import (
    ACTIVE_STATES,
    FINAL_STATES,
    JOB_STATES,
    JobEvent,
    JobRecord,
    JobState,
)
from app.core.jobs.store import JobStore

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "JOB_STATES",
    "JobCancelled",
    "JobContext",
    "JobEngine",
    "JobEvent",
    "JobKind",
    "JobListener",
    "JobRecord",
    "JobState",
    "JobStore",
    "Listeners",
    "RunFn",
]

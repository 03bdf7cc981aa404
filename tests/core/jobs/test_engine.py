"""The durable job engine: row first, every state written, cancel, recovery, never run twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import RateLimitError
from app.core.jobs import JobContext, JobEngine, JobEvent, JobKind, JobStore
from app.core.store.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "jobs.db")
    try:
        yield database
    finally:
        database.close()


def test_the_row_is_written_before_the_run_and_every_state_is_recorded(db: Database, arun) -> None:
    async def scenario() -> None:
        store = JobStore(db)
        engine = JobEngine(store)
        seen_at_start: list[Any] = []
        events: list[JobEvent] = []

        async def run(ctx: JobContext) -> dict[str, Any]:
            row = await store.get(ctx.id)
            seen_at_start.append((row.state, row.params))
            await ctx.mark_sending()
            await ctx.set_state("running", provider_task_id="task-1")
            await ctx.save_result(step=1)
            await ctx.set_state("downloading")
            return {"done": True}

        engine.register(JobKind("demo", run))
        engine.subscribe(events.append)
        job = await engine.start("demo", {"prompt": "x"})
        assert job.state == "submitting"
        final = await engine.wait(job.id)
        assert seen_at_start == [("submitting", {"prompt": "x"})]
        assert final is not None and final.state == "completed"
        assert final.result == {"step": 1, "done": True}
        assert final.provider_task_id == "task-1" and final.may_have_reached_provider
        assert final.attempts == 1 and final.progress == 1.0
        states = [e.job.state for e in events if e.what == "state"]
        assert states[0] == "submitting" and states[-1] == "completed"
        assert "running" in states and "downloading" in states
        await engine.aclose()

    arun(scenario())


def test_a_known_error_fails_the_job_with_the_providers_words(db: Database, arun) -> None:
    async def scenario() -> None:
        engine = JobEngine(JobStore(db))

        async def run(ctx: JobContext) -> None:
            raise RateLimitError("Too many requests; wait a minute.", provider_message="slow down pal")

        engine.register(JobKind("demo", run))
        job = await engine.start("demo", {})
        final = await engine.wait(job.id)
        assert final is not None and final.state == "failed"
        assert "wait a minute" in (final.error or "") and "slow down pal" in (final.error or "")
        await engine.aclose()

    arun(scenario())


def test_a_bug_fails_the_job_and_reaches_the_error_hook(db: Database, arun) -> None:
    errors: list[BaseException] = []

    async def scenario() -> None:
        engine = JobEngine(JobStore(db), on_error=errors.append)

        async def run(ctx: JobContext) -> None:
            raise KeyError("oops")

        engine.register(JobKind("demo", run))
        job = await engine.start("demo", {})
        final = await engine.wait(job.id)
        await asyncio.sleep(0)
        assert final is not None and final.state == "failed" and "internal error" in (final.error or "")
        await engine.aclose()

    arun(scenario())
    assert len(errors) == 1 and isinstance(errors[0], KeyError)


def test_cancel_stops_the_run_and_records_cancelled(db: Database, arun) -> None:
    async def scenario() -> None:
        engine = JobEngine(JobStore(db))
        started = asyncio.Event()
        stopped = asyncio.Event()

        async def run(ctx: JobContext) -> None:
            await ctx.set_state("running")
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                stopped.set()

        engine.register(JobKind("demo", run))
        job = await engine.start("demo", {})
        await started.wait()
        final = await engine.cancel(job.id)
        assert stopped.is_set()
        assert final is not None and final.state == "cancelled"
        assert not engine.running(job.id)
        await engine.aclose()

    arun(scenario())


def test_progress_reaches_listeners_every_time_and_the_row_eventually(db: Database, arun) -> None:
    async def scenario() -> None:
        engine = JobEngine(JobStore(db), progress_write_interval=3600)
        heard: list[float | None] = []

        async def run(ctx: JobContext) -> None:
            for i in range(1, 101):
                await ctx.progress(i / 100, f"{i} files")
            await ctx.set_state("running", progress=ctx.job.progress)

        engine.register(JobKind("demo", run))
        engine.subscribe(lambda e: heard.append(e.job.progress) if e.what == "progress" else None)
        job = await engine.start("demo", {})
        await engine.wait(job.id)
        assert len(heard) == 100 and heard[-1] == 1.0
        await engine.aclose()

    arun(scenario())


def test_shutdown_leaves_rows_for_recovery_and_recovery_resolves_each(db: Database, arun) -> None:
    runs: list[tuple[int, bool]] = []

    async def first_process() -> dict[str, int]:
        engine = JobEngine(JobStore(db))
        hold = asyncio.Event()
        reached: dict[str, asyncio.Event] = {n: asyncio.Event() for n in ("sent", "fresh", "poll")}

        async def run(ctx: JobContext) -> None:
            name = ctx.job.params["name"]
            if name == "sent":
                await ctx.mark_sending()
            if name == "poll":
                await ctx.set_state("running", provider_task_id="t-9")
            reached[name].set()
            await hold.wait()

        engine.register(JobKind("demo", run, resume_states=frozenset({"submitting", "running"})))
        ids = {}
        for name in reached:
            ids[name] = (await engine.start("demo", {"name": name})).id
        for event in reached.values():
            await event.wait()
        await engine.aclose()  # a quit: rows stay active
        for job_id in ids.values():
            row = await engine.store.get(job_id)
            assert row is not None and row.active
        return ids

    async def second_process(ids: dict[str, int]) -> None:
        engine = JobEngine(JobStore(db))

        async def run(ctx: JobContext) -> dict[str, Any]:
            runs.append((ctx.id, ctx.resumed))
            return {"resumed_from": ctx.job.state}

        engine.register(JobKind("demo", run, resume_states=frozenset({"submitting", "running"})))
        # Two recoveries at once (two start-up paths racing) must not run anything twice.
        await asyncio.gather(engine.recover("demo"), engine.recover("demo"))
        for job_id in ids.values():
            await engine.wait(job_id)
        sent = await engine.store.get(ids["sent"])
        assert sent is not None and sent.state == "interrupted"
        assert "may have received it" in (sent.error or "")
        fresh = await engine.store.get(ids["fresh"])
        poll = await engine.store.get(ids["poll"])
        assert fresh is not None and fresh.state == "completed"
        assert poll is not None and poll.state == "completed"
        assert poll.result["resumed_from"] == "running" and poll.provider_task_id == "t-9"
        # The user may ask for the interrupted one again: then (and only then) it runs.
        again = await engine.rerun(ids["sent"])
        assert again is not None
        await engine.wait(ids["sent"])
        assert (await engine.store.get(ids["sent"])).state == "completed"  # type: ignore[union-attr]
        await engine.aclose()

    ids = arun(first_process())
    arun(second_process(ids))
    assert sorted(runs) == sorted([(ids["fresh"], True), (ids["poll"], True), (ids["sent"], True)])


def test_rerun_refuses_a_running_or_completed_job(db: Database, arun) -> None:
    async def scenario() -> None:
        engine = JobEngine(JobStore(db))
        gate = asyncio.Event()

        async def run(ctx: JobContext) -> None:
            await gate.wait()

        engine.register(JobKind("demo", run))
        job = await engine.start("demo", {})
        assert await engine.rerun(job.id) is None  # still running
        gate.set()
        await engine.wait(job.id)
        assert await engine.rerun(job.id) is None  # completed
        await engine.aclose()

    arun(scenario())


def test_pause_then_rerun_carries_on_from_the_saved_result(db: Database, arun) -> None:
    async def scenario() -> None:
        engine = JobEngine(JobStore(db))
        halfway = asyncio.Event()
        done_items: list[int] = []

        async def run(ctx: JobContext) -> dict[str, Any]:
            start = int(ctx.job.result.get("next", 0))
            for i in range(start, 10):
                done_items.append(i)
                await ctx.save_result(next=i + 1)
                if i == 4 and not ctx.resumed:
                    halfway.set()
                    await asyncio.Event().wait()  # paused here
            return {"finished": True}

        engine.register(JobKind("index", run, resume_states=frozenset({"running"})))
        job = await engine.start("index", {})
        await halfway.wait()
        paused = await engine.pause(job.id)
        assert paused is not None and paused.state == "interrupted" and paused.error
        await engine.rerun(job.id)
        final = await engine.wait(job.id)
        assert final is not None and final.state == "completed" and final.attempts == 2
        assert done_items == list(range(10))  # nothing done twice
        assert await engine.remove(job.id) and await engine.store.get(job.id) is None
        await engine.aclose()

    arun(scenario())

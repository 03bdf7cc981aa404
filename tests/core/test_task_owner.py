"""TaskOwner: keeps its tasks, forwards their errors, cancels and awaits them on aclose()."""

from __future__ import annotations

import asyncio

import pytest

from app.core.services.tasks import TaskOwner


def test_spawn_runs_and_forgets_finished_tasks(arun) -> None:
    async def main() -> None:
        owner = TaskOwner("t")

        async def work(x: int) -> int:
            await asyncio.sleep(0)
            return x * 2

        task = owner.spawn(work(21), name="double")
        assert task in owner.tasks and task.get_name() == "double"
        assert await task == 42
        await asyncio.sleep(0)
        assert owner.tasks == frozenset()
        await owner.aclose()

    arun(main())


def test_exceptions_are_forwarded_not_cancellations(arun) -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        owner = TaskOwner("t", on_error=errors.append)

        async def fail() -> None:
            raise ValueError("lost?")

        async def wait_forever() -> None:
            await asyncio.Event().wait()

        failing = owner.spawn(fail())
        waiting = owner.spawn(wait_forever())
        await asyncio.wait([failing])
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.wait([waiting])
        await asyncio.sleep(0)
        await owner.aclose()

    arun(main())
    assert [type(e) for e in errors] == [ValueError]
    assert str(errors[0]) == "lost?"


def test_without_handler_errors_are_logged(arun, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        owner = TaskOwner("logger")

        async def fail() -> None:
            raise RuntimeError("logged")

        task = owner.spawn(fail())
        await asyncio.wait([task])
        await owner.aclose()

    with caplog.at_level("ERROR"):
        arun(main())
    assert any("logger" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_failing_handler_does_not_hide_the_error(arun, caplog: pytest.LogCaptureFixture) -> None:
    def bad_handler(exc: BaseException) -> None:
        raise KeyError("handler broke")

    async def main() -> None:
        owner = TaskOwner("t", on_error=bad_handler)

        async def fail() -> None:
            raise RuntimeError("original")

        await asyncio.wait([owner.spawn(fail())])
        await owner.aclose()

    with caplog.at_level("ERROR"):
        arun(main())
    text = caplog.text
    assert "handler broke" in text and "original" in text


def test_aclose_cancels_and_awaits_running_tasks(arun) -> None:
    cleaned: list[str] = []

    async def main() -> None:
        owner = TaskOwner("t")
        started = asyncio.Event()

        async def long_job(name: str) -> None:
            try:
                started.set()
                await asyncio.Event().wait()
            finally:
                await asyncio.sleep(0)  # clean-up that itself awaits
                cleaned.append(name)

        tasks = [owner.spawn(long_job("a")), owner.spawn(long_job("b"))]
        await started.wait()
        await owner.aclose()
        assert all(t.cancelled() for t in tasks)
        assert owner.tasks == frozenset() and owner.closed

        async def late() -> None:
            pass

        with pytest.raises(RuntimeError, match="after aclose"):
            owner.spawn(late())  # the coroutine is closed: no "never awaited" warning

    arun(main())
    assert sorted(cleaned) == ["a", "b"]


def test_aclose_from_inside_an_owned_task(arun) -> None:
    async def main() -> None:
        async with TaskOwner("t") as owner:
            other = owner.spawn(asyncio.Event().wait())

            async def closer() -> str:
                await owner.aclose()
                return "closed"

            assert await owner.spawn(closer()) == "closed"
            assert other.cancelled()

    arun(main())


def test_cancel_all_does_not_close(arun) -> None:
    async def main() -> None:
        owner = TaskOwner("t")
        task = owner.spawn(asyncio.Event().wait())
        await asyncio.sleep(0)
        owner.cancel_all()
        await asyncio.wait([task])
        assert task.cancelled() and not owner.closed
        done = owner.spawn(asyncio.sleep(0, result="again"))
        assert await done == "again"
        await owner.aclose()

    arun(main())

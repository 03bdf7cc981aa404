"""Run the real Switchboard app and drive its video service (issue 11's hand-over test).

    python tests/e2e/video_app_driver.py --data-dir DIR submit PROFILE_ID PROMPT
    python tests/e2e/video_app_driver.py --data-dir DIR finish

The app is started by `app.main.run` as `python -m app --data-dir DIR --no-detect` starts it
(real QApplication, qasync loop, AppContext with its JobEngine and VideoService, MainWindow);
this process only wraps `app.main.build_context` to listen to `ctx.videos` and `_main` to act:

- `submit`: once the window is attached, submit one video job; as soon as the provider's task
  id is saved, print `running <job id>` and close the window: the app quits normally, leaving
  the job `running` for the next start;
- `finish`: start (the app recovers unfinished video jobs after the window is attached), wait
  until every recovered job ends, print `done <job id> <state>` for each, and close the window.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _say(line: str) -> None:
    print(line, flush=True)


def _instrument(app_main: Any, mode: str, rest: list[str]) -> None:
    original_build = app_main.build_context
    original_main = app_main._main
    contexts: list[Any] = []

    def build_context(*args: Any, **kwargs: Any) -> Any:
        ctx = original_build(*args, **kwargs)
        contexts.append(ctx)
        return ctx

    async def main(
        args: Any, data_dir: Any, settings: Any, crash: Any, window: Any, first_paint: Any
    ) -> int:
        import asyncio

        driver = asyncio.ensure_future(_drive(window, contexts, mode, rest))
        try:
            return int(await original_main(args, data_dir, settings, crash, window, first_paint))
        finally:
            if not driver.done():
                driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)

    app_main.build_context = build_context
    app_main._main = main


async def _drive(window: Any, contexts: list[Any], mode: str, rest: list[str]) -> None:
    import asyncio

    from app.core.services.videos import VideoSubmitRequest
    from app.ui.async_bridge import signal_future

    if window.ctx is None:
        await signal_future(window.attached)
    ctx = contexts[-1]
    loop = asyncio.get_running_loop()
    if mode == "submit":
        running: asyncio.Future[int] = loop.create_future()

        def on(event: Any) -> None:
            view = event.view
            if view is not None and view.task_id and view.state == "running" and not running.done():
                running.set_result(view.id)

        ctx.videos.subscribe(on)
        profile_id, prompt = rest
        await ctx.videos.submit(VideoSubmitRequest(profile_id, prompt))
        _say(f"running {await running}")
        window.close()
        return
    # finish: main spawns recover() after the window is attached; wait for every job to end.
    while True:
        views = await ctx.videos.list_jobs()
        if views and not any(v.active for v in views):
            break
        changed: asyncio.Future[None] = loop.create_future()

        def on_change(_event: Any, changed: asyncio.Future[None] = changed) -> None:
            if not changed.done():
                changed.set_result(None)

        unsubscribe = ctx.videos.subscribe(on_change)
        try:
            await asyncio.wait_for(changed, 30)
        finally:
            unsubscribe()
    for view in views:
        _say(f"done {view.id} {view.state} {view.file_path}")
    window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("mode", choices=("submit", "finish"))
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args(argv)

    import app.main as app_main

    _instrument(app_main, args.mode, args.rest)
    return app_main.run(["--data-dir", args.data_dir, "--no-detect"])


if __name__ == "__main__":
    sys.exit(main())

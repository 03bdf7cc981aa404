"""Run the real Switchboard app, send one chat message, and report the stream on stdout.

    python tests/e2e/kill_driver.py --data-dir DIR --prompt "Write 5000 tokens about tides."

The app is started by `app.main.run` exactly as `python -m app --data-dir DIR --no-detect`
starts it (real QApplication, qasync loop, AppContext, MainWindow, ChatTab, SQLite, httpx); the
only additions are made here, by wrapping functions of `app.main` in this process:

- once the Chat tab exists, `ChatTab.send(prompt)` is called, as the Send button does;
- the ThreadRepository's `journal_stream` is wrapped to report each journal write.

Lines printed (flushed, one event each), which the parent uses as signals:

    ready                       the Chat tab exists and the message is being sent
    streaming <id>              the first tokens of reply <id> are on screen
    journalled <id> <chars>     <chars> characters of reply <id> are committed to SQLite
    finished <id>               the reply ended (the window is then closed)
    failed <reason>             the message could not be sent

It is meant to be killed (SIGKILL) mid-stream by tests/e2e/test_kill.py and the kill benchmark
(`benchmarks/chat.py`); the profiles file in DIR must already name an active profile.
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


def _instrument(app_main: Any, prompt: str) -> None:
    """Wrap `app.main.build_context` and `app.main._main` (in this process only)."""
    original_build = app_main.build_context
    original_main = app_main._main

    def build_context(*args: Any, **kwargs: Any) -> Any:
        ctx = original_build(*args, **kwargs)
        repo = ctx.threads
        journal = repo.journal_stream

        async def journal_stream(message_id: int, content: str, reasoning: str) -> None:
            await journal(message_id, content, reasoning)
            # Reported only once the UPDATE has run (autocommit: it is on disk in the WAL).
            _say(f"journalled {message_id} {len(content)}")

        repo.journal_stream = journal_stream  # the ChatService holds this same repository
        return ctx

    async def main(
        args: Any, data_dir: Any, settings: Any, crash: Any, window: Any, first_paint: Any
    ) -> int:
        import asyncio

        driver = asyncio.ensure_future(_drive(window, prompt))
        try:
            return int(await original_main(args, data_dir, settings, crash, window, first_paint))
        finally:
            if not driver.done():
                driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)

    app_main.build_context = build_context
    app_main._main = main


async def _drive(window: Any, prompt: str) -> None:
    """Send `prompt` from the Chat tab and report the reply's progress."""
    import asyncio

    from app.ui.async_bridge import signal_future

    if window.ctx is None:  # the services are attached after the first paint
        await signal_future(window.attached)
    tab = window.chat_tab
    if tab is None or not hasattr(tab, "send"):
        _say("failed no chat tab (is a profile active?)")
        window.close()
        return
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[int] = loop.create_future()
    shown: set[int] = set()

    def on_data_changed(*_args: Any) -> None:
        for row in tab.message_model.rows:
            streaming = row.role == "assistant" and row.status == "streaming" and row.content
            if streaming and row.id > 0 and row.id not in shown:
                shown.add(row.id)
                _say(f"streaming {row.id}")

    def on_finished(message_id: int) -> None:
        if not finished.done():
            finished.set_result(message_id)

    tab.message_model.dataChanged.connect(on_data_changed)
    tab.replyFinished.connect(on_finished)
    _say("ready")
    if not tab.send(prompt):
        _say("failed the Chat tab refused to send (no model?)")
        window.close()
        return
    message_id = await finished
    _say(f"finished {message_id}")
    window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--prompt", required=True)
    args = parser.parse_args(argv)

    import app.main as app_main

    _instrument(app_main, args.prompt)
    return app_main.run(["--data-dir", args.data_dir, "--no-detect"])


if __name__ == "__main__":
    sys.exit(main())

"""The composition root: parse arguments, build the services and the window, run the qasync loop.

Everything Switchboard writes goes to the data directory (`--data-dir`, default the platform's
user data dir): `switchboard.db`, `profiles.json`, `logs/switchboard.log`, `ui.ini`.
There are no global singletons: the services built here are handed to the UI in an AppContext.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__

if TYPE_CHECKING:  # asyncio is imported after the first paint: it is slow to import
    import asyncio

log = logging.getLogger("switchboard")

# Fallback for "seconds since process start" where /proc is not available.
_IMPORT_TIME = time.time()


def process_start_time() -> float:
    """Epoch seconds at which this process started (best effort)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat; two fields precede this slice
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return time.time() - uptime + start_ticks / ticks
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil  # type: ignore[import-untyped]  # optional

        return float(psutil.Process().create_time())
    except (ImportError, OSError):
        return _IMPORT_TIME


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("Switchboard", "Switchboard"))


def early_code_cache_folder(argv: Sequence[str]) -> Path | None:
    """The data folder's cache/ that run() will use for these arguments, before run() parses
    them, or None when this start keeps no cache (--version, --help, --self-test's temporary
    folder, a multiprocessing child, arguments run() would refuse).

    For the frozen bundle: PyInstaller's PySide6 runtime hook imports PySide6 before the entry
    script runs, so packaging/rth_pyside_code_cache.py opens `codegen_cache.pyside_import` on
    this folder first. A spelling it does not read (an abbreviated --data-dir) only means that
    start reads the default folder's cache instead: entries match on their whole source text,
    so a wrong folder can only miss, and run() saves the cache to the folder it really uses."""
    argv = list(argv)
    if argv[:1] == ["--multiprocessing-fork"] or "-c" in argv:
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--version", "--self-test", "--help", "-h", action="store_true", dest="no_cache")
    try:
        known, _rest = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    if known.no_cache:
        return None
    try:
        return (known.data_dir or default_data_dir()).expanduser().resolve() / "cache"
    except (OSError, RuntimeError):  # no home folder to expand
        return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="A desktop chat and media studio for OpenAI-compatible and Gemini endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    parser.add_argument("--data-dir", type=Path, default=None, help="where everything is stored")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the built-in offline demo server and use it for this session",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PATH",
        help="save a PNG of the main window after its first paint, then quit",
    )
    parser.add_argument(
        "--quit-after-paint",
        action="store_true",
        default=bool(os.environ.get("SWITCHBOARD_QUIT_AFTER_PAINT")),
        help="print 'painted <seconds since process start> rss <bytes>' after the first paint and quit",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="open the data folder's database read-only: read the history, write nothing",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen on a temporary data folder with the demo, check that chat, images "
        "(and videos, notes) work, print one line per step; exit code 0 if all passed",
    )
    parser.add_argument("--theme", choices=("system", "light", "dark"), default="system")
    parser.add_argument(
        "--no-detect", action="store_true", help="do not probe loopback for local model servers"
    )
    return parser.parse_args(list(argv) if argv is not None else None)


def setup_logging(data_dir: Path) -> Any:
    """The log in data_dir/logs (or a fallback, see `app.log_setup.setup_logging`); returns the
    `app.log_setup.LogSetup`. Every handler formats, then redacts, so tracebacks are scrubbed."""
    from app.core.errors import redact
    from app.log_setup import setup_logging as setup

    return setup(data_dir / "logs", redact)


def run(argv: Sequence[str] | None = None) -> int:
    """Start Switchboard; returns the process exit code."""
    try:
        args = parse_args(argv)  # --version and --help end here, before any Qt is loaded
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    # Start-up makes objects that live as long as the app (modules, classes, PySide6's enums,
    # the widgets) and frees almost none, so the automatic collector would only walk them over
    # and over (19 collections before the composer accepts typing, measured). It stays off
    # until `GuiThreadGC` takes over on the GUI thread (gc_guard.py), whose `freeze_startup`
    # then collects once; it is restored as found when run() returns.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        from app import codegen_cache

        codegen_cache.uninstall()
        if gc_was_enabled:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    if args.self_test:
        from app.self_test import prepare

        prepare(args)  # offscreen, a temporary data folder, --demo
    data_dir: Path = (args.data_dir or default_data_dir()).expanduser().resolve()
    dir_error: OSError | None = None
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # shown in the start-up failure window, after the first paint
        dir_error = exc
    # Logging is set up right after the first paint (its imports cost start-up time); until then
    # nothing is logged, and Python's default hook prints any error to stderr.
    log_path = data_dir / "logs" / "switchboard.log"

    # PySide6's first import compiles shiboken's own Python support from source (~150 M
    # instructions, 35-50 ms): its code is kept between starts (codegen_cache.py).
    from app import codegen_cache

    with codegen_cache.pyside_import(data_dir / "cache"):
        from PySide6.QtCore import QSettings

    _cheaper_pyside_import_check()
    # httpx's `__init__` imports its command-line client (`httpx._main`: click, rich and
    # pygments' lexers, ~100 ms on the GUI thread right after the composer shows) whenever those
    # are installed, and falls back to a stub when the import fails. Switchboard never runs
    # that client: a None entry makes the import fail at once (the documented meaning of None
    # in sys.modules).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from PySide6.QtWidgets import QApplication

    # One instance writes to a data folder: a second start brings the first window forward and
    # exits without opening the database (or painting a window of its own).
    instance_lock = _acquire_instance_lock(data_dir) if dir_error is None else None
    if instance_lock == _ALREADY_RUNNING:
        return _forward(args, data_dir)

    from app.ui.theme import STYLE_ARGS, ThemeManager

    app = QApplication.instance() or QApplication(
        [sys.argv[0] if sys.argv else "switchboard", *STYLE_ARGS]
    )
    assert isinstance(app, QApplication)
    app.setApplicationName("Switchboard")
    app.setOrganizationName("Switchboard")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.switchboard.Switchboard")
    app.setQuitOnLastWindowClosed(False)
    theme = ThemeManager(app, args.theme, follow=False, style_from_args=True)
    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)

    # Step 1: paint the window shell before anything slow is imported or opened. The services
    # (qasync, SQLite, the keychain, httpx, the chat tab) load right after, into the same window.
    window, first_paint = _show_shell(app, settings, log_path)
    # The code dataclasses generate, compiled at an earlier start (codegen_cache.py: ~50 ms of
    # the GUI thread's time before the composer accepts typing). After the paint: it imports
    # dataclasses (and inspect), which nothing before the paint needs.
    codegen_cache.install(data_dir / "cache")
    _set_window_icon(app)  # after the paint: it loads Qt's SVG plugin
    log_setup = setup_logging(data_dir)
    active_log = log_setup.path  # None: the log goes to stderr only
    window.log_path = active_log
    log.info("Switchboard %s starting; data dir %s", __version__, data_dir)
    if log_setup.problem:
        log.warning("%s (%s)", log_setup.problem, log_setup.detail)
    theme.follow_system()

    # Step 2: the asyncio loop on Qt, the services, the tabs.
    from app.ui.crash import CrashHandler

    loop, gc_guard = install_event_loop(app)
    crash = CrashHandler(active_log, lambda: window)
    crash.install(loop)
    startup = _Startup(
        data_dir=data_dir, dir_error=dir_error, log_problem=log_setup.problem, lock=instance_lock,
        gc_guard=gc_guard,
    )
    # Carried on the parsed arguments so that `_main` keeps its signature: the kill driver and
    # the benchmark driver wrap it.
    args.startup = startup

    try:
        with loop:
            code = int(
                loop.run_until_complete(
                    _main(args, data_dir, settings, crash, window, first_paint)
                )
            )
            _drain(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            return code
    finally:
        gc_guard.stop()
        crash.uninstall()
        if startup.server is not None:
            startup.server.close()
        if instance_lock is not None and not isinstance(instance_lock, str):
            instance_lock.unlock()
        for handler in logging.getLogger().handlers[:]:
            logging.getLogger().removeHandler(handler)
            try:
                handler.close()
            except OSError:  # a full disk cannot take the last buffered line; nothing to do
                pass


def install_event_loop(app: Any) -> tuple[Any, Any]:
    """The GUI thread's set-up for asyncio on Qt: the collector moved to a GUI-thread timer
    (`app.ui.gc_guard.GuiThreadGC`), a qasync loop made current, and the loop's async-generator
    hooks. Returns (loop, gc_guard); the caller runs the loop, calls `gc_guard.freeze_startup()`
    once start-up is over and `gc_guard.stop()` at the end. Benchmark drivers that build a tab
    without the whole window start through this too, so they measure the loop users run."""
    import asyncio

    import qasync  # type: ignore[import-untyped]

    from app.ui.gc_guard import GuiThreadGC

    gc_guard = GuiThreadGC(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # qasync does not install these; without them breaking out of an SSE stream early warns
    # "async generator ignored GeneratorExit".
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    return loop, gc_guard


_ALREADY_RUNNING = "already-running"


def _cheaper_pyside_import_check() -> None:
    """Make PySide6's per-import check read bytes instead of `inspect.getsource`.

    Once QtCore is loaded, PySide6 calls `shibokensupport.feature.feature_imported(module)` after
    every import (for its opt-in `from __feature__ import ...`, which Switchboard does not use).
    Its `_mod_uses_pyside` asks `inspect.getsource(module)` whether the source contains
    "PySide6": every module's source is decoded, split into lines and kept in `linecache`
    (~300 modules before the composer accepts typing, ~55 ms of CPU there and ~7 MB kept; seen by
    napari too, napari/napari#8584). The same question is answered here by reading the file's
    bytes, and for the standard library's modules without reading anything; modules without a
    `.py` file (built-in, frozen, extension) keep PySide6's own answer. If a PySide6 release
    renames or drops the function, nothing is changed.
    """
    feature = sys.modules.get("shibokensupport.feature")
    upstream = getattr(feature, "_mod_uses_pyside", None)
    if upstream is None or getattr(upstream, "reads_bytes", False):
        return

    # The standard library never imports PySide6: its modules (asyncio, email, json, ...: about
    # half of those loaded before the composer accepts typing, and the largest files) are
    # answered without reading them.
    stdlib = os.path.dirname(os.__file__) + os.sep

    def mod_uses_pyside(module: Any) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return bool(upstream(module))
        if path.startswith(stdlib) and "site-packages" not in path:
            return False
        try:
            with open(path, "rb") as fh:
                return b"PySide6" in fh.read()
        except OSError:
            return bool(upstream(module))

    mod_uses_pyside.reads_bytes = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mod_uses_pyside  # type: ignore[union-attr]


def _set_window_icon(app: Any) -> None:
    """The app icon's SVG (resources/icons), rendered by Qt when first shown."""
    from PySide6.QtGui import QIcon

    from app.resources import ResourcesMissing, icon_path

    try:
        app.setWindowIcon(QIcon(str(icon_path())))
    except ResourcesMissing:  # an incomplete install still starts, without its icon
        pass


def _acquire_instance_lock(data_dir: Path) -> Any:
    """The held `QLockFile` (data_dir/switchboard.lock); _ALREADY_RUNNING when a live process
    holds it; None when no lock can be made (a read-only or missing folder: nothing can be
    written there anyway). Here rather than in app.ui.single_instance so that nothing new is
    imported before the first paint (QtCore is loaded already)."""
    from PySide6.QtCore import QLockFile

    lock = QLockFile(str(data_dir / "switchboard.lock"))
    # Only a dead owner (its PID gone, as after SIGKILL) makes the lock stale, never its age:
    # a session may last for days.
    lock.setStaleLockTime(0)
    if lock.tryLock(0):
        return lock
    if lock.error() == QLockFile.LockError.LockFailedError:
        return _ALREADY_RUNNING
    return None


def _forward(args: argparse.Namespace, data_dir: Path) -> int:
    """This data folder is in use by a running Switchboard: bring its window forward."""
    from app.ui.single_instance import forward_to_running_instance

    if forward_to_running_instance(data_dir):
        if args.quit_after_paint:
            print(f"already-running {data_dir}", flush=True)
        return 0
    sys.stderr.write(
        f"Switchboard is already running with the data folder {data_dir}, but it does not "
        "answer. Quit it (or end its process), then start Switchboard again.\n"
    )
    return _show_unanswered_instance(data_dir, args)


def _show_unanswered_instance(data_dir: Path, args: argparse.Namespace) -> int:
    """The lock's owner is alive but does not answer: say so in a window (no asyncio here, so
    a plain Qt event loop waits for the choice)."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from app.core.errors import SwitchboardError
    from app.ui.startup_failure import CHOOSE, RETRY, StartupFailureWindow, describe
    from app.ui.theme import STYLE_ARGS, ThemeManager

    app = QApplication.instance() or QApplication(
        [sys.argv[0] if sys.argv else "switchboard", *STYLE_ARGS]
    )
    theme = ThemeManager(app, args.theme, follow=False, style_from_args=True)
    exc = SwitchboardError(
        "Another Switchboard is using this data folder but does not answer. Quit it (or end "
        "its process), then press Try again."
    )
    exc.kind = "already-running"  # type: ignore[attr-defined]
    window = StartupFailureWindow(describe(exc, data_dir))
    result: list[Any] = []
    waiter = QEventLoop()
    window.chosen.connect(lambda action, arg: (result.extend((action, arg)), waiter.quit()))
    window.show()
    if args.quit_after_paint or args.screenshot is not None:
        from PySide6.QtCore import QTimer

        def report() -> None:
            if args.screenshot is not None:
                Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
                window.grab().save(str(args.screenshot), "PNG")
            actions = ",".join(window.buttons)
            print(
                f"startup-failure already-running visible={int(window.isVisible())} "
                f"actions={actions}",
                flush=True,
            )
            result.extend(("quit", None))
            waiter.quit()

        QTimer.singleShot(300, report)  # after its first paint (a plain Qt loop, no asyncio)
    waiter.exec()
    window.close()
    del theme, app
    if result and result[0] == CHOOSE:
        return _restart_with(args, Path(result[1]))
    if result and result[0] == RETRY:
        from app.ui.single_instance import forward_to_running_instance

        return 0 if forward_to_running_instance(data_dir) else 3
    return 3


class _Startup:
    """What run() learnt before the services started, for _main. (A plain class: dataclasses
    is not loaded before the first paint.)"""

    def __init__(
        self,
        data_dir: Path,
        dir_error: OSError | None = None,
        log_problem: str | None = None,
        lock: Any = None,
        gc_guard: Any = None,
    ) -> None:
        self.data_dir = data_dir
        self.gc_guard = gc_guard  # the GuiThreadGC run() installed (None when driven in tests)
        self.dir_error = dir_error
        self.log_problem = log_problem
        self.lock = lock
        self.server: Any = None  # the InstanceServer, once listening
        self.failure_window: Any = None  # the StartupFailureWindow while one is shown
        # Called with the StartupFailureWindow once it is shown (tests and drivers await it).
        self.on_failure_shown: Any = None
        # Why the last action chosen in the failure window did not work (shown next time).
        self.action_note: str | None = None


def _show_shell(app: Any, settings: Any, log_path: Path) -> tuple[Any, dict[str, float]]:
    """Show the main window's shell and wait (in a plain Qt loop, no asyncio yet) for its first
    paint. Returns the window and {"at": epoch seconds of the first paint, "rss": bytes then}."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

    from app.diagnostics import current_rss
    from app.ui.main_window import MainWindow

    window = MainWindow(settings=settings, log_path=log_path)
    first_paint: dict[str, float] = {}
    waiter = QEventLoop()

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.Paint and not first_paint:
                first_paint["at"] = time.time()
                # Let the rest of this paint cycle finish, then go on.
                QTimer.singleShot(0, waiter.quit)
            return False

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.show()
    # A bound, in case a platform never paints a hidden or minimised window.
    QTimer.singleShot(5000, waiter.quit)
    waiter.exec()
    window.removeEventFilter(watcher)
    first_paint.setdefault("at", time.time())
    first_paint["rss"] = float(current_rss())
    return window, first_paint


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await anything still scheduled (as `asyncio.run` does before closing)."""
    import asyncio

    for _ in range(3):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def _main(
    args: argparse.Namespace,
    data_dir: Path,
    settings: Any,
    crash: Any,
    window: Any,
    first_paint: dict[str, float],
) -> int:
    import asyncio

    startup: _Startup = getattr(args, "startup", None) or _Startup(data_dir=data_dir)
    quit_after_paint = args.quit_after_paint or args.screenshot is not None
    opened = await _open_data(args, data_dir, settings, crash, window, startup)
    if isinstance(opened, int):
        return opened
    ctx = opened

    async def shutdown_services() -> None:
        from app.ui.demo_session import stop_demo

        await shutdown_context(ctx, before_db=lambda: stop_demo(ctx))

    if ctx.db.read_only:
        window.set_read_only(
            "this database is open read-only, so nothing can be sent, edited or imported. "
            "Quit and start Switchboard normally to write again."
        )
    closed = asyncio.get_running_loop().create_future()
    window.closed.connect(lambda: _resolve(closed, None))
    window.attach(
        ctx,
        services_shutdown=shutdown_services,
        detect_local=None if (args.no_detect or quit_after_paint) else _detect_local_servers,
        tabs_later=True,
    )
    if args.demo:
        from app.ui.demo_session import activate_demo

        await activate_demo(ctx)
    composer_at = float("nan")
    if args.quit_after_paint:
        # Issue 9: the composer accepting typing (exists, enabled, has focus) is what the user
        # waits for; the start-up benchmark compares it with the bare window's first paint.
        composer_at = await _composer_ready_at(window)
    else:
        await _next_paint(window.chat_stack.currentWidget() or window)
    # Only now (issue 9): the media services, their recovery and their tabs; then the single-
    # instance server and the background checks. A key typed meanwhile is handled between steps.
    media = ctx.spawn(_start_media(ctx, window, recover=not ctx.db.read_only))
    await asyncio.wait([media])
    if startup.gc_guard is not None:
        # Start-up state is long-lived: keep it out of every later full collection (gc_guard.py).
        startup.gc_guard.freeze_startup()
    if not ctx.db.read_only:
        from app import codegen_cache

        codegen_cache.save()  # only when a class was compiled this time (a first start, an update)
    if ctx.tasks.closed:  # the window was closed meanwhile: its staged close is under way
        await closed
        return 0
    _listen(startup, window)
    window.start_background_checks()
    if args.self_test:
        from app.self_test import run_steps

        code = await run_steps(ctx, window)
        window.close()
        await closed
        return code
    ready_at = time.time()
    if os.environ.get("SWITCHBOARD_REPORT_READY"):
        # For tests and drivers that start the app and must know when it is up (no polling).
        print(f"ready {data_dir}", flush=True)

    if quit_after_paint:
        if args.quit_after_paint:
            start = process_start_time()
            print(
                f"painted {first_paint['at'] - start:.3f} rss {int(first_paint['rss'])} "
                f"ready {ready_at - start:.3f} at {first_paint['at']:.6f} ready_at {ready_at:.6f} "
                f"composer_at {composer_at:.6f}",
                flush=True,
            )
        if args.screenshot is not None:
            # Let the attached tabs lay out and paint before grabbing.
            await asyncio.sleep(0.3)
            path = Path(args.screenshot)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(path), "PNG"):
                log.error("could not save the screenshot to %s", path)
                await window.aclose()
                return 1
        window.close()

    await closed
    return 0


def _detect_local_servers() -> Any:
    from app.core.providers import detect_local_servers

    return detect_local_servers()


def _listen(startup: _Startup, window: Any) -> None:
    """Answer later starts on this data folder (they retry until this listens). Started after
    the composer accepts typing (QtNetwork loads then), or when a start-up failure is shown."""
    if startup.server is not None or startup.lock is None or isinstance(startup.lock, str):
        return
    from app.ui.single_instance import InstanceServer

    startup.server = InstanceServer(startup.data_dir, lambda: _bring_forward(window, startup))


async def _start_media(ctx: Any, window: Any, *, recover: bool) -> None:
    """After the composer accepts typing: build the job engine and the images, notes and videos
    services, run their start-up recovery, and attach the window's Images, Notes and Videos tabs.

    Recovery keeps its meaning, only later: image generations a crash or a quit left unfinished
    are resumed or marked interrupted (one that may have reached the provider is never sent again
    without asking), an interrupted indexing run resumes, and unfinished video jobs resume polling
    or downloading (a task of the app's owner). Each service is built in its own loop turn, so a
    key typed meanwhile is not held up by all of their imports at once. First of all, the window
    gets what the composer did not wait for (`MainWindow.attach_extras`: the File menu's thread
    export and import, the citation-link handler).
    """
    import asyncio

    from app.core.errors import SwitchboardError

    window.attach_extras()
    await asyncio.sleep(0)
    for name in ("jobs", "images", "notes", "videos"):
        ctx.lazy.get(name)
        await asyncio.sleep(0)
    if recover:
        try:
            resolved = await ctx.images.recover()
        except SwitchboardError as exc:
            log.warning("image jobs could not be recovered: %s", exc)
        else:
            if resolved:
                log.info("resolved %d unfinished image jobs", len(resolved))
        try:
            await ctx.notes.recover()  # resumes an indexing run a crash or a quit left
        except SwitchboardError as exc:
            log.warning("the notes index could not be recovered: %s", exc)
    window.attach_tabs()
    if recover:
        ctx.spawn(ctx.videos.recover())


async def _next_paint(widget: Any, timeout: float = 1.0) -> None:
    """Wait for `widget`'s next paint (a hidden or minimised window may never paint: bounded)."""
    import asyncio

    try:
        await asyncio.wait_for(_first_paint_future(widget), timeout)
    except TimeoutError:
        pass


async def _composer_ready_at(window: Any, timeout: float = 5.0) -> float:
    """The wall-clock time at which the chat tab's composer exists, is enabled and has focus
    (now, if it already does); NaN if it does not within `timeout` (no chat tab: first run)."""
    import asyncio

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    def accepting() -> bool:
        edit = getattr(getattr(window.chat_tab, "composer", None), "edit", None)
        return edit is not None and edit.isEnabled() and edit.isVisible() and edit.hasFocus()

    if window.chat_tab is None:  # the first-run panel: there is no composer to wait for
        return float("nan")
    if accepting():
        return time.time()
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def check(*_args: Any) -> None:
        if not future.done() and accepting():
            future.set_result(time.time())

    app = QApplication.instance()
    app.focusChanged.connect(check)
    # Enabling does not change focus: look again every few ms too (benchmark runs only).
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(check)
    timer.start()
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        return float("nan")
    finally:
        timer.stop()
        app.focusChanged.disconnect(check)


def _bring_forward(window: Any, startup: _Startup) -> None:
    """A second start on this data folder: show whichever window this instance is showing."""
    target = startup.failure_window if startup.failure_window is not None else window
    if target is None or not target.isVisible():
        target = window
    target.showNormal()
    target.raise_()
    target.activateWindow()
    log.info("a second start on this data folder brought the window forward")


async def _open_data(
    args: argparse.Namespace,
    data_dir: Path,
    settings: Any,
    crash: Any,
    window: Any,
    startup: _Startup,
) -> Any:
    """Open the services over the data folder, or explain why not in the start-up failure
    window and act on the user's choice. Returns the AppContext, or an exit code."""
    import asyncio
    import errno

    from app.core.errors import StorageError

    read_only = bool(args.read_only)
    log_problem_shown = False
    while True:
        ctx = None
        exc: BaseException | None = None
        try:
            if startup.dir_error is not None:
                raise startup.dir_error
            if not read_only and not os.access(data_dir, os.W_OK):
                raise PermissionError(errno.EROFS, "the folder cannot be written", str(data_dir))
            ctx = build_context(
                data_dir,
                settings,
                read_only=read_only,
                on_task_error=lambda e: crash.excepthook(type(e), e, e.__traceback__),
            )
            if not read_only:
                # Before the chat tab reads anything: replies left `streaming` by a crash or a
                # kill become `interrupted`, and old deleted threads go.
                await _recover(ctx, window)
        except (StorageError, OSError) as error:
            exc = error
            log.warning("start-up on %s failed: %s", data_dir, error)
            if ctx is not None:
                await shutdown_context(ctx)
                ctx = None
        if exc is None and (startup.log_problem is None or log_problem_shown or read_only):
            # Read-only, a log folder that cannot be written is expected: the banner says why.
            if startup.log_problem and read_only:
                window.status.showMessage(startup.log_problem, 15000)
            return ctx
        if exc is None:
            from app.core.errors import SwitchboardError

            exc = SwitchboardError(startup.log_problem)
            exc.kind = "log-unwritable"  # type: ignore[attr-defined]
            log_problem_shown = True
        from app.ui import startup_failure as sf  # only when something went wrong

        problem = await asyncio.to_thread(_describe_failure, exc, data_dir, startup)
        action, argument = await _ask(problem, args, window, startup)
        if action == sf.CONTINUE and ctx is not None:
            return ctx
        if ctx is not None:
            await shutdown_context(ctx)
        if action == sf.QUIT:
            return 3
        if action == sf.READ_ONLY:
            read_only = True
        elif action == sf.RESTORE:
            from app.core.store.db import restore_backup

            try:
                aside = await asyncio.to_thread(
                    restore_backup, data_dir / "switchboard.db", Path(argument)
                )
            except OSError as error:  # e.g. the folder is read-only after all: say so, ask again
                log.warning("restoring %s failed: %s", argument, error)
                startup.action_note = (
                    f"Restoring {Path(argument).name} failed ({error.strerror or error}); "
                    "nothing was moved or deleted."
                )
            else:
                window.status.showMessage(
                    f"Restored {Path(argument).name}; the old file is {aside.name}.", 15000
                )
        elif action == sf.CHOOSE:
            return _restart_with(args, Path(argument))
        # RETRY (and RESTORE, READ_ONLY): go round again


def _describe_failure(exc: BaseException, data_dir: Path, startup: _Startup) -> Any:
    """The StartupProblem for `exc` (runs on a worker thread: it probes the database)."""
    from app.core.store.db import Database, backups_of
    from app.ui.startup_failure import describe

    db_path = data_dir / "switchboard.db"
    can_read = False
    if db_path.is_file() and getattr(exc, "kind", None) != "log-unwritable":
        try:
            probe = Database.open(db_path, read_only=True)
        except Exception as error:  # any failure just means "not readable": say nothing more
            log.info("read-only probe failed: %s", error)
        else:
            try:
                probe.run_sync(lambda conn: conn.execute("SELECT count(*) FROM threads").fetchone())
                can_read = True
            except Exception as error:
                log.info("read-only probe could not read threads: %s", error)
            finally:
                probe.close()
    log_only = getattr(exc, "kind", None) == "log-unwritable"
    notes = (startup.log_problem,) if startup.log_problem and not log_only else ()
    if startup.action_note:
        notes = (startup.action_note, *notes)
        startup.action_note = None
    try:
        backups = tuple(backups_of(db_path))
    except OSError:
        backups = ()
    return describe(
        exc, data_dir, db_path=db_path, backups=backups, can_read_only=can_read, notes=notes
    )


async def _ask(
    problem: Any, args: argparse.Namespace, window: Any, startup: _Startup
) -> tuple[str, Any]:
    """Show the start-up failure window in place of the main window; await the user's choice.
    With --quit-after-paint / --screenshot: report `startup-failure <kind>` once it painted."""
    import asyncio

    from app.ui.startup_failure import CHOOSE, QUIT, StartupFailureWindow

    failure = StartupFailureWindow(problem)
    startup.failure_window = failure
    _listen(startup, window)  # a second start brings this window forward
    choice: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
    failure.chosen.connect(lambda action, arg: _resolve(choice, (action, arg)))
    painted = _first_paint_future(failure)
    window.hide()
    failure.resize(max(failure.sizeHint().width(), 680), failure.sizeHint().height())
    failure.show()
    failure.raise_()
    failure.activateWindow()
    try:
        await asyncio.wait_for(painted, 5.0)
    except TimeoutError:
        log.warning("the start-up failure window did not paint within 5 s")
    if startup.on_failure_shown is not None:
        startup.on_failure_shown(failure)
    if args.quit_after_paint or args.screenshot is not None:
        if args.screenshot is not None:
            await asyncio.sleep(0.2)  # let the wrapped labels settle before grabbing
            path = Path(args.screenshot)
            path.parent.mkdir(parents=True, exist_ok=True)
            failure.grab().save(str(path), "PNG")
        actions = ",".join(failure.buttons)
        print(
            f"startup-failure {problem.kind} visible={int(failure.isVisible())} actions={actions}",
            flush=True,
        )
        _resolve(choice, (QUIT, None))
    try:
        return await choice
    finally:
        startup.failure_window = None
        failure.hide()
        failure.deleteLater()
        if choice.result()[0] not in (QUIT, CHOOSE):  # CHOOSE: this process is about to exit
            window.show()


def _first_paint_future(widget: Any) -> Any:
    import asyncio

    from PySide6.QtCore import QEvent, QObject

    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    class Watcher(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.Paint:
                _resolve(future, None)
            return False

    watcher = Watcher(widget)
    widget.installEventFilter(watcher)
    future.add_done_callback(lambda _f: widget.removeEventFilter(watcher))
    return future


def _restart_with(args: argparse.Namespace, data_dir: Path) -> int:
    """Start a new Switchboard on another data folder (it takes its own lock); this one exits."""
    from PySide6.QtCore import QProcess

    # Frozen, sys.executable is the bundle's own program (it takes no `-m app`).
    argv = [] if getattr(sys, "frozen", False) else ["-m", "app"]
    argv += ["--data-dir", str(data_dir), "--theme", args.theme]
    if args.no_detect:
        argv.append("--no-detect")
    ok = QProcess.startDetached(sys.executable, argv)
    started = ok[0] if isinstance(ok, tuple) else bool(ok)
    if not started:
        log.error("could not start Switchboard on %s", data_dir)
        return 3
    return 0


async def _recover(ctx: Any, window: Any = None) -> asyncio.Task[int]:
    """Start-up recovery. Returns the background task purging old deleted threads.

    Awaited here, before the chat tab reads anything: replies left `streaming` by a crash or a
    kill become `interrupted` (one indexed UPDATE on the database thread).

    Not awaited: threads deleted in an earlier session (their Undo has long expired) are purged
    by a task of the app's task owner. The task first waits for `window` (the main window,
    already shown as a shell) to be attached to these services (its `attached` signal), so
    nothing of the purge runs before the window and its tabs are built; then it purges in bounded
    batches (`ThreadRepository.purge_deleted`) that yield between them, so
    neither the first paint nor the chat tab waits for it, and a quit or a kill mid-purge leaves
    the rest for the next start. Ones deleted from now on stay restorable until the next start.
    A failing purge is logged and shown in the status bar; it never ends start-up.
    """
    import asyncio
    import sqlite3

    from app.core.errors import StorageError, SwitchboardError

    n = await ctx.chat.recover_interrupted()
    if n:
        log.info("marked %d interrupted replies", n)
    # Unfinished image, video and notes jobs are recovered by `_start_media`, once the composer
    # accepts typing: nothing of the chat tab waits for them.
    cutoff = time.time()

    async def after_attach() -> None:
        from app.ui.async_bridge import signal_future

        if window is not None and window.ctx is None:
            await signal_future(window.attached)
        await asyncio.sleep(0)  # the tabs' first loads, spawned by attach, go first

    async def purge() -> int:
        await after_attach()
        try:
            purged = int(await ctx.threads.purge_deleted(older_than=cutoff))
        except (sqlite3.Error, SwitchboardError, OSError) as exc:
            known = exc if isinstance(exc, SwitchboardError) else StorageError(
                "Deleted chats could not be removed for good this time; they stay hidden and "
                "Switchboard will try again at the next start. If this repeats, check free disk "
                "space and the data folder's permissions.",
                detail=str(exc),
            )
            log.error("purging deleted threads failed: %s", known, exc_info=exc)
            ctx.events.statusMessage.emit(known.user_message)
            return 0
        if purged:
            log.info("purged %d deleted threads", purged)
        return purged

    return ctx.tasks.spawn(purge(), name="purge-deleted-threads")


def build_context(
    data_dir: Path,
    settings: Any,
    *,
    on_task_error: Any = None,
    secrets: Any = None,
    read_only: bool = False,
) -> Any:
    """Build the services over `data_dir` and the AppContext holding them. With `read_only`
    the database is opened `mode=ro` (`ctx.db.read_only`): reading works, writes raise.

    What the chat tab uses is built here; the job engine and the images, videos and notes
    services on it are built on first use (`AppContext.lazy`): `_start_media` asks for them once
    the composer accepts typing."""
    from app.core.errors import ConfigError
    from app.core.providers import ProfileRepository
    from app.core.secrets import SecretStore
    from app.core.services.chat import ChatService
    from app.core.services.clients import ClientPool
    from app.core.services.tasks import TaskOwner
    from app.core.store.db import Database
    from app.core.store.personas import PersonaRepository
    from app.core.store.settings import SettingsRepository
    from app.core.store.threads import ThreadRepository
    from app.ui.context import AppContext, AppEvents, LazyServices

    events = AppEvents()
    db = Database.open(data_dir / "switchboard.db", read_only=read_only)
    threads = ThreadRepository(db)
    profiles = ProfileRepository(data_dir / "profiles.json")
    secret_store = secrets if secrets is not None else SecretStore()
    # A weak reference: the pool must not keep the context alive in a reference cycle (a cycle
    # would leave its QObjects to the cyclic GC, which may run on a worker thread).
    ctx_ref: list[weakref.ref[AppContext]] = []

    def lookup(profile_id: str) -> Any:
        ctx = ctx_ref[0]() if ctx_ref else None
        return ctx.profile(profile_id) if ctx is not None else None

    clients = ClientPool(
        lookup,
        secret_store,
        on_rate_limit=lambda pid, info: events.rateLimitChanged.emit(pid, info),
    )
    chat = ChatService(threads, clients.get)
    tasks = TaskOwner("app", on_error=on_task_error)

    # One job engine for every long-running service: image generations, video tasks (issue 11),
    # notes indexing (issue 12). Each is built when first asked for (see LazyServices).
    def jobs(_lazy: LazyServices) -> Any:
        from app.core.jobs import JobEngine, JobStore

        return JobEngine(JobStore(db), on_error=on_task_error)

    def images(lazy: LazyServices) -> Any:
        from app.core.services.images import ImageService

        return ImageService(
            db, lazy.get("jobs"), clients, data_dir / "images", on_error=on_task_error
        )

    def videos(lazy: LazyServices) -> Any:
        from app.core.services.videos import VideoService

        return VideoService(
            db,
            lazy.get("jobs"),
            clients,
            data_dir / "videos",
            timeout=_setting_seconds(settings, "videos/timeout_s", 2 * 3600.0),
            on_error=on_task_error,
        )

    def notes(lazy: LazyServices) -> Any:
        from app.core.services.notes import NotesService

        return NotesService(
            db, lazy.get("jobs"), clients, profiles=_Lookup(lookup), on_error=on_task_error
        )

    try:
        profile_list = profiles.load()
        active = profiles.active_id or ""
    except ConfigError as exc:
        log.warning("profiles could not be loaded: %s", exc)
        profile_list, active = [], ""
        events_msg = exc.user_message
    else:
        events_msg = ""
    if not active and profile_list:
        active = profile_list[0].id
    ctx = AppContext(
        data_dir=data_dir,
        db=db,
        threads=threads,
        chat=chat,
        profiles=profiles,
        secrets=secret_store,
        clients=clients,
        tasks=tasks,
        settings=settings,
        events=events,
        personas=PersonaRepository(db),
        app_settings=SettingsRepository(db),
        lazy=LazyServices({"jobs": jobs, "images": images, "videos": videos, "notes": notes}),
        profile_list=profile_list,
        active_profile_id=active,
    )
    ctx_ref.append(weakref.ref(ctx))
    if events_msg:
        _post_status(events, events_msg)
    return ctx


def _setting_seconds(settings: Any, key: str, default: float) -> float:
    """A positive number of seconds from the settings, else `default`."""
    try:
        value = float(settings.value(key, default))
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default


class _Lookup:
    """`get(profile_id)` over a lookup function (what NotesService asks of `profiles`)."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def get(self, profile_id: str) -> Any:
        return self._fn(profile_id)


def _post_status(events: Any, text: str) -> None:
    """Post a status message once the window is listening."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(500, lambda: events.statusMessage.emit(text))


async def shutdown_context(ctx: Any, *, before_db: Any = None) -> None:
    """Staged shutdown of the services: tasks, HTTP clients, (the demo server), database.

    Each stage runs even if an earlier one failed; the first failure is re-raised at the end.
    Only the services that were built are closed (`ctx.lazy.started()`); none is built now.
    """
    import asyncio

    # The app's own tasks end first (a `_start_media` still running among them), so nothing is
    # built from here on; then the media services, then the job engine (it stops the jobs and
    # leaves their rows for the next start), then the HTTP clients they used.
    errors: list[BaseException] = []
    await _stage(ctx.tasks.aclose, errors)
    ctx.lazy.close()
    started = dict(ctx.lazy.started())
    for name in ("images", "videos", "notes", "jobs"):
        service = started.get(name)
        if service is not None:
            await _stage(service.aclose, errors)
    await _stage(ctx.clients.aclose, errors)
    if before_db is not None:
        await _stage(before_db, errors)
    await asyncio.to_thread(ctx.db.close)
    ctx.settings.sync()
    if errors:
        raise errors[0]


async def _stage(stage: Any, errors: list[BaseException]) -> None:
    """Run one shutdown stage; a failure is logged and kept, and shutting down goes on."""
    try:
        await stage()
    except Exception as exc:  # keep shutting down; report afterwards
        log.exception("shutdown stage %s failed", getattr(stage, "__qualname__", stage))
        errors.append(exc)

"""Chat figures: streaming through the real UI, opening a long thread, a big sidebar, search, kill.

Every UI figure is measured in a separate app process (`benchmarks._appdriver` or
`tests/e2e/kill_driver.py`, both running `app.main.run` unchanged) so CPU time and RSS are the
app's alone. The provider is a DemoServer in *this* process (not the app's): a subclass that
paces tokens against a deadline (`start + n / rate`) instead of sleeping `1 / rate` after each
token, so the server really sends 2,000 tokens a second (sleep overshoot would otherwise make
the server, not the UI, fall behind), and that logs when each token was written, which the kill
figure compares with what SQLite kept.

Suites (see `__main__.SUITES`): chat-stream, chat-open, chat-sidebar, chat-search, chat-kill.
Test data is generated deterministically (fixed seeds) into temporary data directories.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core.demo.server import DemoServer
from app.core.demo.text import count_tokens
from benchmarks.report import Row

ROOT = Path(__file__).resolve().parent.parent
KILL_DRIVER = ROOT / "tests" / "e2e" / "kill_driver.py"


# --- the provider -----------------------------------------------------------------------------


class PacedDemoServer(DemoServer):
    """The DemoServer, pacing each stream against a deadline and logging each token's send time.

    `sent` holds the `time.monotonic()` at which each token of the current stream was written.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pace_lock = threading.Lock()
        self._stream_origin: float | None = None
        self.sent: list[float] = []

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> Any:
        reply, fault = super().handle(method, raw_path, headers, body)
        if type(reply).__name__ == "StreamReply":
            with self._pace_lock:  # a new stream: pace it from its first token
                self._stream_origin = None
                self.sent = []
        return reply, fault

    def pause_between_tokens(self) -> bool:
        now = time.monotonic()
        with self._pace_lock:
            if self._stream_origin is None:
                self._stream_origin = now
            due = self._stream_origin + (len(self.sent) + 1) / self.token_rate
        if due > now and self._stopping.wait(due - now):
            return True
        with self._pace_lock:
            self.sent.append(time.monotonic())
        return self._stopping.is_set()


def _write_profiles(data_dir: Path, server: DemoServer) -> None:
    from app.core.providers import ProfileRepository

    profile = next(p for p in server.profiles() if p.id == "demo-openai")
    repo = ProfileRepository(data_dir / "profiles.json")
    repo.save([profile])
    repo.set_active_id(profile.id)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env.pop("SWITCHBOARD_QUIT_AFTER_PAINT", None)
    return env


def _drive(
    scenario: str, data_dir: Path, params: dict[str, Any], timeout: float = 120
) -> dict[str, Any]:
    """Run `benchmarks._appdriver SCENARIO` over `data_dir` and return its result."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks._appdriver",
            scenario,
            "--data-dir",
            str(data_dir),
            "--params",
            json.dumps(params),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_child_env(),
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("result "):
            return dict(json.loads(line[len("result ") :]))
        if line.startswith("error "):
            raise RuntimeError(
                f"{scenario} failed in the app:\n{json.loads(line[len('error ') :])}"
            )
    raise RuntimeError(f"{scenario}: no result (exit {proc.returncode})\n{proc.stderr[-3000:]}")


@contextmanager
def _data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sb-bench-chat-") as tmp:
        yield Path(tmp)


# --- deterministic text -------------------------------------------------------------------------

_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ren",
    "tor",
    "va",
    "sel",
    "qui",
    "dan",
    "bre",
    "po",
    "fi",
    "gal",
    "nu",
    "ster",
    "chi",
    "ma",
    "ro",
    "te",
    "lin",
    "vo",
    "har",
    "bel",
    "sa",
    "dor",
    "ex",
    "um",
    "pra",
    "cel",
    "tis",
    "gor",
    "an",
    "vi",
    "plen",
    "os",
    "ru",
    "mek",
    "ta",
    "zo",
    "wen",
)


def vocabulary(size: int = 4000, seed: int = 11) -> list[str]:
    """`size` distinct made-up words, most frequent first (draws follow a Zipf law by rank)."""
    rng = random.Random(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
        if len(word) > 2 and word not in seen:
            seen.add(word)
            words.append(word)
    return words


class TextMaker:
    """Realistic-looking chat text (prose, lists, code, tables) from a Zipf-weighted vocabulary."""

    def __init__(self, seed: int = 3, vocab_size: int = 4000) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocabulary(vocab_size)
        self._cum = list(_cumulative([1.0 / (r + 1) for r in range(len(self.vocab))]))
        scale = 200_000 / self._cum[-1]
        self._table = [
            w for r, w in enumerate(self.vocab) for _ in range(max(1, round(scale / (r + 1))))
        ]

    def words(self, n: int) -> list[str]:
        if n > 1000:  # bulk draws: uniform picks from a table laid out by the Zipf weights
            return self.rng.choices(self._table, k=n)
        return self.rng.choices(self.vocab, cum_weights=self._cum, k=n)

    def sentence(self, low: int = 6, high: int = 18) -> str:
        words = self.words(self.rng.randint(low, high))
        if self.rng.random() < 0.25:
            i = self.rng.randrange(len(words))
            words[i] = f"`{words[i]}()`" if self.rng.random() < 0.5 else f"**{words[i]}**"
        return words[0].capitalize() + " " + " ".join(words[1:]) + self.rng.choice(".....?!")

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def user_message(self, chars: int) -> str:
        parts: list[str] = []
        while sum(len(p) for p in parts) < chars:
            parts.append(self.sentence(5, 14))
        return " ".join(parts)

    def assistant_message(self, chars: int) -> str:
        rng = self.rng
        blocks = [f"## {' '.join(self.words(3)).title()}"] if rng.random() < 0.4 else []
        while sum(len(b) for b in blocks) < chars:
            kind = rng.random()
            if kind < 0.45:
                blocks.append(self.paragraph(rng.randint(2, 4)))
            elif kind < 0.65:
                marker = "-" if rng.random() < 0.6 else "1."
                blocks.append(
                    "\n".join(f"{marker} {self.sentence(4, 10)}" for _ in range(rng.randint(2, 5)))
                )
            elif kind < 0.82:
                name, arg = self.words(2)
                body = "\n".join(
                    f"    {w} = {arg}.{v}({rng.randint(0, 99)})"
                    for w, v in zip(self.words(3), self.words(3))
                )
                blocks.append(f"```python\ndef {name}({arg}):\n{body}\n    return {arg}\n```")
            elif kind < 0.92:
                cols = self.words(3)
                rows = [f"| {' | '.join(self.words(3))} |" for _ in range(rng.randint(2, 4))]
                blocks.append("\n".join([f"| {' | '.join(cols)} |", "|---|---|---|", *rows]))
            else:
                blocks.append("> " + self.sentence())
        return "\n\n".join(blocks)


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def _insert_messages(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    """Insert (id, thread_id, parent_id, role, content, created_at) rows in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO messages (id, thread_id, parent_id, role, content, status, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, 'complete', ?, ?)",
        [(*r, r[-1]) for r in rows],
    )
    conn.execute("COMMIT")


# --- 1. streaming -------------------------------------------------------------------------------

STREAM_RATE = 2000.0
STREAM_SMALL, STREAM_LARGE = 2_000, 20_000


def stream_rows() -> list[Row]:
    server = PacedDemoServer(token_rate=STREAM_RATE)
    server.start()
    try:
        with _data_dir() as data_dir:
            _write_profiles(data_dir, server)
            result = _drive(
                "stream", data_dir, {"tokens": [100, STREAM_SMALL, STREAM_LARGE]}, timeout=180
            )
            server_span = server.sent[-1] - server.sent[0] if len(server.sent) > 1 else float("nan")
    finally:
        server.stop()
    runs = {r["tokens"]: r for r in result["runs"]}
    small, large = runs[STREAM_SMALL], runs[STREAM_LARGE]
    complete = all(
        r["status"] == "complete" and r["stored_tokens"] == r["tokens"] for r in (small, large)
    )
    stall = max(small["max_stall_ms"], large["max_stall_ms"])
    cpu_ratio = large["cpu_s"] / small["cpu_s"]
    pace = large["wall_s"] / (STREAM_LARGE / STREAM_RATE)
    stored = "" if complete else " — a reply was NOT stored complete: " + json.dumps(runs)
    return [
        Row(
            "chat: longest UI stall streaming 20k tokens at 2k/s",
            stall,
            "ms",
            "<= 50",
            stall <= 50 and complete,
            f"5 ms precise QTimer on the GUI thread; 20k run {large['max_stall_ms']:.1f} ms "
            f"({large['stalls_over_16ms']} gaps > 16 ms in {large['ticks']} ticks; worst "
            f"(ms, at s): {large['worst_stalls']}; the view's own cost of re-rendering the "
            f"streaming row reached {large['max_render_cost_ms']:.0f} ms), "
            f"2k run {small['max_stall_ms']:.1f} ms{stored}",
        ),
        Row(
            "chat: app CPU for 20k tokens vs 2k tokens",
            cpu_ratio,
            "x",
            "<= 12",
            cpu_ratio <= 12 and complete,
            f"process CPU of the app alone (server in another process): {large['cpu_s']:.2f} s vs "
            f"{small['cpu_s']:.2f} s ({large['cpu_s'] / STREAM_LARGE * 1e6:.0f} vs "
            f"{small['cpu_s'] / STREAM_SMALL * 1e6:.0f} us/token)",
        ),
        Row(
            "chat: 20k-token reply time vs 20k/2k per s = 10 s",
            pace,
            "x",
            "<= 1.1",
            pace <= 1.1 and complete,
            f"send() to replyFinished {large['wall_s']:.2f} s; the server's own first-to-last token "
            f"span {server_span:.2f} s",
        ),
    ]


# --- 2. opening a long thread -------------------------------------------------------------------

OPEN_MESSAGES = 5_000
OPEN_TEXT_BYTES = 5_000_000
# The long threads opened, as (messages, bytes of text): ~1 kB a message, as in issue 9.
OPEN_SIZES = ((OPEN_MESSAGES, OPEN_TEXT_BYTES), (50_000, 50_000_000))


def _build_long_thread(
    data_dir: Path, messages: int = OPEN_MESSAGES, text_bytes: int = OPEN_TEXT_BYTES
) -> tuple[int, int, int]:
    """A thread of `messages` messages (~`text_bytes`) and an empty one; returns (big, empty, bytes)."""
    from app.core.store.db import Database
    from app.core.store.threads import ThreadRepository

    maker = TextMaker(seed=5)
    per_pair = 2 * text_bytes // messages
    db = Database.open(data_dir / "switchboard.db")
    try:
        repo = ThreadRepository(db)

        async def threads() -> tuple[int, int]:
            empty = await repo.create_thread(
                "An empty thread", profile_id="demo-openai", model="demo-chat"
            )
            big = await repo.create_thread(
                "A very long thread", profile_id="demo-openai", model="demo-chat"
            )
            return big.id, empty.id

        big_id, empty_id = asyncio.run(threads())
        rows: list[tuple[Any, ...]] = []
        size = 0
        start = time.time() - messages * 60
        for i in range(messages):
            user = i % 2 == 0
            rng_len = maker.rng.uniform(0.3, 1.7)
            text = (
                maker.user_message(int(per_pair * 0.15 * rng_len))
                if user
                else maker.assistant_message(int(per_pair * 0.85 * rng_len))
            )
            size += len(text.encode("utf-8"))
            rows.append(
                (i + 1, big_id, i or None, "user" if user else "assistant", text, start + i * 60)
            )
        db.run_sync(_insert_messages, rows)
        db.run_sync(
            lambda c: c.execute(
                "UPDATE threads SET selected_leaf_id = ? WHERE id = ?", (messages, big_id)
            )
        )
    finally:
        db.close()
    return big_id, empty_id, size


def open_rows() -> list[Row]:
    return [row for messages, text in OPEN_SIZES for row in _open_rows(messages, text)]


def _open_rows(messages: int, text: int) -> list[Row]:
    idle_server = DemoServer(port=9)  # never started: the profile points at a closed port
    with _data_dir() as data_dir:
        big_id, empty_id, text_bytes = _build_long_thread(data_dir, messages, text)
        _write_profiles(data_dir, idle_server)
        result = _drive(
            "open",
            data_dir,
            {"thread_id": big_id, "empty_id": empty_id, "rows": messages, "repeats": 3},
        )
    first = statistics.median(result["open_ms"])
    split = result["phases_ms"][result["open_ms"].index(first)]
    rss_idle, rss_after = result["rss_idle"], result["rss_after"]
    ratio = rss_after / (rss_idle + text_bytes)
    strict = rss_after <= 1.5 * rss_idle + text_bytes
    mib = 2**20
    return [
        Row(
            f"chat: open a {messages:,}-message thread to first paint",
            first,
            "ms",
            "<= 300",
            first <= 300,
            f"open_thread() call to the message view's first paint; {result['rows']} of the "
            f"{messages:,} rows read (the newest; older ones as the user scrolls up), "
            f"{max(result.get('layouts_built', [0]))} laid out; "
            f"median of {len(result['open_ms'])} opens from an empty thread "
            f"({', '.join(f'{t:.0f}' for t in result['open_ms'])} ms; GUI-thread CPU "
            f"{', '.join(f'{t:.0f}' for t in result.get('gui_cpu_ms', []))} ms); "
            f"median run: {split['to_filled']:.0f} ms to the model filled, {split['to_paint']:.0f} ms more to the paint",
        ),
        Row(
            "chat: RSS after opening it vs (idle app + text)"
            + ("" if messages == OPEN_MESSAGES else f" ({messages:,} messages)"),
            ratio,
            "x",
            "<= 1.5",
            ratio <= 1.5,
            f"idle {rss_idle / mib:.0f} MiB, after {rss_after / mib:.0f} MiB, text {text_bytes / mib:.1f} MiB; "
            f"stricter reading 1.5 x idle + text = {(1.5 * rss_idle + text_bytes) / mib:.0f} MiB "
            f"{'also met' if strict else 'NOT met'}",
        ),
    ]


# --- 3. a big sidebar ---------------------------------------------------------------------------

SIDEBAR_THREADS = 10_000
# (threads, target in ms): issue 9 asks 100,000 threads shown within 300 ms.
SIDEBAR_SIZES = ((SIDEBAR_THREADS, 200), (100_000, 300))


def sidebar_rows() -> list[Row]:
    return [row for n, target in SIDEBAR_SIZES for row in _sidebar_rows(n, target)]


def _sidebar_rows(n: int, target: int) -> list[Row]:
    idle_server = DemoServer(port=9)
    with _data_dir() as data_dir:
        _write_profiles(data_dir, idle_server)
        result = _drive("sidebar", data_dir, {"threads": n, "repeats": 5})
    times = result["reload_ms"]
    first, worst, median = times[0], max(times), statistics.median(times)
    slow = result["phases_ms"][times.index(worst)]
    return [
        Row(
            f"chat: {n:,} threads shown in the sidebar",
            median,
            "ms",
            f"<= {target}",
            median <= target and result["rows"] >= n and result["order_ok"],
            f"reload_threads() to the first paint of the sidebar showing its first screen of the "
            f"newest threads ({result['first_rows']} rows loaded: one page, keyset pagination; "
            f"more pages on scroll); then fetchMore reached the last of {result['rows']:,} threads "
            f"in {result['pages']} pages ({result['fetch_all_ms']:.0f} ms, order "
            f"{'equal to' if result['order_ok'] else 'NOT equal to'} the full listing); median of "
            f"{len(times)} (first, from an empty list: {first:.0f} ms; all: "
            f"{', '.join(f'{t:.0f}' for t in times)} ms); worst split: "
            f"{slow['to_filled']:.0f} ms to the model filled, {slow['to_paint']:.0f} ms more to the "
            f"paint (a separate sidebar_first_pages() call alone: {result['fetch_ms']:.0f} ms)",
        ),
    ]


# --- 4. full-text search ------------------------------------------------------------------------

SEARCH_MESSAGES = 200_000
SEARCH_THREADS = 2_000


def _search_messages(maker: TextMaker, n: int) -> Iterator[str]:
    """`n` chat messages for the search corpus: drawn in bulk (this is 200,000 of them), mostly
    prose of a few sentences, with some lists, inline code and fenced code as in real chats."""
    rng = maker.rng
    lengths = [
        int(rng.lognormvariate(2.5, 0.6)) + 2
        if i % 2 == 0
        else int(rng.lognormvariate(3.3, 0.7)) + 4
        for i in range(n)
    ]
    words = maker.words(sum(lengths))
    pos = 0
    for i, length in enumerate(lengths):
        chunk = words[pos : pos + length]
        pos += length
        sentences = [" ".join(chunk[j : j + 11]) for j in range(0, length, 11)]
        shape = i % 10
        if shape == 3 and len(sentences) > 2:
            text = sentences[0].capitalize() + ":\n\n" + "\n".join(f"- {s}" for s in sentences[1:])
        elif shape == 7 and len(sentences) > 1:
            code = sentences[-1].split()
            body = "\n".join(f"    {w} = {w}_{k}()" for k, w in enumerate(code[:4]))
            text = (
                ". ".join(s.capitalize() for s in sentences[:-1])
                + ".\n\n```python\n"
                + body
                + "\n```"
            )
        elif shape == 5:
            text = ". ".join(s.capitalize() for s in sentences) + f". See `{chunk[0]}()`."
        else:
            text = ". ".join(s.capitalize() for s in sentences) + "."
        yield text


def _build_search_db(path: Path) -> tuple[Any, int]:
    from app.core.store.db import Database

    maker = TextMaker(seed=9, vocab_size=4000)
    db = Database.open(path)
    now = time.time()
    db.run_sync(
        lambda c: c.executemany(
            "INSERT INTO threads (id, title, params_json, created_at, updated_at) VALUES (?, ?, '{}', ?, ?)",
            [
                (t + 1, " ".join(maker.words(4)).capitalize(), now, now)
                for t in range(SEARCH_THREADS)
            ],
        )
    )
    rows: list[tuple[Any, ...]] = []
    size = 0
    per_thread = SEARCH_MESSAGES // SEARCH_THREADS
    for i, text in enumerate(_search_messages(maker, SEARCH_MESSAGES)):
        thread, pos = divmod(i, per_thread)
        size += len(text)
        rows.append(
            (
                i + 1,
                thread + 1,
                i if pos else None,
                "user" if pos % 2 == 0 else "assistant",
                text,
                now,
            )
        )
    db.run_sync(_insert_indexed, rows)
    return db, size


def _insert_indexed(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert, then build messages_fts in one pass (FTS5 'rebuild': ~3x faster than the
    per-row insert trigger, same index); the trigger is put back as the schema has it."""
    (trigger_sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_ai'"
    ).fetchone()
    conn.execute("DROP TRIGGER messages_fts_ai")
    _insert_messages(conn, rows)
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    conn.execute(trigger_sql)


def search_rows() -> list[Row]:
    from app.core.store.threads import ThreadRepository

    vocab = vocabulary(4000)
    # Frequent, middling and rare words, two-word queries and prefixes still being typed.
    queries = [
        vocab[3],
        vocab[40],
        vocab[300],
        vocab[1500],
        vocab[3900],
        f"{vocab[10]} {vocab[200]}",
        f"{vocab[120]} {vocab[2500]}",
        vocab[25][:3],
        vocab[700][:4],
        vocab[2200][:2],
    ]
    with _data_dir() as data_dir:
        t0 = time.perf_counter()
        db, size = _build_search_db(data_dir / "search.db")
        build_s = time.perf_counter() - t0
        try:
            repo = ThreadRepository(db)

            async def measure() -> list[tuple[str, float, int]]:
                await repo.search(vocab[5])  # warm the page cache
                out = []
                for q in queries:
                    samples = []
                    for _ in range(3):
                        start = time.perf_counter()
                        hits = await repo.search(q, limit=50)
                        samples.append((time.perf_counter() - start) * 1000.0)
                    out.append((q, statistics.median(samples), len(hits)))
                return out

            measured = asyncio.run(measure())
        finally:
            db.close()
    times = [t for _, t, _ in measured]
    median = statistics.median(times)
    slowest = max(measured, key=lambda m: m[1])
    return [
        Row(
            "chat: FTS search over 200,000 messages, top 50",
            median,
            "ms",
            "<= 50",
            median <= 50,
            f"median of {len(queries)} queries (words by frequency rank, pairs, prefixes; each the "
            f"median of 3) via ThreadRepository.search; slowest {slowest[1]:.0f} ms for "
            f"{slowest[0]!r}; per query (ms/hits): "
            + ", ".join(f"{q!r} {t:.0f}/{n}" for q, t, n in measured)
            + f"; {size / 2**20:.0f} MiB of text, built in {build_s:.0f} s",
        ),
    ]


# --- 5. killed mid-stream -----------------------------------------------------------------------

KILL_RATE = 200.0
KILL_PROMPT = "Write 5000 tokens about tides and harbours."
KILL_AFTER_S = (2.0, 2.07, 2.13, 2.21)  # spread over the 250 ms journal interval


def _kill_once(
    server: PacedDemoServer, after: float, *, after_kill: Any = None
) -> tuple[int, int, bool]:
    """One run: (tokens the server had sent at the kill, tokens SQLite kept, prefix ok).

    `after_kill(db_path)`, if given, is called once the process is dead and before the database
    is opened again (benchmarks/reliability.py checks its integrity there)."""
    from app.core.services.chat import ChatService
    from app.core.store.db import Database
    from app.core.store.threads import ThreadRepository

    with _data_dir() as data_dir:
        _write_profiles(data_dir, server)
        proc = subprocess.Popen(
            [
                sys.executable,
                str(KILL_DRIVER),
                "--data-dir",
                str(data_dir),
                "--prompt",
                KILL_PROMPT,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=_child_env(),
        )
        assert proc.stdout is not None
        reply_id = 0
        try:
            for line in proc.stdout:
                if line.startswith("streaming "):
                    reply_id = int(line.split()[1])
                    break
                if line.startswith(("failed", "finished")):
                    raise RuntimeError(f"kill driver: {line.strip()}")
            if not reply_id:
                raise RuntimeError(f"kill driver exited early ({proc.wait()})")
            time.sleep(after)
            kill_at = time.monotonic()
            proc.send_signal(signal.SIGKILL)
            sent = sum(1 for t in list(server.sent) if t <= kill_at)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        if after_kill is not None:
            after_kill(data_dir / "switchboard.db")
        db = Database.open(data_dir / "switchboard.db")
        try:

            async def read() -> Any:
                await ChatService(ThreadRepository(db), _no_client).recover_interrupted()
                return await ThreadRepository(db).get_message(reply_id)

            reply = asyncio.run(read())
        finally:
            db.close()
    from app.core.demo.text import compose_reply

    content = reply.content if reply is not None else ""
    ok = (
        reply is not None
        and reply.status == "interrupted"
        and compose_reply(KILL_PROMPT).startswith(content)
    )
    return sent, count_tokens(content), ok


def _no_client(profile_id: str) -> Any:
    raise RuntimeError("recovery sends nothing")


def kill_rows() -> list[Row]:
    server = PacedDemoServer(token_rate=KILL_RATE)
    server.start()
    try:
        runs = [_kill_once(server, after) for after in KILL_AFTER_S]
    finally:
        server.stop()
    lost = [(sent - kept) / KILL_RATE for sent, kept, _ in runs]
    worst = max(lost)
    ok = all(r[2] for r in runs)
    return [
        Row(
            "chat: text lost when killed mid-stream",
            worst,
            "s",
            "<= 0.5",
            worst <= 0.5 and ok,
            f"SIGKILL ~2 s into a {KILL_RATE:.0f} tok/s stream, {len(runs)} runs; lost "
            f"{', '.join(f'{x:.2f}' for x in lost)} s (server-sent minus saved tokens / rate); "
            + (
                "saved text a prefix of the reply, status interrupted"
                if ok
                else "a saved reply was WRONG"
            ),
        ),
    ]

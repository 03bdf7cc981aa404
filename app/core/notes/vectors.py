"""The in-memory nearest-neighbour copy of an index's vectors (SQLite holds the originals).

Vectors are normalised, so cosine similarity is the inner product. Two regimes:

- up to `exact_limit` vectors: exact search over a float16 matrix with usearch's SIMD kernels
  (`usearch.index.search(..., exact=True)`): no build cost, always the true neighbours;
- beyond it: an HNSW graph (usearch `Index`, int8-quantised vectors, cosine), built on a worker
  thread from the exact matrix (`build_graph`, which lets searches, adds and removes go on
  meanwhile: they use the exact matrix, and what changed during the build is applied to the
  graph at its end), then updated in place (add/remove). `save(path)` writes the graph and
  `VectorIndex.restore(path, ...)` loads it, so a restart does not rebuild it (the service
  keeps the file's fingerprint beside it).

Why these, by measurement (this machine: 2 shared cores; 100,000 × 1,536, normalised, numbers
from `python -m benchmarks notes` and a scratch comparison):

| method                                       | query ms | memory MB | recall@10 |
|----------------------------------------------|---------:|----------:|----------:|
| numpy float32 brute force (BLAS)             |       58 |       614 |      1.00 |
| numpy float16 brute force                    |      407 |       307 |      1.00 |
| usearch exact, float16, SIMD                 |    38-40 |       307 |      1.00 |
| usearch exact, int8, SIMD                    |    24-34 |       154 |      0.79 |
| usearch HNSW float16 (M=16, ef=64)           |     0.72 |       555 |         - |
| usearch HNSW int8 (M=16, ef=128) + rescoring |     2.44 |       286 |     0.984 |
| sqlite-vec vec0 float32 (brute force)        | not run to the end: slower than numpy (a scan)|

The last row is `benchmarks/notes.py` (median; p95 6.3 ms; 40 candidates rescored exactly
from the stored float16 vectors; data with a 32-dimensional latent structure, see there; its
memory is usearch's memory_usage: the benchmark now reports the resident memory, 179 MB, and a
rerun measured 2.6 ms p50, 6.9 ms p95, recall 0.991 - the threaded build is not deterministic). Its
cost is the build: 219 s for 100,000 × 1,536 on 2 shared cores (expansion_add 128). It runs
once: the graph is saved and loaded at the next start (0.37 s at 100k). A cheaper build was
tried: expansion_add 64 takes ~40 % less CPU and keeps recall at 20,000 × 1,536 (0.999), but
at 100,000 × 1,536 recall@10 fell to 0.973 (40 candidates rescored), under the 0.98 target, so
128 stays; connectivity 12 or 8 lose 1-4 % at 20k, and float16/bfloat16 vectors build 1.7-2.5x
slower than int8. The build uses every CPU. The int8 quantisation needs each vector spread to
±1 first (`_spread`), or recall stays near 0.75.

What a build costs, and why the parameters depend on the size (`graph_params_for`). The build
is not slowed by how it feeds usearch (2.26.6): one `Index.add` of 20,000 × 768 or steps of
8,192 or 1,000 rows cost the same CPU within the noise (4.5-5.8 s), `_spread` is 2 µs a row
(<1 %), the cancellation check runs once per 8,192 rows. It is the HNSW insertion itself:
250-330 µs a vector at 20,000 × 768 (expansion_add 128, one thread), i.e. roughly 7-9k int8
distances at ~37 ns (an exact scan's rate; random reads cost more once the vectors outgrow the
caches), so the CPU per insertion grows with the graph. Measured single-threaded
at 768 dimensions, per 50,000 added (load average 7-10, so inflated; recall@10 with 40
candidates rescored, expansion_search 128):

| expansion_add | µs/insert at 50k → 100k → 150k → 200k | recall 100k | recall 200k |
|--------------:|----------------------------------------|------------:|------------:|
|           128 | 805 → (not finished)                   |           - |           - |
|            64 | 445 → 899 → 1,093 → 1,130              |       0.972 |       0.964 |
|            32 | 238 → 485 → 582 → 670                  |       0.928 |       0.911 |

So up to LARGE_GRAPH vectors (the 100k × 1,536 row: recall 0.98 needs expansion_add 128) the
careful build stays; beyond it expansion_add 64 (about half the CPU of 128) with
expansion_search 512 (a query-time cost: it wins back what the cheaper build loses).
The 1,000,000 × 768 row of `benchmarks/notes.py` with expansion_add 64, run twice (two builds):
build 1,304 / 1,190 s of CPU on 2 threads, 1,937 s of wall clock at load average 4-9 and
1,055 s at 1.7-2.3 (under `nice`; on 2 idle cores about 10-11 minutes if the threads scale);
save ~1 s, load 1.0 s; 1,023 MB resident after a restore (usearch's memory_usage: 1,333 MB).
recall@10 and query p50/p95 by the search breadth (each run's graph searched at several):
128: 0.874, 2.2/2.5 ms; 256: 0.933 / 0.946, 4.5-4.9/6.0 ms; 512: 0.978 / 0.980, 9.1-9.3/11-12
ms; 1024: 0.998, 16/19 ms (target 0.95 within 50 ms). expansion_add 128 would cost about
twice the CPU (the first try of this row did not finish in 24 CPU-minutes); 32 loses recall the
search would have to win back at 1M (0.911 already at 200k). A graph keeps the breadth it was built with while it grows
in place; a restored one gets the breadths of its size.

Brute force cannot meet 20 ms at 100k × 1,536 on this hardware (it is bound by memory
bandwidth: every query reads the whole matrix), and float32 alone breaks the 400 MB budget, so
large indexes use HNSW over int8; small ones (where a graph is all overhead) stay exact.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from usearch.index import Index, MetricKind, search

__all__ = ["GRAPH_FORMAT", "BuildCancelled", "VectorIndex", "graph_params_for", "normalise", "rescore"]

# Names how a saved graph was built; a saved file of another format is rebuilt, not loaded.
GRAPH_FORMAT = "usearch2-cos-i8-spread-m16"


def _spread(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled so their largest component is ±1. Cosine ignores scale, and usearch's int8
    quantisation maps [-1, 1] to [-127, 127]: a unit vector of 1,536 dimensions has components
    near 0.03, which would use only a few of the 255 levels (recall fell to ~0.75)."""
    v = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(v).max(axis=1, keepdims=True)
    peak[peak == 0] = 1.0
    return v / peak


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); an all-zero row stays zero."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return v / norms


def rescore(query: np.ndarray, keys: list[int], matrix: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Exact cosine for approximate candidates (`matrix`: their stored float16 rows, in order):
    the graph finds the neighbourhood, the stored vectors decide the order."""
    if not keys:
        return []
    q = normalise(query)[0]
    scores = np.asarray(matrix, dtype=np.float32) @ q
    order = np.argsort(-scores)[:k]
    return [(keys[int(i)], float(scores[int(i)])) for i in order]


class BuildCancelled(Exception):
    """`build_graph` stopped by `cancel_build()`; the index stays exact."""


@dataclass
class _Exact:
    keys: np.ndarray  # int64 [capacity]; rows [:n] are live, -1 marks a row removed mid-build
    matrix: np.ndarray  # float16 [capacity, dim]
    n: int
    where: dict[int, int] = field(default_factory=dict)  # key -> row
    dead: int = 0  # rows marked removed (only while a graph is being built)


# The graph's parameters by the number of vectors it is built from (see the module docstring):
# up to LARGE_GRAPH the careful build; beyond it a cheaper one, which keeps a build of 1M bounded,
# and a wider search, which gives back the recall the cheaper build loses.
LARGE_GRAPH = 250_000
_SMALL_PARAMS = (16, 128, 128)  # connectivity, expansion_add, expansion_search
_LARGE_PARAMS = (16, 64, 512)


def graph_params_for(n: int) -> tuple[int, int, int]:
    """(connectivity, expansion_add, expansion_search) for a graph of `n` vectors. A graph keeps
    the parameters it was built (or loaded) with while it grows or shrinks in place."""
    return _LARGE_PARAMS if n > LARGE_GRAPH else _SMALL_PARAMS


# Rows read (and converted to float32) per step of a build: small enough that a cancelled build
# stops within a few seconds, large enough for usearch's threads to share.
_STEP = 8_192


class VectorIndex:
    """Keys (int64) -> unit vectors of one dimension. Thread-safe; calls block (use a thread)."""

    def __init__(
        self,
        dim: int,
        *,
        exact_limit: int = 20_000,
        dtype: str = "i8",
        connectivity: int | None = None,  # None: by the graph's size (graph_params_for)
        expansion_add: int | None = None,
        expansion_search: int | None = None,
        threads: int = 0,  # 0: every CPU
    ) -> None:
        self.dim = dim
        self.exact_limit = exact_limit
        self._dtype = dtype
        self._params = (connectivity, expansion_add, expansion_search)
        self._threads = threads or os.cpu_count() or 1
        self._lock = threading.RLock()
        self._exact: _Exact | None = _Exact(np.zeros(0, np.int64), np.zeros((0, dim), np.float16), 0)
        self._hnsw: Index | None = None
        self._building = False
        self._cancel = False
        self._removed_while_building: list[int] = []

    def __len__(self) -> int:
        with self._lock:
            if self._hnsw is not None:
                return len(self._hnsw)
            return self._exact.n - self._exact.dead if self._exact else 0

    @property
    def approximate(self) -> bool:
        return self._hnsw is not None

    @property
    def wants_graph(self) -> bool:
        """Exact, above `exact_limit` and not being built: time for `build_graph()`."""
        with self._lock:
            return self._hnsw is None and not self._building and len(self) > self.exact_limit

    @property
    def graph_params(self) -> tuple[int, int, int] | None:
        """(connectivity, expansion_add, expansion_search) of the graph; None while exact."""
        with self._lock:
            g = self._hnsw
            if g is None:
                return None
            return (int(g.connectivity), int(g.expansion_add), int(g.expansion_search))

    def _chosen(self, n: int) -> tuple[int, int, int]:
        """The parameters for a graph of n vectors: the explicit ones, else `graph_params_for(n)`."""
        return tuple(  # type: ignore[return-value]
            given if given is not None else default
            for given, default in zip(self._params, graph_params_for(n))
        )

    @property
    def memory_bytes(self) -> int:
        with self._lock:
            total = int(self._hnsw.memory_usage) if self._hnsw is not None else 0
            if self._exact is not None:
                total += int(self._exact.matrix.nbytes + self._exact.keys.nbytes)
            return total

    # --- changes ------------------------------------------------------------------------------

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Add unit vectors (float32/float16 [n, dim]); existing keys are replaced."""
        keys = np.asarray(keys, dtype=np.int64)
        if not len(keys):
            return
        vectors = np.asarray(vectors)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"expected {len(keys)} vectors of {self.dim}, got {vectors.shape}")
        with self._lock:
            present = [int(k) for k in keys if self._contains(int(k))]
            if present:
                self.remove(np.asarray(present, np.int64))
            if self._hnsw is not None:
                self._hnsw.add(keys, _spread(vectors), threads=self._threads)
                return
            ex = self._exact
            assert ex is not None
            need = ex.n + len(keys)
            if need > len(ex.matrix):
                cap = max(need, int(len(ex.matrix) * 1.5) + 1024)
                grown = np.zeros((cap, self.dim), np.float16)
                grown[: ex.n] = ex.matrix[: ex.n]
                grown_keys = np.full(cap, -1, np.int64)
                grown_keys[: ex.n] = ex.keys[: ex.n]
                ex.matrix, ex.keys = grown, grown_keys
            ex.matrix[ex.n : need] = vectors
            ex.keys[ex.n : need] = keys
            for i, k in enumerate(keys.tolist()):
                ex.where[k] = ex.n + i
            ex.n = need

    def _contains(self, key: int) -> bool:
        if self._hnsw is not None:
            return bool(self._hnsw.contains(key))
        assert self._exact is not None
        return key in self._exact.where

    def remove(self, keys: np.ndarray) -> None:
        with self._lock:
            if self._hnsw is not None:
                for k in np.asarray(keys, np.int64).tolist():
                    if self._hnsw.contains(k):
                        self._hnsw.remove(k)
                return
            ex = self._exact
            assert ex is not None
            for k in np.asarray(keys, np.int64).tolist():
                row = ex.where.pop(k, None)
                if row is None:
                    continue
                if self._building:  # rows must keep their places while the build reads them
                    ex.keys[row] = -1
                    ex.matrix[row] = 0
                    ex.dead += 1
                    self._removed_while_building.append(k)
                    continue
                last = ex.n - 1
                if row != last:  # move the last row into the hole
                    ex.matrix[row] = ex.matrix[last]
                    moved = int(ex.keys[last])
                    ex.keys[row] = moved
                    ex.where[moved] = row
                ex.keys[last] = -1
                ex.n = last

    # --- the graph ----------------------------------------------------------------------------

    def _new_graph(self, n: int) -> Index:
        m, ea, es = self._chosen(n)
        return Index(
            ndim=self.dim, metric="cos", dtype=self._dtype, connectivity=m,
            expansion_add=ea, expansion_search=es,
        )

    def build_graph(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Build the HNSW graph from the exact rows (blocking: call it on a worker thread).

        The lock is held only to copy each slice of rows, so searches (exact, meanwhile), adds
        and removes go on; rows added during the build, and removals of rows already read, are
        applied to the graph at the end, under the lock, before it replaces the exact matrix.
        `cancel_build()` stops it (BuildCancelled) and leaves the index exact."""
        with self._lock:
            if self._hnsw is not None or self._building:
                return
            assert self._exact is not None
            self._building = True
            self._cancel = False
            self._removed_while_building = []
            start_n = self._exact.n
        graph = self._new_graph(start_n)
        try:
            for s in range(0, start_n, _STEP):
                if self._cancel:
                    raise BuildCancelled
                with self._lock:
                    ex = self._exact
                    assert ex is not None
                    e = min(start_n, s + _STEP)
                    keys = ex.keys[s:e].copy()
                    block = _spread(ex.matrix[s:e])
                live = keys >= 0
                if live.any():
                    graph.add(keys[live], block[live], threads=self._threads)
                if progress is not None:
                    progress(e, start_n)
            with self._lock:
                if self._cancel:
                    raise BuildCancelled
                ex = self._exact
                assert ex is not None
                for k in self._removed_while_building:
                    if graph.contains(k):
                        graph.remove(k)
                tail_keys = ex.keys[start_n : ex.n]
                live = tail_keys >= 0
                if live.any():
                    graph.add(tail_keys[live], _spread(ex.matrix[start_n : ex.n][live]), threads=self._threads)
                self._hnsw = graph
                self._exact = None
                self._building = False
                self._removed_while_building = []
        except BaseException:
            with self._lock:
                self._building = False
                self._compact()
            raise

    def cancel_build(self) -> None:
        self._cancel = True

    def _compact(self) -> None:
        """Drop the rows marked removed during a build that did not finish."""
        ex = self._exact
        if ex is None or not ex.dead:
            return
        live = np.flatnonzero(ex.keys[: ex.n] >= 0)
        ex.matrix[: len(live)] = ex.matrix[live]
        ex.keys[: len(live)] = ex.keys[live]
        ex.keys[len(live) : ex.n] = -1
        ex.n = len(live)
        ex.dead = 0
        ex.where = {int(k): i for i, k in enumerate(ex.keys[: ex.n].tolist())}
        self._removed_while_building = []

    # --- the file -----------------------------------------------------------------------------

    def save(self, path: str | Path) -> bool:
        """Write the graph to `path` (atomically: a temporary file, then a rename). False when
        there is no graph to save (exact indexes are rebuilt from SQLite in a moment)."""
        path = Path(path)
        with self._lock:
            if self._hnsw is None:
                return False
            tmp = path.with_name(path.name + ".tmp")
            self._hnsw.save(str(tmp))
        os.replace(tmp, path)
        return True

    @classmethod
    def restore(cls, path: str | Path, dim: int, **kwargs: Any) -> VectorIndex:
        """A graph saved by `save` (loaded into memory: it is updated in place afterwards).
        ValueError when the file is not such a graph of `dim` dimensions."""
        graph = Index.restore(str(path), view=False)
        if graph is None or graph.ndim != dim or str(graph.metric_kind) != str(MetricKind.Cos):
            raise ValueError(f"{path} is not a saved index of {dim}-dimensional vectors")
        index = cls(dim, **kwargs)
        # What the file does not keep (it keeps the connectivity): the build and search breadths.
        _, ea, es = index._chosen(len(graph))
        graph.expansion_search = es
        graph.expansion_add = ea
        index._hnsw = graph
        index._exact = None
        return index

    # --- search -------------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(key, cosine similarity) best first; at most k."""
        q = normalise(query)[0]
        with self._lock:
            if self._hnsw is not None:
                if not len(self._hnsw):
                    return []
                found = self._hnsw.search(_spread(q[None, :])[0], k)
                return [(int(key), 1.0 - float(d)) for key, d in zip(found.keys, found.distances)]
            ex = self._exact
            assert ex is not None
            if ex.n - ex.dead <= 0:
                return []
            kk = min(k + ex.dead, ex.n)  # rows marked removed may come back: ask for more
            found = search(
                ex.matrix[: ex.n], q.astype(np.float16), kk, MetricKind.IP, exact=True,
                threads=self._threads,
            )
            keys = ex.keys[: ex.n]
            out = [
                (int(keys[int(row)]), 1.0 - float(d))
                for row, d in zip(found.keys, found.distances)
                if int(row) >= 0 and int(keys[int(row)]) >= 0
            ]
            return out[:k]

"""The in-memory nearest-neighbour copy of an index's vectors (SQLite holds the originals).

Vectors are normalised, so cosine similarity is the inner product. Two regimes:

- up to `exact_limit` vectors: exact search over a float16 matrix with usearch's SIMD kernels
  (`usearch.index.search(..., exact=True)`): no build cost, always the true neighbours;
- beyond it: an HNSW graph (usearch `Index`, int8-quantised vectors, cosine), built once on a
  worker thread from the exact matrix and then updated in place (add/remove).

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
from the stored float16 vectors; data with a 32-dimensional latent structure, see there). Its
cost is the build: 219 s for 100,000 × 1,536 on 2 shared cores (the in-memory copy is built
when first searched; saving it beside the database is not done yet). The int8 quantisation
needs each vector spread to ±1 first (`_spread`), or recall stays near 0.75.

Brute force cannot meet 20 ms at 100k × 1,536 on this hardware (it is bound by memory
bandwidth: every query reads the whole matrix), and float32 alone breaks the 400 MB budget, so
large indexes use HNSW over int8; small ones (where a graph is all overhead) stay exact.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from usearch.index import Index, MetricKind, search

__all__ = ["VectorIndex", "normalise", "rescore"]


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


@dataclass
class _Exact:
    keys: np.ndarray  # int64 [n]
    matrix: np.ndarray  # float16 [capacity, dim]; rows [:n] are live
    n: int


class VectorIndex:
    """Keys (int64) -> unit vectors of one dimension. Thread-safe; calls block (use a thread)."""

    def __init__(
        self,
        dim: int,
        *,
        exact_limit: int = 20_000,
        dtype: str = "i8",
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 128,
        threads: int = 2,
    ) -> None:
        self.dim = dim
        self.exact_limit = exact_limit
        self._dtype = dtype
        self._params = (connectivity, expansion_add, expansion_search)
        self._threads = threads
        self._lock = threading.RLock()
        self._exact: _Exact | None = _Exact(np.zeros(0, np.int64), np.zeros((0, dim), np.float16), 0)
        self._where: dict[int, int] = {}  # exact mode: key -> row
        self._hnsw: Index | None = None

    def __len__(self) -> int:
        with self._lock:
            if self._hnsw is not None:
                return len(self._hnsw)
            return self._exact.n if self._exact else 0

    @property
    def approximate(self) -> bool:
        return self._hnsw is not None

    @property
    def memory_bytes(self) -> int:
        with self._lock:
            if self._hnsw is not None:
                return int(self._hnsw.memory_usage)
            assert self._exact is not None
            return int(self._exact.matrix.nbytes + self._exact.keys.nbytes)

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
                grown_keys = np.zeros(cap, np.int64)
                grown_keys[: ex.n] = ex.keys[: ex.n]
                ex.matrix, ex.keys = grown, grown_keys
            ex.matrix[ex.n : need] = vectors
            ex.keys[ex.n : need] = keys
            for i, k in enumerate(keys.tolist()):
                self._where[k] = ex.n + i
            ex.n = need
            if ex.n > self.exact_limit:
                self._to_hnsw()

    def _contains(self, key: int) -> bool:
        if self._hnsw is not None:
            return bool(self._hnsw.contains(key))
        return key in self._where

    def _to_hnsw(self) -> None:
        ex = self._exact
        assert ex is not None
        m, ea, es = self._params
        index = Index(
            ndim=self.dim, metric="cos", dtype=self._dtype, connectivity=m,
            expansion_add=ea, expansion_search=es,
        )
        step = 65_536  # converting to float32 in slices keeps the peak memory small
        for s in range(0, ex.n, step):
            e = min(ex.n, s + step)
            index.add(ex.keys[s:e], _spread(ex.matrix[s:e]), threads=self._threads)
        self._hnsw = index
        self._exact = None
        self._where = {}

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
                row = self._where.pop(k, None)
                if row is None:
                    continue
                last = ex.n - 1
                if row != last:  # move the last row into the hole
                    ex.matrix[row] = ex.matrix[last]
                    moved = int(ex.keys[last])
                    ex.keys[row] = moved
                    self._where[moved] = row
                ex.n = last

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
            if ex.n == 0:
                return []
            kk = min(k, ex.n)
            found = search(
                ex.matrix[: ex.n], q.astype(np.float16), kk, MetricKind.IP, exact=True,
                threads=self._threads,
            )
            keys = ex.keys[: ex.n]
            return [
                (int(keys[int(row)]), 1.0 - float(d))
                for row, d in zip(found.keys, found.distances)
                if int(row) >= 0
            ]

"""The vector copy: exact below the limit, an HNSW graph built beside it (searches, adds and removes
go on meanwhile), saved and restored without a rebuild."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.core.notes.vectors import BuildCancelled, VectorIndex, normalise


def _data(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return normalise(rng.standard_normal((n, dim)).astype(np.float32))


def _top(index: VectorIndex, q: np.ndarray, k: int = 1) -> list[int]:
    return [key for key, _ in index.search(q, k)]


def test_exact_until_built_then_the_graph_finds_the_same_neighbours() -> None:
    data = _data(3000)
    index = VectorIndex(64, exact_limit=1000, threads=1)
    index.add(np.arange(3000), data)
    assert not index.approximate and index.wants_graph and len(index) == 3000
    exact = [_top(index, data[i])[0] for i in range(0, 3000, 150)]
    index.build_graph()
    assert index.approximate and not index.wants_graph and len(index) == 3000
    assert [_top(index, data[i])[0] for i in range(0, 3000, 150)] == exact == list(range(0, 3000, 150))


def test_changes_during_a_build_reach_the_graph() -> None:
    data = _data(4000)
    index = VectorIndex(64, exact_limit=10, threads=1)
    index.add(np.arange(3000), data[:3000])
    seen_during: list[list[int]] = []
    done_first_slice = threading.Event()

    def progress(done: int, total: int) -> None:
        if not done_first_slice.is_set():
            done_first_slice.set()
            # Mid-build, from the same thread the service's callers would use: all of these
            # must work and be reflected in the finished graph.
            index.remove(np.asarray([5, 2999]))  # one already read, one not yet (same slice here)
            index.add(np.arange(3000, 4000), data[3000:])  # new rows
            index.add(np.asarray([7]), data[3500:3501])  # a replaced vector
            index.remove(np.asarray([3999]))  # added during the build, then removed
            seen_during.append(_top(index, data[3100]))
            seen_during.append(_top(index, data[5]))

    index.build_graph(progress)
    assert index.approximate
    assert seen_during[0] == [3100]  # the exact search saw the new rows at once
    assert seen_during[1] != [5]  # and no longer the removed one
    assert len(index) == 4000 - 3  # 5, 2999 and 3999 gone; 7 replaced, not doubled
    assert _top(index, data[3100]) == [3100]
    for gone in (5, 2999, 3999):
        assert gone not in _top(index, data[gone], 5)
    assert set(_top(index, data[3500], 2)) == {3500, 7}


def test_a_cancelled_build_leaves_a_working_exact_index() -> None:
    data = _data(200)
    index = VectorIndex(64, exact_limit=10, threads=1)
    index.add(np.arange(200), data)

    def progress(done: int, total: int) -> None:
        index.remove(np.asarray([3]))
        index.cancel_build()

    with pytest.raises(BuildCancelled):
        index.build_graph(progress)
    assert not index.approximate and len(index) == 199 and index.wants_graph
    assert _top(index, data[4]) == [4] and 3 not in _top(index, data[3], 5)
    index.remove(np.asarray([199]))  # the ordinary removal works again after the compaction
    index.add(np.asarray([500]), data[3:4])
    assert _top(index, data[3]) == [500]


def test_saved_graph_restores_with_its_keys_and_search_breadth(tmp_path: Path) -> None:
    data = _data(2000)
    index = VectorIndex(64, exact_limit=0, threads=1, expansion_search=96)
    index.add(np.arange(2000) * 7, data)
    path = tmp_path / "index.usearch"
    assert not index.save(path)  # exact: nothing to save
    index.build_graph()
    assert index.save(path) and path.exists() and not (tmp_path / "index.usearch.tmp").exists()
    restored = VectorIndex.restore(path, 64, exact_limit=0, threads=1, expansion_search=96)
    assert restored.approximate and len(restored) == 2000
    assert restored._hnsw is not None and restored._hnsw.expansion_search == 96
    for i in range(0, 2000, 100):
        assert _top(restored, data[i]) == [i * 7]
    restored.add(np.asarray([1]), data[:1])  # updated in place after loading
    assert set(_top(restored, data[0], 2)) == {0, 1}
    with pytest.raises(ValueError):
        VectorIndex.restore(path, 32)


def test_graph_parameters_follow_the_size_unless_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.notes import vectors

    monkeypatch.setattr(vectors, "LARGE_GRAPH", 1500)  # the rule, at a size a test can build
    small, large = vectors._SMALL_PARAMS, vectors._LARGE_PARAMS
    assert small != large
    assert vectors.graph_params_for(1500) == small and vectors.graph_params_for(1501) == large
    data = _data(2000)
    built = {}
    for n in (1000, 2000):
        index = VectorIndex(64, exact_limit=0, threads=1)
        assert index.graph_params is None  # exact: no graph yet
        index.add(np.arange(n), data[:n])
        index.build_graph()
        built[n] = index.graph_params
        assert index.save(tmp_path / f"{n}.usearch")
        # The file keeps the connectivity; the breadths come back from the same rule.
        assert VectorIndex.restore(tmp_path / f"{n}.usearch", 64, exact_limit=0).graph_params == built[n]
    assert built == {1000: small, 2000: large}
    given = VectorIndex(64, exact_limit=0, threads=1, connectivity=8, expansion_search=33)
    given.add(np.arange(2000), data)
    given.build_graph()
    assert given.graph_params == (8, large[1], 33)
    for i in range(0, 2000, 200):  # still a working graph
        assert _top(given, data[i]) == [i]

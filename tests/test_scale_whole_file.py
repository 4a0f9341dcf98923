"""The whole-file phase of a streamed check grows near-linearly with the file (issue 13).

A 5 GB file was read in bounded memory and then never left the whole-file phase: SQLite
planned the conflicting-answers join as a scan of every prompt for every conflicting group
(quadratic).  These tests fill the on-disk index with a worst case -- every prompt met
twice with two different replies, and one giant near-duplicate bucket holding every
example in every band -- at n and 4n examples, and count the SQLite virtual-machine steps
the queries take: a count of work, not a timing, so it holds on a busy machine.  Linear
work gives a ratio of about 4 (n log n a little more); the quadratic plan gave about 16.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from validators.streaming.stream_index import Index

N = 4000
STEP = 1000  # the progress handler runs every STEP virtual-machine instructions
T = TypeVar("T")


def _steps(index: Index, run: Callable[[], T]) -> tuple[T, int]:
    """What ``run`` returns, and the steps SQLite took for it (index building included)."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    index.db.set_progress_handler(tick, STEP)
    out = run()
    index.db.set_progress_handler(None, STEP)
    return out, count[0]


def _conflict_index(n: int) -> Index:
    """n examples, n/2 prompts each answered twice, differently: n/2 conflicting groups."""
    index = Index()
    rows = [(i // 2).to_bytes(8, "little") for i in range(n)]
    index.db.executemany("INSERT INTO prompts VALUES (?,?,?,?)",
                         ((rows[i], i.to_bytes(8, "little"), i, i + 1) for i in range(n)))
    index.commit()
    return index


def test_conflicts_found_in_file_order_and_near_linear() -> None:
    small, big = _conflict_index(N), _conflict_index(4 * N)
    try:
        got, s = _steps(small, lambda: small.conflicts().fetchall())
        assert got == [(i - i % 2, 2, i) for i in range(N)]
        _, b = _steps(big, lambda: big.conflicts().fetchall())
        assert b < 6 * s, f"conflicting answers: {s} → {b} steps for 4 times the examples"
    finally:
        small.close()
        big.close()


def _band_index(n: int, bands: int = 9) -> Index:
    """n examples sharing one bucket in every band (a flood of near-duplicate candidates),
    plus n examples alone in their buckets."""
    index = Index()
    ex = np.arange(2 * n, dtype=np.int64)
    keys = np.where(ex < n, 7, ex + 1000).astype(np.int64)
    index.add_bands(ex, np.tile(keys, (bands, 1)))
    index.commit()
    return index


def _pairs(index: Index, repeats: set[int]) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for x, y in index.candidate_pairs(repeats) for a, b in zip(x, y)}


def test_candidate_flood_bounded_and_near_linear() -> None:
    small, big = _band_index(N), _band_index(4 * N)
    try:
        pairs, s = _steps(small, lambda: _pairs(small, {1}))
        # each member with the bucket's first and with its predecessor: at most 2 per
        # member, never all n² / 2 pairs; the exact repeat (example 1) is left out
        expected = {(0, i) for i in range(2, N)} | {(i - 1, i) for i in range(3, N)}
        assert pairs == expected
        _, b = _steps(big, lambda: _pairs(big, {1}))
        assert b < 6 * s, f"near-duplicate candidates: {s} → {b} steps for 4 times the examples"
    finally:
        small.close()
        big.close()

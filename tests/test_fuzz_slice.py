"""A short, fixed-seed slice of ``fuzz/fuzz_readers.py`` so CI catches reader crashes.

The long runs (``python fuzz/fuzz_readers.py --minutes 30`` or ``--atheris``) happen
outside CI; this slice replays the seed corpus and some thousands of mutations in ~15 s.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import fuzz_readers


def test_fuzz_slice_only_input_errors() -> None:
    start = time.monotonic()
    stats = fuzz_readers.run(seconds=12, seed=20251125, per_input=10)
    assert stats.failures == [], "\n".join(stats.failures)
    assert stats.loaded > 50 and stats.refused > 50, "the slice must exercise both outcomes"
    assert time.monotonic() - start < 300  # the fuzzer keeps to its budget: a hang guard, not a speed claim


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from(fuzz_readers.NAMES))
def test_random_bytes_are_loaded_or_refused(data: bytes, name: str) -> None:
    fuzz_readers.exercise(data, name, deep=False)


def test_mutation_is_deterministic() -> None:
    import random

    pool = fuzz_readers.seeds()
    a = [fuzz_readers.mutate(pool[0], random.Random(7), pool) for _ in range(3)]
    b = [fuzz_readers.mutate(pool[0], random.Random(7), pool) for _ in range(3)]
    assert a == b and len(pool) >= 40

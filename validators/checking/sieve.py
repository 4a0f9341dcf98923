"""Which of many texts can hold a match: one linear-time RE2 pass (Arrow's regex kernel).

Python's ``re`` scans a pattern without a fixed literal start (a phone number's digits,
Nova's ``User:``) at a few nanoseconds per character; over 100,000 chat examples that is
seconds.  RE2 runs the same question as a DFA several times faster.  Callers use the
answer only to pick the texts worth scanning with their exact Python patterns, so the
findings stay exactly those of the full scan; when Arrow is missing or cannot take the
text or the pattern, :func:`flags` says ``None`` and the caller scans everything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

MIN_CHARS = 8_000_000  # below this, starting Arrow (0.3 CPU s: import, first call) costs more than it saves
_CHUNK = 4096  # texts per Arrow array: the UTF-8 copies stay small


class _Together:
    """Patterns sieved over the same texts in one pass (see :func:`together`)."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns
        self.texts: list[str] | None = None  # the texts of the shared pass, once made
        self.answers: dict[str, np.ndarray] = {}


_together: _Together | None = None


@contextlib.contextmanager
def together(patterns: list[str]) -> Iterator[None]:
    """Within this block, the first :func:`flags` call for one of ``patterns`` sieves the
    texts for all of them in one RE2 pass over their union; a later call for another of
    them over equal texts takes its answer from that pass.  The personal-data scan and
    the control-token scan read the same message texts: one pass over 100 MB instead of
    two.  The union says which texts can hold any match; only those few are sieved again
    for each pattern, so each answer is exactly the one its own pass gives."""
    global _together
    outer, _together = _together, _Together(list(patterns))
    try:
        yield
    finally:
        _together = outer


def flags(texts: list[str], pattern: str) -> np.ndarray | None:
    """For each text, whether RE2 finds ``pattern`` in it; ``None`` when the sieve cannot run."""
    shared = _together
    if shared is not None and pattern in shared.patterns and len(shared.patterns) > 1:
        return _shared_flags(shared, texts, pattern)
    return _flags(texts, pattern)


def _shared_flags(shared: _Together, texts: list[str], pattern: str) -> np.ndarray | None:
    if shared.texts is not None:
        answer = shared.answers.pop(pattern, None)
        # the same list, or one holding the same strings (the check is cheap: equal objects)
        if answer is not None and (texts is shared.texts or texts == shared.texts):
            return answer
        return _flags(texts, pattern)
    union = _flags(texts, "|".join(f"(?:{p})" for p in shared.patterns))
    if union is None:
        return None
    shared.texts = texts
    picked = np.flatnonzero(union)
    some = [texts[i] for i in picked.tolist()]
    for p in shared.patterns:
        own = np.zeros(len(texts), dtype=bool)
        if len(some):
            hits = _flags(some, p)
            if hits is None:
                continue  # this pattern sieves on its own when asked
            own[picked] = hits
        shared.answers[p] = own
    return shared.answers.pop(pattern) if pattern in shared.answers else _flags(texts, pattern)


def _flags(texts: list[str], pattern: str) -> np.ndarray | None:
    try:
        import pyarrow as pa
        import pyarrow._compute as pc  # the kernels' own module: pyarrow.compute adds 0.03-0.1 s of Python wrappers for all ~300 of them

        if not texts:
            return np.zeros(0, dtype=bool)
        options = pc.MatchSubstringOptions(pattern)
        return np.concatenate([_bools(pc.call_function("match_substring_regex", [arrow_strings(pa, texts[i : i + _CHUNK])], options))
                               for i in range(0, len(texts), _CHUNK)])
    except Exception:  # noqa: BLE001 - any failure of the optional sieve means: scan everything
        return None


def _bools(flags: Any) -> np.ndarray:
    """An Arrow boolean array without nulls as NumPy, read from its bit buffer:
    ``to_numpy`` would import pandas (0.15 s) to do it."""
    if flags.null_count:
        raise ValueError("the sieve answered nulls")
    bits = np.frombuffer(flags.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[flags.offset : flags.offset + len(flags)].astype(bool)


def arrow_strings(pa: Any, texts: list[str]) -> Any:
    """``texts`` as an Arrow string array, built from one joined UTF-8 buffer (several
    times cheaper than converting 100,000 Python strings one by one)."""
    data = "".join(texts).encode("utf-8")  # a lone surrogate raises: no sieve, full scan
    sizes = np.fromiter((len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(data))

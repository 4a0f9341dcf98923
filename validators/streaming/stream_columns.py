"""Per-example numbers of a streamed check, kept on disk, and what the report needs of them.

A streamed check needs four numbers for every example long after its chunk has gone: its
tokens in all, its tokens trained on, whether it was counted, its source row.  Held in
memory they grow with the file (25 bytes an example, 90 MB for 3.5M examples and twice that
while the chunks were joined: most of the ~50 MiB per GB the 5 GB run grew by, issue 13).
Here each is a raw file in the index's temporary folder, appended chunk by chunk and read
back a slice at a time with plain reads: a memory map would not do, as every page of it
touched counts in the process's resident size.  What the report needs of all of them at
once (sums, extremes, the Cookbook's quantiles) is :class:`Summary`, made in one pass over
the files; the quantiles come from a histogram of the distinct token counts, not from a
sorted copy of every count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FIELDS: dict[str, type] = {"total": np.int64, "assistant": np.int64, "counted": np.bool_, "rows": np.int64}
SLICE = 1 << 18  # examples read back at a time: 6.5 MB of the four columns


class Columns:
    """Four per-example columns as raw files (example i is at position i - 1)."""

    def __init__(self, folder: str | Path) -> None:
        self.fds: dict[str, int] = {}
        self.n = 0
        for name in FIELDS:
            self.fds[name] = os.open(Path(folder) / f"{name}.bin", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    def append(self, total: np.ndarray, assistant: np.ndarray, counted: np.ndarray, rows: np.ndarray) -> None:
        """One chunk's numbers, in file order."""
        size = len(total)
        if not len(assistant) == len(counted) == len(rows) == size:
            raise ValueError("a chunk's columns differ in length")
        for name, values in (("total", total), ("assistant", assistant), ("counted", counted), ("rows", rows)):
            dtype = np.dtype(FIELDS[name])
            _write_all(self.fds[name], np.ascontiguousarray(values, dtype=dtype).tobytes(), self.n * dtype.itemsize)
        self.n += size

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Positions [start, stop) of one column."""
        dtype = np.dtype(FIELDS[name])
        start, stop = max(0, start), min(self.n, stop)
        if stop <= start:
            return np.zeros(0, dtype=dtype)
        data = _read_all(self.fds[name], (stop - start) * dtype.itemsize, start * dtype.itemsize)
        return np.frombuffer(data, dtype=dtype)

    def slices(self, *names: str, step: int = SLICE) -> Iterator[tuple[int, list[np.ndarray]]]:
        """(start, [column slices]) over the whole file, ``step`` examples at a time."""
        for start in range(0, self.n, step):
            yield start, [self.read(name, start, start + step) for name in names]

    def row_of(self, i: int) -> int:
        """The source row of example ``i`` (1-based)."""
        if not 1 <= i <= self.n:
            raise IndexError(f"example {i} is not in the file ({self.n} examples)")
        return int(self.read("rows", i - 1, i)[0])

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def _read_all(fd: int, size: int, offset: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = os.pread(fd, size - got, offset + got)
        if not part:
            raise OSError("a per-example column file is shorter than the examples written to it")
        parts.append(part)
        got += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


@dataclass
class Summary:
    """Whole-file figures of the per-example columns, as the in-memory report computes them
    from full arrays (``live``: the counted examples' totals)."""

    n: int = 0
    counted: int = 0
    total: int = 0  # tokens of the counted examples
    assistant: int = 0  # their trained (assistant) tokens
    billing: int = 0  # sum of min(total, limit) over the counted examples
    over_limit: int = 0  # counted examples above the limit
    row_sum: int = 0  # every example's source row, summed (the export's accounting)
    low: int = 0
    high: int = 0
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # distinct live totals, sorted
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # how often each occurs

    def stats(self) -> dict[str, float]:
        """tokens.stats of the live totals: min / mean / p10 / p50 / p90 / max."""
        if self.counted == 0:
            return {k: 0 for k in ("min", "mean", "p10", "p50", "p90", "max")}
        return {"min": self.low, "mean": float(np.float64(self.total) / self.counted),
                "p10": self.quantile(0.1), "p50": self.quantile(0.5), "p90": self.quantile(0.9), "max": self.high}

    def quantile(self, q: float) -> float:
        """``np.quantile(live, q)`` (its default, linear method) from the histogram: the same
        virtual index, the same two order statistics, the same interpolation steps."""
        n = self.counted
        virtual = np.float64((n - 1) * q)  # numpy's virtual index for its linear method
        previous = np.floor(virtual)
        lo, hi = int(previous), int(previous) + 1
        if virtual >= n - 1:
            lo = hi = n - 1
        elif virtual < 0:
            lo = hi = 0
        gamma = float(virtual - previous)
        a, b = self._order(lo), self._order(hi)
        diff = b - a
        out = a + diff * gamma
        if gamma >= 0.5:
            out = b - diff * (1 - gamma)
        return float(out)

    def _order(self, k: int) -> np.int64:
        """The k-th smallest live total (0-based)."""
        at = int(np.searchsorted(np.cumsum(self.counts), k, side="right"))
        return self.values[at]

    def add_live(self, live: np.ndarray) -> None:
        """Merge one slice's live totals into the histogram and the extremes."""
        if not live.size:
            return
        low, high = int(live.min()), int(live.max())
        self.low, self.high = (low, high) if self.counted == 0 else (min(self.low, low), max(self.high, high))
        values, counts = np.unique(live, return_counts=True)
        both = np.concatenate([self.values, values])
        merged, inverse = np.unique(both, return_inverse=True)
        summed = np.zeros(merged.size, dtype=np.int64)
        np.add.at(summed, inverse, np.concatenate([self.counts, counts.astype(np.int64)]))
        self.values, self.counts = merged, summed
        self.counted += int(live.size)
        self.total += int(live.sum())


def summarise(columns: Columns, limit: int) -> Summary:
    """One pass over the columns: every figure the report and the cost estimate need."""
    out = Summary(n=columns.n)
    for _, (total, assistant, counted, rows) in columns.slices("total", "assistant", "counted", "rows"):
        live = total[counted]
        out.add_live(live)
        out.assistant += int(assistant[counted].sum())
        out.billing += int(np.minimum(live, limit).sum())
        out.over_limit += int((live > limit).sum())
        out.row_sum += int(rows.sum())
    return out


def per_example(columns: Columns) -> Iterator[int | None]:
    """Each example's token count, None where it was not counted (``tokens.per_example``)."""
    for _, (total, counted) in columns.slices("total", "counted", step=100_000):
        yield from (t if c else None for t, c in zip(total.tolist(), counted.tolist()))


def over_limit(columns: Columns, limit: int) -> Iterator[int]:
    """The counted examples above the limit (1-based), in file order."""
    for start, (total, counted) in columns.slices("total", "counted"):
        yield from (np.flatnonzero(counted & (total > limit)) + start + 1).tolist()

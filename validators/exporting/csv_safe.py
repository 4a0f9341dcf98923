"""CSV the app writes (reports) with spreadsheet formula injection neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote."""
    text = "" if value is None else str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buf = io.StringIO(newline="")
    # RFC 4180 line ends: with "\n" alone the csv module leaves a cell holding a bare "\r"
    # unquoted, and a spreadsheet then starts a new row there (a second, un-neutralised cell).
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([v if isinstance(v, int) else neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8")

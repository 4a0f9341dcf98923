"""What the reader met while decoding text, said in the grid's terms: examples and rows.

The reader knows file lines; a person looks at the grid, where a quoted cell spanning
three lines is one row and a conversation spanning ten rows is one example.  These
findings translate lines into rows and rows into example numbers.
"""

from __future__ import annotations

import bisect

from ..model import Dataset, Example, Finding
from . import readers
from .legacy_encoding import label
from .readers import Records, Table

SHOWN = 5
_UNICODE = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "xlsx")


def findings(ds: Dataset, content: Table | Records, chosen: str | None = None) -> list[Finding]:
    """A ``mixed_encoding`` warning for the examples whose lines were not UTF-8, and an
    ``encoding_detected`` warning naming the examples to look at when the whole file was
    read in a legacy code page the user did not choose."""
    name = ds.source_name
    if content.odd_lines:
        rows = _rows_of_lines(content, content.odd_lines)
        examples = _examples_of(ds, rows)
        where = _where(examples, rows, content)
        text = (f"{name}: the file is UTF-8 except {where}, read as {label(ds.encoding)}. "
                "Check the accents there, or save the whole file again as UTF-8.")
        first = examples[0] if examples else None
        return [Finding("warning", "mixed_encoding", text, example=first.index if first else None, row=first.row if first else rows[0])]
    if chosen or ds.encoding.lower() in _UNICODE:
        return []
    examples = [e for e in ds.examples if _non_ascii(e)]
    if not examples:
        return []
    text = (f"{name} is not UTF-8; it was read as {label(ds.encoding)}, detected from its bytes. "
            f"Check the accented letters and symbols in {_where(examples, [], content)}; "
            "if they look wrong, choose the file's encoding when you load it.")
    return [Finding("warning", "encoding_detected", text, example=examples[0].index, row=examples[0].row)]


def _rows_of_lines(content: Table | Records, lines: list[int]) -> list[int]:
    """File lines → spreadsheet rows (a row ends on ``row_lines[i]``); JSON Lines rows are lines."""
    if isinstance(content, Table) and content.row_lines:
        ends = content.row_lines
        out = []
        for line in lines:
            i = bisect.bisect_left(ends, line)
            out.append(1 if line <= 1 else content.rows[min(i, len(ends) - 1)][0])
        return sorted(set(out))
    return sorted(set(lines))


def _examples_of(ds: Dataset, rows: list[int]) -> list[Example]:
    wanted = set(rows)
    return [e for e in ds.examples if wanted.intersection(e.rows)]


def _where(examples: list[Example], rows: list[int], content: Table | Records) -> str:
    if not examples:
        unit = "row" if isinstance(content, Table) else "line"
        return f"{unit}(s) {', '.join(map(str, rows[:SHOWN]))}" + _more(len(rows))
    unit = examples[0].origin
    listed = ", ".join(f"{e.index} ({unit} {e.row})" for e in examples[:SHOWN])
    return f"example(s) {listed}" + _more(len(examples))


def _more(n: int) -> str:
    return f" and {n - SHOWN} more" if n > SHOWN else ""


def _non_ascii(e: Example) -> bool:
    return any(isinstance(m, dict) and isinstance(m.get("content"), str) and not m["content"].isascii() for m in e.messages)


PREVIEW_BYTES = 2 * 1024 * 1024


def affected_rows(data: bytes, name: str, fmt: str | None, encoding: str, limit: int = 8) -> list[tuple[int, str]]:
    """The first rows whose text is not plain ASCII (the ones an encoding changes), read
    with ``encoding``: (spreadsheet row or JSON line, the row's text).  Reads at most the
    first 2 MB (cut at a line end) so the preview stays instant on a large file.  Raises
    :class:`~validators.reading.readers.InputError` when the bytes are not valid in ``encoding``."""
    sample = data if len(data) <= PREVIEW_BYTES else data[: data.rfind(b"\n", 0, PREVIEW_BYTES) + 1 or PREVIEW_BYTES]
    if (fmt or "") in ("json", "jsonl"):
        lines = readers.decode_as(sample, name, encoding).split("\n")
        return [(no, line.strip()[:300]) for no, line in enumerate(lines, 1) if not line.isascii()][:limit]
    try:
        content, _ = readers.read_bytes(sample, name, fmt, encoding=encoding)
    except readers.InputError:
        if sample is data:
            raise
        content, _ = readers.read_bytes(sample[: sample.rfind(b"\n", 0, len(sample) // 2) + 1], name, fmt, encoding=encoding)
    if not isinstance(content, Table):
        return []
    out = []
    for row, cells in content.rows:
        text = " | ".join(c for c in cells if c)
        if not text.isascii():
            out.append((row, text[:300]))
            if len(out) >= limit:
                break
    return out

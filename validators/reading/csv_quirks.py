"""Real-world CSV quirks: lenient quoting, files without a header row, question/answer
on alternating lines.

Spreadsheets people really have are not always valid CSV: Excel writes what it is given,
people type ``"Title", "Other title"`` into a cell, or put a space after the comma before
an opening quote.  Python's strict reader refuses such a file (and its non-strict reader
silently drops quotes or splits a quoted answer at its commas).  Here every record is read
strictly first (fast, exact for valid CSV); only a record the strict reader refuses, or
one it splits into more cells than the header has because of a space before a quote, is
read again the way Excel and pandas would, and the row is reported, never changed
silently.  A valid CSV therefore reads exactly as Python's ``csv`` module reads it.
"""

from __future__ import annotations

import bisect
import csv
import functools
import gc
import io
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

QUOTE = '"'
_SPACES = " \t"


class UnclosedQuote(ValueError):
    """A quote opened in a record is never closed before the end of the file."""

    def __init__(self, record: int, line: int) -> None:
        super().__init__(f"a quote opened in row {record} (line {line} of the file) is never closed")
        self.record, self.line = record, line


@dataclass
class Reading:
    """The records of a delimited text, each with the file line it starts on, and the rows
    read leniently (record number, why)."""

    records: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # 1-based file line where each record starts
    lenient: list[tuple[int, str]] = field(default_factory=list)
    total_lines: int = 0

    def ends_of(self, rows: list[tuple[int, list[str]]]) -> list[int]:
        """The file line each row ends on, for rows given by their first record's number
        (1-based) in file order: a row runs up to the record before the next row's, so
        rows joined from several records (pairs, wrapped lines) end on their last line."""
        firsts = [no for no, _ in rows]
        nexts = [self.lines[no - 1] - 1 for no in firsts[1:]] + [self.total_lines]
        return nexts


class _Lines:
    """An iterator over physical lines whose position can be moved back or forward, so a
    strict ``csv.reader`` and the lenient reader share one cursor."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.pos = lines, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Building millions of small lists wakes Python's cycle collector again and again
    (it rescans every live row each time): half the reading time of a big file.  Rows
    hold no cycles, so collection waits until the reading is done."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_records(text: str, delimiter: str) -> Reading:
    """Every record of ``text``; strict where the file is valid CSV, lenient (and listed in
    ``Reading.lenient``) where it is not.  Raises :class:`UnclosedQuote` for a quote that
    runs to the end of the file (pandas refuses that too: nothing sensible can be read)."""
    lines = list(io.StringIO(text, newline=""))
    starts = list(itertools.accumulate(map(len, lines), initial=0))
    src = _Lines(lines)
    strict = csv.reader(src, delimiter=delimiter, strict=True)
    out = Reading(total_lines=len(lines))
    records, starts_of = out.records, out.lines
    width: int | None = None
    prev = 0  # the line where the next record starts
    while prev < len(lines):
        try:
            for cells in strict:  # the fast path: valid CSV, read by the C reader
                if width is None:
                    width = len(cells)
                elif len(cells) > width and _has_spaced_quote(lines[prev], cells):
                    cells = _respaced(text, starts, prev, delimiter, cells, width, src, out)
                records.append(cells)
                starts_of.append(prev + 1)
                prev = src.pos
            break
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise UnclosedQuote(len(records) + 1, prev + 1) from exc
            cells, src.pos = _lenient_at(text, starts, prev, delimiter)
            out.lenient.append((len(records) + 1, _QUOTES))
            records.append(cells)
            starts_of.append(prev + 1)
            width = len(cells) if width is None else width
            prev = src.pos
    if any(why == _SPACED for _, why in out.lenient):
        _respace_rest(text, lines, starts, delimiter, out)
    return out


_SPACED = ("a space comes before the opening quote of a cell, so the quoted text (commas included) "
           "was read as one cell, as Excel reads it; check that the row's cells are right")


_QUOTES = ("its quotes do not follow the CSV rules (a quote closes before the end of its cell, or a quote "
           "inside a quoted cell is not doubled), so it was read as Excel reads it, keeping those quotes as "
           "text; check that the row's cells are right")


def _has_spaced_quote(line: str, cells: list[str]) -> bool:
    if QUOTE not in line:
        return False
    return any(c[:1] in _SPACES and c.lstrip(_SPACES)[:1] == QUOTE for c in cells if c)


def _respaced(text: str, starts: list[int], first: int, delimiter: str, cells: list[str], width: int,
              src: _Lines, out: Reading) -> list[str]:
    """A record split by a space before a quote (``a, "b, c"``): read it as Excel does when
    that brings it back to the header's width; otherwise keep the strict reading."""
    alt, end = _lenient_at(text, starts, first, delimiter)
    if len(alt) > width:
        return cells
    src.pos = end
    out.lenient.append((len(out.records) + 1, _SPACED))
    return alt


def _respace_rest(text: str, lines: list[str], starts: list[int], delimiter: str, out: Reading) -> None:
    """The file writes a space before its quotes: read the other such rows the same way,
    where that does not change which lines the row spans."""
    done = {no for no, _ in out.lenient}
    for i, cells in enumerate(out.records):
        first = out.lines[i] - 1
        if i + 1 in done or not _has_spaced_quote(lines[first], cells):
            continue
        nxt = out.lines[i + 1] - 1 if i + 1 < len(out.lines) else len(starts) - 1
        alt, end = _lenient_at(text, starts, first, delimiter)
        if end == nxt and alt != out.records[i]:
            out.records[i] = alt
            out.lenient.append((i + 1, _SPACED))
    out.lenient.sort()


def _lenient_at(text: str, starts: list[int], line: int, delimiter: str) -> tuple[list[str], int]:
    """The record starting at physical ``line`` read leniently; returns its cells and the
    index of the line after it."""
    cells, end = lenient_record(text, starts[line], delimiter)
    return cells, bisect.bisect_left(starts, end)


def lenient_record(text: str, pos: int, delimiter: str) -> tuple[list[str], int]:
    """One record from ``text[pos]`` (a line start) read as Excel reads it.

    For each cell, after any spaces: a quoted cell that closes properly (doubled quotes
    inside, the closing quote followed by the delimiter or the line end) is read as CSV
    reads it, even over several lines; otherwise, a quoted cell that closes before a
    delimiter later on the same line, with stray quotes inside, keeps those quotes as text
    (``"He said "hi" twice",next``); otherwise the cell is the text up to the next delimiter,
    quotes and all (``"Title", "Other title".``).  Returns the cells and the
    position after the record's line end.
    """
    cells: list[str] = []
    stop = _stop(delimiter)
    n = len(text)
    while True:
        j = pos
        while j < n and text[j] in _SPACES and text[j] != delimiter:
            j += 1
        got = _quoted(text, j, delimiter) if j < n and text[j] == QUOTE else None
        if got is None:
            m = stop.search(text, pos)
            end = m.start() if m else n
            got = (text[pos:end], end)
        value, pos = got
        cells.append(value)
        if pos < n and text[pos] == delimiter:
            pos += 1
            continue
        if text.startswith("\r\n", pos):
            return cells, pos + 2
        return cells, min(pos + 1, n)


@functools.lru_cache(maxsize=16)
def _stop(delimiter: str) -> re.Pattern[str]:
    return re.compile(f"[{re.escape(delimiter)}\r\n]")


def _quoted(text: str, j: int, delimiter: str) -> tuple[str, int] | None:
    """The quoted cell opening at ``text[j]``: (value, position after it) or None."""
    k, parts = j + 1, []
    while True:  # CSV rules: "" is a quote, the first lone quote closes (may span lines)
        q = text.find(QUOTE, k)
        if q == -1:
            break
        if text.startswith(QUOTE, q + 1):
            parts.append(text[k:q + 1])
            k = q + 2
            continue
        after = _after_close(text, q, delimiter)
        if after is not None:
            return "".join(parts) + text[k:q], after
        break
    line_end = _line_end(text, j)
    q = j
    while (q := text.find(QUOTE, q + 1, line_end)) != -1:  # Excel: a later quote before a delimiter closes it
        after = _after_close(text, q, delimiter)
        if after is not None and after < line_end and text[after] == delimiter:
            return text[j + 1:q].replace(QUOTE * 2, QUOTE), after
    return None  # in the last cell, "a", "b" or "a" b is more likely quotes typed as text: kept as written


def _after_close(text: str, q: int, delimiter: str) -> int | None:
    """Where the cell ends if the quote at ``q`` closes it (spaces, then delimiter or line end)."""
    m = q + 1
    while m < len(text) and text[m] in _SPACES and text[m] != delimiter:
        m += 1
    if m == len(text) or text[m] == delimiter or text[m] in "\r\n":
        return m
    return None


_EOL = re.compile("[\r\n]")


def _line_end(text: str, pos: int) -> int:
    m = _EOL.search(text, pos)  # not str.find for each of \r and \n: a file without \r would be scanned to its end
    return m.start() if m else len(text)


# ------------------------------------------------------------------ header or data?

_SENTENCE_END = ("?", ".", "!", "？", "。", "！", "؟")
_NUMBER = re.compile(r"[-+]?\d[\d.,:/ -]*")


def _data_like(cell: str) -> bool:
    """A cell that reads like a value (a sentence, a question, a number), not a column name."""
    c = cell.strip()
    return bool(
        len(c) > 60
        or len(c.split()) >= 8
        or "\n" in c
        or (len(c) >= 12 and c.endswith(_SENTENCE_END) and " " in c)
        or _NUMBER.fullmatch(c)
    )


def first_row_is_data(records: list[list[str]]) -> bool:
    """True when the first record looks like data, not column names.

    A header names columns: short labels, none a sentence, a question or a number.  The
    first row is taken as data only when it has another row under it, at least one of its
    cells reads like a value and none reads like a label (a file whose header holds one
    sentence-like name among labels keeps its header).
    """
    if len(records) < 2:
        return False
    cells = [c for c in records[0] if c.strip()]
    if not cells:
        return False
    return all(_data_like(c) for c in cells)


# ------------------------------------------------------------------ alternating rows

_QUESTION_END = ("?", "？", "؟")


def _is_question(text: str) -> bool:
    return text.strip().rstrip("\"'”»)").endswith(_QUESTION_END)


def alternating_pairs(rows: list[tuple[int, list[str]]], forced: bool = False) -> list[tuple[int, list[str]]] | None:
    """Rows of one column holding a question on one line and its answer on the next,
    paired as (question row number, [question, answer]); None unless that is clearly the
    layout: at least two pairs, one column, no blank row, 80 % of the odd rows questions
    (ending in "?") and at most 20 % of the even rows.  A last question without an
    answer becomes a row with an empty answer (the checks flag it).  ``forced`` (the user
    said so) pairs any one-column rows."""
    if forced:
        return _pairs([(no, cells[:1] or [""]) for no, cells in rows]) if rows else None
    if len(rows) < 4 or any(len([c for c in cells if c.strip()]) != 1 or not cells[0].strip() for _, cells in rows):
        return None
    odd = [cells[0] for _, cells in rows[0::2]]
    even = [cells[0] for _, cells in rows[1::2]]
    asked = sum(map(_is_question, odd)) / len(odd)
    answered_with_question = sum(map(_is_question, even)) / len(even)
    if asked < 0.8 or answered_with_question > 0.2:
        return None
    return _pairs(rows)


def _pairs(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    out: list[tuple[int, list[str]]] = []
    for i in range(0, len(rows), 2):
        row_no, cells = rows[i]
        answer = rows[i + 1][1][0] if i + 1 < len(rows) else ""
        out.append((row_no, [cells[0], answer]))
    return out


# ------------------------------------------------------------------ lines wrapped outside quotes


def wrapped_rows(rows: list[tuple[int, list[str]]], width: int) -> dict[int, int]:
    """Rows that look like more lines of the row above's last cell: {row: the row it continues}.

    A spreadsheet program writes every delimiter of every row, so in a file of two or more
    columns a line with text and no delimiter at all (one cell) is a line break typed
    outside quotes (the real uepg file wraps its answers so).  Only a line under text that
    stops mid-sentence counts, and a one-cell row that ends in "?" is a question without
    its answer, not a continuation.  This is advice (a warning); the rows are joined only
    when the user asks.
    """
    out: dict[int, int] = {}
    if width < 2:
        return out
    head: int | None = None
    above = ""  # the text just above: the head's last cell, then each continuation
    for no, cells in rows:
        if len(cells) == 1 and cells[0].strip() and head is not None and _mid_sentence(above) and not _is_question(cells[0]):
            out[no] = head
            above = cells[0]
        elif len(cells) >= 2:
            head = no
            above = next((c for c in reversed(cells) if c.strip()), "")
        else:
            head = None
    return out


def _mid_sentence(text: str) -> bool:
    return bool(text.strip()) and not text.rstrip().endswith(_SENTENCE_END + (";", "\"", "”"))


def join_wrapped(rows: list[tuple[int, list[str]]], wrapped: dict[int, int]) -> list[tuple[int, list[str]]]:
    """Each wrapped row's text added, after a line break, to the last non-empty cell of
    the row it continues; the wrapped rows themselves removed."""
    by_no = {no: cells for no, cells in rows}
    for no, head in wrapped.items():
        cells = by_no[head]
        last = max((i for i, c in enumerate(cells) if c.strip()), default=len(cells) - 1)
        cells[last] = f"{cells[last]}\n{by_no[no][0]}"
    return [(no, cells) for no, cells in rows if no not in wrapped]

"""A large CSV or TSV file read in chunks, with the whole-file reader's answers.

``readers.read_delimited`` holds the whole text, every record and every row at once:
a CSV of a million one-word rows peaked at 2.9 GB.  Here the file is read in blocks of
lines; each block goes through the same record reader (``csv_quirks.read_records``:
strict where the CSV is valid, Excel's reading where it is not) with the file's first
record put in front of it, so the header's width decides as it does for the whole file.
The last record of a block is read again with the next block (a quoted cell may go on
there).  Rows keep their spreadsheet numbers; ragged rows, rows read leniently and lines
wrapped outside quotes are reported in the whole-file reader's words and order.

What only the whole file can decide is not streamed (:class:`NotStreamable`; the caller
reads the file whole instead): a file that is not UTF-8, a file with no header row, one
column of alternating question/answer rows, a conversation or long-format mapping, and a
file whose spaced quotes (``a, "b, c"``) start after rows that would have been re-read.
"""

from __future__ import annotations

import codecs
import io
import itertools
from collections.abc import Iterator
from typing import Any

from ..model import Example, Finding
from ..reading import csv_quirks, ingest
from ..reading.readers import _MAGIC, InputError, Table, clean_header, sniff_delimiter

BLOCK_BYTES = 4 * 2**20
MAX_RECORD_BYTES = 64 * 2**20  # a record longer than this is a quote never closed
HEAD_ROWS = 2000  # rows the column mapping is suggested from (the JSONL path's head is 1000 parsed records)


class NotStreamable(Exception):
    """The file needs the whole-file reader (see the module docstring)."""


class CsvReader:
    """Rows of a CSV/TSV file in chunks, numbered as a spreadsheet numbers them."""

    def __init__(self, path: str, fmt: str, header: bool | None = None, join_lines: bool = False) -> None:
        from .stream import name_of

        if header is False or join_lines:
            raise NotStreamable("the reading choices need the whole file")
        self.path, self.fmt, self.name = str(path), fmt, name_of(path)
        self.header = header
        self.encoding = "utf-8"
        self.ragged: list[Finding] = []
        self.quotes: list[tuple[int, str]] = []  # (row, why) read leniently
        self.wrapped: list[tuple[int, int]] = []  # (row, the row it continues)
        self.columns: list[str] = []
        self.delimiter = "\t" if fmt == "tsv" else ","
        self.guessed = False  # the first record looks like data (no header row)

    # ------------------------------------------------------------ blocks of text

    def _texts(self) -> Iterator[str]:
        """The file decoded in blocks of whole lines; NotStreamable unless it is UTF-8."""
        from .stream import open_binary

        with open_binary(self.path) as fh:
            head = fh.read(65536)
            if not head.strip() and not fh.read(1):
                raise InputError(f"{self.name} is empty. Choose a file that holds a header row and at least one example.")
            for magic, what in _MAGIC.items():
                if head.startswith(magic):
                    raise InputError(f"{self.name} is {what}, not a text file. Upload CSV, TSV, XLSX, JSON or JSONL.")
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise NotStreamable("UTF-16")
            fh.seek(0)
            first = True
            while block := b"".join(fh.readlines(BLOCK_BYTES)):
                if first and block.startswith(codecs.BOM_UTF8):
                    self.encoding, block = "utf-8-sig", block[len(codecs.BOM_UTF8):]
                first = False
                if b"\x00" in block:
                    raise NotStreamable("a NUL byte")
                try:
                    yield block.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise NotStreamable("not UTF-8") from exc

    # ------------------------------------------------------------ records

    def records(self) -> Iterator[tuple[list[list[str]], list[int], bool]]:
        """(records, their first file lines, last block?) per block; the header is the
        first record of the first block.  Lenient rows go to ``self.quotes``."""
        texts = self._texts()
        first_text = next(texts, "")
        if self.fmt != "tsv":  # the first block is the whole file or far more than the sniffer's 64K sample
            self.delimiter = sniff_delimiter(first_text)
        prefix: list[str] = []  # the first record's lines, put in front of every later block
        carry: list[str] = []  # the last record of the block before, read again
        line0 = 0  # file lines before ``carry``
        done = 0  # records emitted so far (the header included)
        spaced_seen = maybe_spaced = False
        pending = itertools.chain([first_text], texts)
        nxt = next(pending, None)
        while nxt is not None:
            after = next(pending, None)
            last = after is None
            lines = carry + io.StringIO(nxt, newline="").readlines()
            text = "".join(prefix + lines)
            try:
                with csv_quirks.no_gc_pauses():
                    out = csv_quirks.read_records(text, self.delimiter)
            except csv_quirks.UnclosedQuote as exc:
                record, line = exc.record - (1 if prefix else 0) + done, exc.line - len(prefix) + line0
                if last or sum(map(len, lines)) > MAX_RECORD_BYTES:
                    raise _unclosed(self.name, record, line) from None
                carry, nxt = lines, after  # the quote may close in the next block
                continue
            recs, starts = out.records, out.lines
            skip = 1 if prefix else 0
            if not prefix:
                self.guessed = csv_quirks.first_row_is_data(recs)
            keep = len(recs) if last else len(recs) - 1
            if keep <= skip and not last:
                if sum(map(len, lines)) > MAX_RECORD_BYTES:
                    raise _unclosed(self.name, done + 1, line0 + 1)
                carry, nxt = lines, after
                continue
            spaced = any(why.startswith("a space comes before") for _, why in out.lenient)
            if spaced and not spaced_seen:
                if maybe_spaced:
                    raise NotStreamable("spaced quotes after rows that would be re-read")
                spaced_seen = True
            for no, why in out.lenient:
                if skip < no <= keep:
                    self.quotes.append((no - skip + done, why))
            if spaced_seen and not spaced:
                self._respace(text, recs, starts, skip, keep, done, out.lenient)
            firsts = [s - len(prefix) + line0 for s in starts[skip:keep]]
            chunk = recs[skip:keep]
            if not spaced_seen:
                maybe_spaced = maybe_spaced or any(csv_quirks.QUOTE in c for r in chunk for c in r if c[:1] in csv_quirks._SPACES)
            if not prefix:
                prefix = io.StringIO(text, newline="").readlines()[: (starts[1] - 1) if len(starts) > 1 else None]
            yield chunk, firsts, last
            done += len(chunk)
            if last:
                return
            cut = starts[keep] - 1 - len(prefix if skip else [])
            line0 += cut
            carry, nxt = lines[cut:], after

    def _respace(self, text: str, recs: list[list[str]], starts: list[int], skip: int, keep: int, done: int,
                 before: list[tuple[int, str]]) -> None:
        """csv_quirks._respace_rest on a block: the file has spaced quotes, so every such
        row is read as Excel reads it (where that keeps its lines)."""
        lines = io.StringIO(text, newline="").readlines()
        reading = csv_quirks.Reading(records=recs, lines=starts, lenient=list(before), total_lines=len(lines))
        csv_quirks._respace_rest(text, lines, list(itertools.accumulate(map(len, lines), initial=0)), self.delimiter, reading)
        self.quotes += [(no - skip + done, why) for no, why in reading.lenient if skip < no <= keep and (no, why) not in before]

    # ------------------------------------------------------------ rows

    def rows(self) -> Iterator[list[tuple[int, list[str]]]]:
        """Data rows in blocks, (row number, cells); sets ``self.columns``; ragged and
        wrapped rows are noted on the way."""
        state: tuple[int | None, str] = (None, "")
        first = True
        for recs, _firsts, _last in self.records():
            if first:
                first = False
                if self.header is None and self.guessed:
                    raise NotStreamable("no header row")
                self.columns = clean_header(recs[0])
                if len(self.columns) == 1:
                    raise NotStreamable("one column (alternating rows?)")
                if sum(map(len, self.columns)) == 0:
                    raise NotStreamable("not a text table")
                base, recs = 2, recs[1:]
            rows = list(enumerate(recs, start=base))
            base += len(recs)
            ncol = len(self.columns)
            self.ragged += [Finding("warning", "ragged_row", f"Row {no}: has {len(cells)} cells but the header has {ncol}; the extra cells were not read.", row=no)
                            for no, cells in rows if len(cells) > ncol and any(c.strip() for c in cells[ncol:])]
            state = self._wrapped(rows, ncol, state)
            if rows:
                yield rows

    def _wrapped(self, rows: list[tuple[int, list[str]]], width: int, state: tuple[int | None, str]) -> tuple[int | None, str]:
        """csv_quirks.wrapped_rows over the file, a block at a time: ``state`` is the row
        a continuation would belong to and the text above it."""
        head, above = state
        lead: list[tuple[int, list[str]]] = [(head, ["", above])] if head is not None else [(0, [])]
        found = csv_quirks.wrapped_rows(lead + rows, width)
        self.wrapped += sorted(found.items())
        for no, cells in reversed(rows):
            if len(cells) >= 2:
                tail = [r for r in rows if r[0] > no]
                break
        else:
            tail, no = rows, head
        if all(r[0] in found for r in tail):
            if tail:
                return found[tail[-1][0]], tail[-1][1][0]
            cells = next(c for n, c in rows if n == no) if no is not None and rows and rows[0][0] <= no else ["", above]
            return no, next((c for c in reversed(cells) if c.strip()), "")
        return None, ""

    def read_findings(self) -> list[Finding]:
        """ingest.load_bytes' file-level warnings, in its order."""
        sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(self.delimiter, repr(self.delimiter))
        out = list(self.ragged)
        out += [Finding("warning", "csv_quotes", f"{self.name}: row {no}{' (the header)' if no == 1 else ''}: {why}", row=no) for no, why in sorted(self.quotes)]
        out += [Finding("warning", "wrapped_lines", f"{self.name}: " + (
            f"row {no} has text in the first column only and no {sep} on its line: it looks like one more line of "
            f"row {head}'s last cell, cut off by a line break outside quotes. Choose \"join wrapped lines\" to join "
            f"such rows to the row above, or put that cell in quotes in the file."), row=no) for no, head in self.wrapped]
        if self.encoding == "utf-8-sig":
            out.append(Finding("warning", "byte_order_mark", f"{self.name} starts with a UTF-8 byte-order mark. Nothing to fix: each export writes what its service asks for "
                                                                  "(Azure OpenAI with a byte-order mark, as Microsoft's docs say; the others without one, "
                                                                  "which Together's file check requires)."))
        return out


def _unclosed(name: str, record: int, line: int) -> InputError:
    where = "the header" if record == 1 else f"line {line} of the file"
    return InputError(
        f"{name}, row {record} ({where}): a quote opened in this row is never closed, so the rest of the file "
        "would become one cell. Close or delete that quote, or save the file again from your spreadsheet.")


def examples(reader: CsvReader, overrides: dict[str, Any] | None, default_system: str | None,
             size: int) -> tuple[Any, Iterator[list[Example]]]:
    """stream.examples for a CSV/TSV file: the mapping is ingest.from_table's answer on
    the head rows; every row becomes an example through ``ingest._single_row``."""
    from .stream import Source

    blocks = reader.rows()
    head: list[tuple[int, list[str]]] = []
    for block in blocks:
        head += block
        if len(head) >= HEAD_ROWS:
            break
    if not head:
        raise InputError(f"{reader.name} has a header row but no data rows. Add at least one example below the header.")
    table = Table(reader.columns, head[:HEAD_ROWS])
    table, headerless, m, detection = ingest.choose_mapping(table, overrides, default_system, reader.header)
    if (m.alternating and not (m.user or m.assistant)) or m.conversation or m.long_format:
        raise NotStreamable("rows grouped into conversations")
    columns = table.columns
    index = {c: i for i, c in enumerate(columns)}
    lead = [(1, table.rows[0][1])] if headerless else []

    def every() -> Iterator[Example]:
        for i, (row_no, cells) in enumerate(itertools.chain(lead, head, itertools.chain.from_iterable(blocks)), start=1):
            if detection["problem"]:
                yield ingest._unmapped(i, row_no, cells, columns, detection["problem"])
            else:
                yield ingest._single_row(i, row_no, cells, m, index)

    def chunks() -> Iterator[list[Example]]:
        it = every()
        while chunk := list(itertools.islice(it, size)):
            yield chunk

    source = Source(reader.name, reader.fmt, reader.encoding, "table", m.to_dict(), columns, detection, m)
    return source, chunks()

"""Turn uploaded bytes into rows (spreadsheets) or records (JSON), keeping source row numbers.

Nothing here knows about chat formats.  Every problem that stops a file from being read
raises :class:`InputError` with a sentence a person can act on; problems with single rows
are returned as data so the rest of the file still loads.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import stat
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import MAX_FILE_BYTES, InputError  # declared in errors.py; importable from here too
from . import csv_quirks, legacy_encoding

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl")
MIB = 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_XLSX_CELLS = 10_000_000  # cells kept from one sheet (a row counts as one more), padding included
MAX_XLSX_COLUMNS = 1_000  # values further right than this are noted, not read
MAX_JSON_DEPTH = 64
csv.field_size_limit(2**31 - 1)

_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx file?)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls / Office document (not a ZIP file)",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "a SQLite database",
}


@dataclass
class Table:
    """A spreadsheet: header names and data rows, each with its spreadsheet row number."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    notes: list[tuple[int | None, str]] = field(default_factory=list)  # (row, problem)
    warnings: list[tuple[str, int | None, str]] = field(default_factory=list)  # (code, row, text) met while decoding
    header_guessed: bool = False  # no header row was found: columns are "Column 1", ... and the first line is row 1
    paired_rows: bool = False  # one column of alternating question/answer rows, read as Question/Answer pairs
    row_lines: list[int] = field(default_factory=list)  # the file line each row ends on (CSV/TSV), to name rows, not lines
    odd_lines: list[int] = field(default_factory=list)  # file lines read in a fallback encoding (mostly-UTF-8 files)


@dataclass
class Record:
    """One JSON value from a JSON array element or a JSON Lines line."""

    row: int
    value: Any = None
    error: str | None = None  # why the line could not be parsed
    raw: str | None = None


@dataclass
class Records:
    records: list[Record]
    warnings: list[tuple[str, int | None, str]] = field(default_factory=list)  # (code, row, text) met while decoding
    odd_lines: list[int] = field(default_factory=list)  # file lines read in a fallback encoding (mostly-UTF-8 files)


def detect_format(name: str, data: bytes) -> str:
    """Pick the reader from the file name, falling back to a look at the content."""
    lower = name.lower()
    for ext in ("jsonl", "ndjson"):
        if lower.endswith("." + ext):
            return "jsonl"
    for ext in ("csv", "tsv", "xlsx", "json", "txt"):
        if lower.endswith("." + ext):
            return {"txt": "tsv"}.get(ext, ext)
    head = data[:64].lstrip()
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl"
    return "csv"


def read_bytes(
    data: bytes,
    name: str,
    fmt: str | None = None,
    sheet: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    encoding: str | None = None,
    header: bool | None = None,
    pair_rows: bool | None = None,
    join_lines: bool = False,
) -> tuple[Table | Records, str]:
    """Read ``data`` (the file's bytes) as ``fmt``; return the parsed content and the encoding used.

    ``encoding`` is the user's choice (None: detect it from the bytes); an Excel workbook
    has no text encoding, so it is ignored there.  ``header``, ``pair_rows`` and
    ``join_lines`` are the CSV/TSV reading choices of :func:`read_delimited` (None: guessed).
    ``max_bytes`` exists so tests (and a stricter deployment) can use a lower limit than
    the 512 MB the fine-tuning APIs allow without building a 512 MB file.
    """
    check_size(len(data), name, max_bytes)
    if not data or data.isspace():  # data.strip() would copy the whole upload (512 MB) to ask this
        raise InputError(f"{name} is empty. Choose a file that holds a header row and at least one example.")
    fmt = fmt or detect_format(name, data)
    if fmt not in FORMATS:
        raise InputError(f"Unsupported format {fmt!r}. Use one of: {', '.join(FORMATS)}.")
    if fmt == "xlsx":
        return read_xlsx(data, name, sheet), "xlsx"
    if encoding:
        text, bad_lines = decode_as(data, name, encoding), []
        encoding = codec_name(encoding)
    elif fmt == "jsonl" and data.isascii() and _utf16_without_bom(data) is None:
        _reject_binary(data, name)  # as decode_lines would, in its order (no byte-order mark can be ASCII)
        return read_jsonl_ascii(data), "utf-8"
    else:
        text, encoding, bad_lines = decode_lines(data, name)
    content: Table | Records
    if fmt == "json":
        content = read_json(text, name)
    elif fmt == "jsonl":
        content = read_jsonl(text)
    else:
        content = read_delimited(text, name, "\t" if fmt == "tsv" else None, header, pair_rows, join_lines)
    content.odd_lines = bad_lines  # reported by validators.reading.decoding, which knows the examples
    return content, encoding


def check_size(size: int, name: str, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse a file over the limit before anything tries to hold or parse it."""
    if size > max_bytes:
        shown = _size_text(size) if _size_text(size) != _size_text(max_bytes) else f"{size:,} bytes"
        raise InputError(
            f"{name} is {shown}; the limit is {_size_text(max_bytes)} "
            "(the most a fine-tuning job accepts). Split the file and load the parts one at a time."
        )


def _size_text(n: int) -> str:
    """Sizes in binary megabytes, written "MB" as Excel, browsers and the APIs' "512 MB" do."""
    return f"{n / MIB:.0f} MB" if n >= 10 * MIB else f"{n:,} bytes"


def read_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """The bytes of ``path`` (``-`` for standard input) and the name to show, never more
    than ``max_bytes`` read.

    A size from ``stat`` is not enough: a FIFO waits forever for a writer, ``/dev/zero``
    never ends, a pipe has no size.  Named pipes, devices and sockets are refused before
    they are opened; everything else is read in blocks and refused at the first byte past
    the limit, so a stream of any length costs at most ``max_bytes`` of memory.
    """
    if str(path) == "-":
        return _read_limited(sys.stdin.buffer, "standard input", max_bytes), "standard input"
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{p} does not exist.") from None
    except NotADirectoryError:
        raise InputError(f"{p} does not exist (a part of the path is a file, not a folder).") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{p} is a folder; give a file.")
    if not stat.S_ISREG(mode):
        what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise InputError(f"{p} is {what}, not a file. Save the data to a file first, or pipe it in with '-' (standard input).")
    size = p.stat().st_size
    check_size(size, p.name, max_bytes)
    with p.open("rb") as f:
        return _read_limited(f, p.name, max_bytes, size), p.name


def _read_limited(stream: BinaryIO, name: str, max_bytes: int, expected: int = 0) -> bytes:
    """Read ``stream`` to its end, stopping with a sentence at the first byte over ``max_bytes``.

    ``expected`` (a regular file's size) is read in one piece: no second copy of the file
    joined from megabyte blocks (0.1-0.4 s of a 134 MB check's start, all before any work
    can be shared between cores); a file that grew meanwhile goes on in blocks."""
    chunks: list[bytes] = []
    total = 0
    step = expected + 1 if expected else 1 << 20
    while chunk := stream.read(min(step, max_bytes + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise InputError(
                f"{name} is over the limit of {_size_text(max_bytes)} (the most a fine-tuning job accepts); "
                "reading stopped there. Split the file and load the parts one at a time."
            )
        step = 1 << 20
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_lines(data: bytes, name: str) -> tuple[str, str, list[int]]:
    """Decode spreadsheet text (BOMs first, then strict UTF-8, then charset detection) and
    list the (1-based) file lines that were not UTF-8.

    A file that is UTF-8 except for a few lines (rows pasted from a cp1252 file, one bad
    byte) is decoded line by line, so the good lines keep every character instead of the
    whole file turning into mojibake; the odd lines are reported.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc, []
            except UnicodeDecodeError as exc:
                raise InputError(f"{name} starts with a {enc} byte-order mark but is not valid {enc}: {exc.reason} at byte {exc.start}.") from exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    _reject_binary(data, name)
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    mixed = _mostly_utf8(data)
    if mixed is not None:
        return mixed
    for enc in legacy_encoding.rank(data) + ["cp1252", "latin-1"]:
        try:
            return data.decode(enc), enc, []
        except (UnicodeDecodeError, LookupError):
            continue
    raise InputError(f"Could not tell which text encoding {name} uses. Save it as UTF-8 CSV and try again.")  # pragma: no cover - latin-1 decodes anything


def codec_name(encoding: str) -> str:
    """Python's canonical name of a codec the user named (``MacRoman`` → ``mac-roman``)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputError(f"{encoding!r} is not a text encoding this app knows. Choose one from the list, e.g. utf-8, cp1252 or mac_roman.") from exc


def decode_as(data: bytes, name: str, encoding: str) -> str:
    """Decode with the encoding the user chose; say where it does not fit instead of guessing."""
    enc = codec_name(encoding)
    enc = "utf-8-sig" if enc == "utf-8" else enc  # a byte-order mark is not part of the text
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{name} is not valid {encoding} text: line {line} of the file holds bytes that {encoding} cannot read. "
            "Choose another encoding, or leave the choice to the automatic detection."
        ) from exc


def _utf16_without_bom(data: bytes) -> tuple[str, str, list[int]] | None:
    """UTF-16 text saved without a byte-order mark: ASCII-heavy text has a NUL in every
    other byte, on the odd positions for little-endian and the even ones for big-endian."""
    sample = data[:8192]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for enc, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.6 * len(zeros) and other.count(0) <= 0.02 * len(other):
            try:
                return data.decode(enc), enc, []
            except UnicodeDecodeError:
                return None
    return None


def _mostly_utf8(data: bytes) -> tuple[str, str, list[int]] | None:
    lines = data.split(b"\n")
    bad = [i for i, line in enumerate(lines) if not _is_utf8(line)]
    if len(bad) > max(1, len(lines) // 10):
        return None
    bad_set = set(bad)
    if not any(not line.isascii() for i, line in enumerate(lines) if i not in bad_set) and not any(_UTF8ISH.search(lines[i]) for i in bad):
        return None  # no line is UTF-8 beyond ASCII, nor broken UTF-8: the whole file is in a legacy code page
    odd = b"\n".join(lines[i] for i in bad)
    fallback = next((e for e in legacy_encoding.rank(odd) if _decodes(odd, e)), "latin-1")
    out = [line.decode(fallback) if i in bad_set else line.decode("utf-8") for i, line in enumerate(lines)]
    return "\n".join(out), fallback, [i + 1 for i in bad]


_UTF8ISH = re.compile(rb"[\xc0-\xf4][\x80-\xbf]")


def _is_utf8(line: bytes) -> bool:
    return _decodes(line, "utf-8")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _reject_binary(data: bytes, name: str) -> None:
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{name} is {what}, not a text file. Upload CSV, TSV, XLSX, JSON or JSONL.")
    at = data.find(b"\x00")
    if at != -1:
        line = data.count(b"\n", 0, at) + 1
        raise InputError(
            f"{name} contains a NUL byte at byte {at} (line {line}), so it is binary, not text. "
            "Save it as UTF-8 CSV (or 'Unicode text' from Excel) and try again."
        )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into several columns and the next records into
    the same number of cells.

    ``csv.Sniffer`` counts characters over the whole sample, so a comma file whose cells
    hold many tabs (pasted code, tables) was read as tab-separated and broke apart.  The
    header row rarely holds free text, so it decides; ties go to , then ; then tab then |.
    """
    sample = text[:65536]
    cut = len(text) > len(sample)
    best, best_score = ",", (False, -1.0, 0)
    for rank, delim in enumerate(",;\t|"):
        records = _first_records(sample, delim, cut)
        if not records:
            continue
        width = len(records[0])
        body = records[1:]
        same = sum(len(r) == width for r in body) / len(body) if body else 1.0
        score = (width >= 2, same, -rank)
        if score > best_score:
            best, best_score = delim, score
    return best


def _first_records(sample: str, delimiter: str, cut: bool, limit: int = 50) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                records.append(cells)
            if len(records) > limit:
                break
    except csv.Error:
        pass
    if cut and len(records) <= limit and len(records) > 1:
        records.pop()  # the sample may end inside the last record
    return records


def read_delimited(
    text: str, name: str, delimiter: str | None = None, header: bool | None = None, pair_rows: bool | None = None,
    join_lines: bool = False,
) -> Table:
    """CSV / TSV with quoted multi-line cells; row numbers as a spreadsheet shows them.

    Quoting that breaks the CSV rules is read as Excel reads it and reported per row (see
    :mod:`validators.reading.csv_quirks`).  ``header``: True/False says whether the first row holds
    column names; None guesses (a first row that reads like data becomes row 1 and the
    columns are named "Column 1", "Column 2", ...).  ``pair_rows``: read a one-column file
    with questions and answers on alternating rows as pairs; None does so only when that
    layout is clear.  ``join_lines``: join lines that a line break outside quotes cut off
    from the row above (always reported, joined only when asked).
    """
    delimiter = delimiter or sniff_delimiter(text)
    try:
        with csv_quirks.no_gc_pauses():
            reading = csv_quirks.read_records(text, delimiter)
    except csv_quirks.UnclosedQuote as exc:
        where = "the header" if exc.record == 1 else f"line {exc.line} of the file"
        raise InputError(
            f"{name}, row {exc.record} ({where}): a quote opened in this row is never closed, so the rest of the file "
            "would become one cell. Close or delete that quote, or save the file again from your spreadsheet."
        ) from None
    records = reading.records
    if not records:
        raise InputError(f"{name} is empty.")
    guessed = header is False or (header is None and csv_quirks.first_row_is_data(records))
    first_data = 0 if guessed else 1
    width = max(map(len, records)) if guessed else len(records[0])
    columns = [f"Column {i}" for i in range(1, width + 1)] if guessed else clean_header(records[0])
    with csv_quirks.no_gc_pauses():
        rows = list(enumerate(records[first_data:], start=first_data + 1))
    ncol = len(columns)
    notes = [(no, f"has {len(cells)} cells but the header has {ncol}; the extra cells were not read")
             for no, cells in rows if len(cells) > ncol and any(c.strip() for c in cells[ncol:])]
    if _CONTROL.search(text[:8192]) and sum(map(len, columns)) == 0:
        raise InputError(f"{name} does not look like a text table.")
    table = Table(columns, rows, notes, header_guessed=guessed)
    table.warnings.extend(("csv_quotes", no, f"row {no}{' (the header)' if no == 1 and not guessed else ''}: {why}")
                          for no, why in reading.lenient)
    if guessed and header is None:
        table.warnings.append(("no_header", 1, _NO_HEADER))
    _wrapped_lines(table, delimiter, join_lines)
    if pair_rows is not False and len(columns) == 1:
        _pair_alternating(table, forced=bool(pair_rows))
    table.row_lines = reading.ends_of(table.rows)
    return table


def _wrapped_lines(table: Table, delimiter: str, join: bool) -> None:
    """Report (or, when asked, join) rows that are more lines of the row above's last cell."""
    wrapped = csv_quirks.wrapped_rows(table.rows, len(table.columns))
    if not wrapped:
        return
    sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(delimiter, repr(delimiter))
    if join:
        table.rows = csv_quirks.join_wrapped(table.rows, wrapped)
        for head in sorted(set(wrapped.values())):
            joined = [no for no, h in wrapped.items() if h == head]
            table.warnings.append(("wrapped_lines", head, (
                f"row {head}: row{'s' if len(joined) > 1 else ''} {_row_list(joined)} had text in the first column only and no {sep} "
                "on the line, so they were joined to this row's last cell, each after a line break. Check the row.")))
        return
    for no, head in wrapped.items():
        table.warnings.append(("wrapped_lines", no, (
            f"row {no} has text in the first column only and no {sep} on its line: it looks like one more line of "
            f"row {head}'s last cell, cut off by a line break outside quotes. Choose \"join wrapped lines\" to join "
            f"such rows to the row above, or put that cell in quotes in the file.")))


def _row_list(nos: list[int]) -> str:
    if len(nos) > 2 and nos[-1] - nos[0] == len(nos) - 1:
        return f"{nos[0]} to {nos[-1]}"
    return ", ".join(map(str, nos[:-1])) + f" and {nos[-1]}" if len(nos) > 1 else str(nos[0])


_NO_HEADER = (
    "the first row looks like data, not column names (its cells read like sentences, questions or numbers), "
    "so it was kept as row 1 and the columns are named Column 1, Column 2, and so on. "
    "If it really is a header, say that the first row holds column names, and it will be read as the header again."
)


def _pair_alternating(table: Table, forced: bool = False) -> None:
    """One column with a question on one row and its answer on the next: pair the rows
    into Question/Answer, keeping each pair's first row number (see csv_quirks)."""
    pairs = csv_quirks.alternating_pairs(table.rows, forced)
    if pairs is None:
        return
    table.columns, table.rows, table.notes, table.paired_rows = ["Question", "Answer"], pairs, [], True
    table.warnings = [w for w in table.warnings if w[0] != "no_header"]  # the pairing says it all
    first = pairs[0][0]
    table.warnings.append((
        "alternating_rows", first,
        f"the file has one column with a question on one row and its answer on the next, so each two rows became one "
        f"example (rows {first} and {first + 1} the first, and so on; each example keeps its question's row number). "
        "If the rows are not question-and-answer pairs, choose one example per row.",
    ))


def clean_header(header: list[str]) -> list[str]:
    """Strip names, name blank columns, and make duplicates unique (``answer``, ``answer.2``)."""
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(header, start=1):
        name = (raw or "").strip() or f"column_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _check_workbook_safe(data: bytes, name: str) -> None:
    """Refuse, before openpyxl opens it, a workbook that is no ZIP, a zip bomb, or holds a
    shared-string table of millions of entries (openpyxl loads that table whole)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:  # zipfile raises all of these on odd archives
        what = next((w for magic, w in _MAGIC.items() if data.startswith(magic)), None)
        if what and not data.startswith(b"PK"):
            detail = f"it is {what}"
        elif isinstance(exc, NotImplementedError):
            detail = f"it uses a ZIP feature Excel does not write: {exc}"
        else:
            detail = "it is not a ZIP file, or it is cut short"
        raise InputError(f"{name} is not a valid .xlsx workbook ({detail}). Save it again from Excel as .xlsx.") from exc
    if total > MAX_XLSX_UNCOMPRESSED or total > MAX_XLSX_RATIO * max(len(data), 1):
        raise InputError(
            f"{name} would expand to {total / MIB:.0f} MB when opened, far more than its size suggests; "
            "it was not opened. Export the sheet as CSV instead."
        )
    _check_shared_strings(data, name)


def read_xlsx(data: bytes, name: str, sheet: str | None = None) -> Table:
    """First sheet (or ``sheet``) of an Excel workbook, refusing zip bombs before opening it."""
    import openpyxl

    _check_workbook_safe(data, name)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except KeyError as exc:  # a ZIP without the workbook parts
        raise InputError(f"{name} is a ZIP archive but not an Excel workbook (its workbook parts are missing). Save it again from Excel as .xlsx.") from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken workbooks
        raise InputError(f"{name} could not be opened as an Excel workbook ({type(exc).__name__}: {exc}).") from exc
    try:
        names = wb.sheetnames
        if sheet is not None and sheet not in names:
            raise InputError(f"{name} has no sheet named {sheet!r}. Sheets: {', '.join(names)}.")
        ws = wb[sheet or names[0]]
        if not hasattr(ws, "_get_source"):
            raise InputError(f"Sheet {ws.title!r} of {name} is a chart, not a table. Choose the sheet that holds the examples.")
        try:
            return _sheet_table(wb, ws, name)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed sheet XML raises many types
            raise InputError(f"Sheet {ws.title!r} of {name} could not be read ({type(exc).__name__}: {exc}). Save it again from Excel as .xlsx.") from exc
    finally:
        wb.close()


class _Uncalculated(str):
    """A formula cell saved without its value (written by a program, never opened in Excel)."""


def _sheet_parser(wb: Any, ws: Any, src: Any) -> Any:
    """openpyxl's own streaming sheet parser (cells as they are in the XML, nothing padded),
    told to mark formula cells that carry no calculated value instead of reading them as empty."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell = super().parse_cell(element)
            cached = element.find(VALUE_TAG)
            empty_text = cached is not None and element.get("t") in ("str", "s")  # a formula whose result is ""
            if cell["value"] is None and element.find(FORMULA_TAG) is not None and not (cached is not None and cached.text) and not empty_text:
                cell["value"] = _Uncalculated("=" + (element.findtext(FORMULA_TAG) or ""))
            return cell

    return Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                  date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)


def _sheet_table(wb: Any, ws: Any, name: str) -> Table:
    """Rows as the sheet XML holds them, bounded by the cells really present.

    openpyxl's ``iter_rows`` pads every row to the width the sheet *declares* (a 1.8 KB
    file declaring ``A1:XFD1048576`` asked for 17 billion cells), and fills rows missing
    from the XML.  Here a row is only as long as its last value, rows absent from the XML
    are not rows, blank rows after the last value are not examples, and the cells kept
    (padding included) are counted against :data:`MAX_XLSX_CELLS`.
    """
    rows: list[tuple[int, list[str]]] = []
    notes: list[tuple[int | None, str]] = []
    formulas: list[tuple[int, str]] = []
    budget = MAX_XLSX_CELLS
    with ws._get_source() as src:
        for row_no, cells in _sheet_parser(wb, ws, src).parse():
            values: list[str] = []
            far: list[int] = []
            for cell in cells:
                value, col = cell["value"], cell["column"]
                if value is None or value == "":
                    continue
                if col > MAX_XLSX_COLUMNS:
                    far.append(col)
                    continue
                if isinstance(value, _Uncalculated):
                    formulas.append((row_no, f"{_column_letter(col)}{row_no} ({value[:60]})"))
                    value = ""
                values.extend([""] * (col - 1 - len(values)))
                values.append(cell_text(value))
            if far:
                more = f" and {len(far) - 1:,} more" if len(far) > 1 else ""
                notes.append((row_no, f"has a value in column {_column_letter(far[0])}{more}, past the {MAX_XLSX_COLUMNS:,} columns read; not read"))
            budget -= len(values) + len(far) + 1
            if budget < 0:
                raise InputError(
                    f"Sheet {ws.title!r} of {name} holds more than {MAX_XLSX_CELLS:,} cells; it was not read whole. "
                    "Split it into smaller workbooks, or export the sheet as CSV."
                )
            if rows or any(values):
                rows.append((row_no, values))
    while rows and not any(v.strip() for v in rows[-1][1]):
        rows.pop()  # blank rows after the last value (formatting, a stray cleared cell) are not examples
    if not rows:
        raise InputError(f"Sheet {ws.title!r} of {name} is empty.")
    _, header = rows.pop(0)
    width = max([len(header)] + [len(v) for _, v in rows])
    columns = clean_header(header + [""] * (width - len(header)))
    table = Table(columns, rows, notes)
    table.warnings.extend(_formula_warnings(formulas))
    return table


def _formula_warnings(formulas: list[tuple[int, str]]) -> list[tuple[str, int | None, str]]:
    by_row: dict[int, list[str]] = {}
    for row, where in formulas:
        by_row.setdefault(row, []).append(where)
    return [
        ("formula_not_calculated", row,
         f"row {row}: cell {', '.join(cells[:5])} holds a formula that Excel has not calculated, so it reads as empty. "
         "Open the workbook in Excel (or LibreOffice), let it calculate, save it, and upload it again.")
        for row, cells in by_row.items()
    ]


def _column_letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col) if col <= 18278 else f"#{col}"


_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[ >/]")


def _check_shared_strings(data: bytes, name: str) -> None:
    """openpyxl loads the whole shared-string table before the first cell: count its
    entries first (streaming), so a table of millions of tiny strings is refused."""
    try:
        count = _count_shared_strings(data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
        return  # a damaged part: openpyxl's own error names it
    if count > MAX_XLSX_CELLS:
        raise InputError(
            f"{name} holds more than {MAX_XLSX_CELLS:,} distinct texts; it was not opened. "
            "Split it into smaller workbooks, or export the sheet as CSV."
        )


def _count_shared_strings(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        part = next((n for n in zf.namelist() if n.lower().endswith("sharedstrings.xml")), None)
        if part is None:
            return 0
        count, tail = 0, b""
        with zf.open(part) as f:
            while chunk := f.read(1 << 22):
                block = tail + chunk
                tail = block[-16:]
                count += _entries(block) - _entries(tail)
                if count > MAX_XLSX_CELLS:
                    break
        return count + _entries(tail)


def _entries(xml: bytes) -> int:
    """``<si>`` elements in a piece of the shared-string XML (bytes.count is fast; a
    namespace prefix such as ``<x:si>``, rare, takes the regular expression)."""
    if b":si" in xml:
        return len(_SHARED_STRING.findall(xml))
    return xml.count(b"<si>") + xml.count(b"<si ") + xml.count(b"<si/")


def sheet_names(data: bytes) -> list[str]:
    """Sheet names of a workbook (for the sheet picker); empty when it cannot be opened."""
    import openpyxl

    try:
        _check_workbook_safe(data, "the workbook")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # noqa: BLE001 - the picker just stays empty; read_xlsx reports the error
        return []
    names = list(wb.sheetnames)
    wb.close()
    return names


def cell_text(value: Any) -> str:
    """Excel cell → text, without turning ``3`` into ``3.0`` or dates into numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return unescape_excel(text) if "_x" in text else text


_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape_excel(text: str) -> str:
    """Decode Excel's ``_xHHHH_`` escapes (OOXML ST_Xstring): ``_x000D_`` is a carriage
    return, ``_x0002_`` a control character, ``_x005F_`` the escaped underscore, so
    ``_x005F_x000D_`` is the literal text ``_x000D_``.  openpyxl leaves them as written.
    Escaped UTF-16 surrogate pairs are joined back into one character."""
    out = _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= ch <= "\udfff" for ch in out):
        out = out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return out


class _StrictJSONError(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        keys = [k for k, _ in pairs]
        dup = next(k for k in keys if keys.count(k) > 1)
        raise _StrictJSONError(f'the key "{dup}" appears twice in one object; keep one of them')
    return out


def _constant(name: str) -> Any:
    raise _StrictJSONError(f"{name} is not valid JSON (the fine-tuning API rejects it); write a number or a string")


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def parse_json(text: str) -> Any:
    """json.loads that refuses what Python accepts but the fine-tuning API does not."""
    try:
        value = _DECODER.decode(text)
    except _StrictJSONError as exc:
        raise ValueError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg}, {_at(exc)})") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read") from None
    if "\\u" in text and _LONE_SURROGATE.search(text):
        raise ValueError("a string holds a lone UTF-16 surrogate escape (\\uD800–\\uDFFF), which is not valid text")
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _depth(value: Any, limit: int = MAX_JSON_DEPTH + 1) -> int:
    depth, level = 0, [value]
    while level and depth < limit:
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        if not nxt:
            return depth
        depth += 1
        level = nxt
    return depth


try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - pinned in requirements.txt; the strict path alone gives the same records
    _orjson = None  # type: ignore[assignment]
_ESCAPE = re.compile(r"\\.")


def parse_json_line(text: str) -> Any:
    """:func:`parse_json`'s answer, three times faster for the common line: ``orjson``
    parses it, and the answer is taken only where it must be the strict parser's.

    orjson refuses what the strict parser refuses (NaN, lone surrogates, syntax errors;
    those lines go to :func:`parse_json` for its message) but differs in two places: a
    repeated key keeps its last value silently, and an integer past 64 bits becomes a
    float.  So a value holding a float goes to the strict parser, and so does one with
    fewer strings than the line holds (every key and string value is one quoted string
    in the line; a repeated key loses at least one).  Very deep lines go there too."""
    if _orjson is None:
        return parse_json(text)
    try:
        value = _orjson.loads(text)  # refuses nesting past 1024 levels
    except _orjson.JSONDecodeError:
        return parse_json(text)
    held = _chat_strings(value)
    if held < 0:
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
            return parse_json(text)
        held = _strings_held(value)
    quotes = text.count('"')
    if "\\" in text:
        quotes -= _ESCAPE.findall(text).count('\\"')
    return value if held * 2 == quotes else parse_json(text)


def _chat_strings(value: Any) -> int:
    """Keys plus string values of the common ``{"messages": [{"role", "content"}, ...]}``
    (three levels deep); -1 for any other shape."""
    msgs = value.get("messages") if type(value) is dict and len(value) == 1 else None
    if type(msgs) is not list:
        return -1
    for m in msgs:  # a plain loop: a generator inside all() costs a third of this on 100,000 lines
        if type(m) is not dict or len(m) != 2 or type(m.get("role")) is not str or type(m.get("content")) is not str:
            return -1
    return 1 + 4 * len(msgs)


def _strings_held(value: Any) -> int:
    """Keys plus string values in ``value``; -1 when it holds a float."""
    n, stack = 0, [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str:
            n += 1
        elif t is dict:
            n += len(v)
            stack.extend(v.values())
        elif t is list:
            stack.extend(v)
        elif t is float:
            return -1
    return n


def read_jsonl(text: str) -> Records:
    """One record per line; a bad line is kept as a record with an error, not dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[Record] = []
    for no, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            out.append(Record(no, error="blank line", raw=""))
            continue
        try:
            out.append(Record(no, parse_json_line(line)))
        except ValueError as exc:
            out.append(Record(no, error=str(exc), raw=line[:2000]))
    return Records(out)


_STR_WHITESPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "  # the ASCII characters str.strip() strips


def read_jsonl_ascii(data: bytes) -> Records:
    """:func:`read_jsonl` of ``data.decode()`` for ASCII ``data``, without decoding the
    whole file first (0.1 s and a second copy of it at 134 MB): each line is parsed from
    its bytes (:func:`parse_json_line_ascii`) and decoded only where its text is needed."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out: list[Record] = []
    for no, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r")
        if not line.strip(_STR_WHITESPACE):
            out.append(Record(no, error="blank line", raw=""))
            continue
        try:
            out.append(Record(no, parse_json_line_ascii(line)))
        except ValueError as exc:
            out.append(Record(no, error=str(exc), raw=line[:2000].decode("ascii")))
    return Records(out)


_ESCAPE_ASCII = re.compile(rb"\\.")


def parse_json_line_ascii(line: bytes) -> Any:
    """:func:`parse_json_line` of ``line.decode()`` for an ASCII line, read from its bytes
    (orjson reads bytes as they are; the same counts are made on the bytes)."""
    if _orjson is None:
        return parse_json(line.decode("ascii"))
    try:
        value = _orjson.loads(line)
    except _orjson.JSONDecodeError:
        return parse_json(line.decode("ascii"))
    held = _chat_strings(value)
    if held < 0:
        if line.count(b"[") + line.count(b"{") > MAX_JSON_DEPTH:
            return parse_json(line.decode("ascii"))
        held = _strings_held(value)
    quotes = line.count(b'"')
    if b"\\" in line:
        quotes -= _ESCAPE_ASCII.findall(line).count(b'\\"')
    return value if held * 2 == quotes else parse_json(line.decode("ascii"))


def read_json(text: str, name: str) -> Records:
    """A JSON array of objects (or one object holding such an array); element n is row n.

    An array is read element by element, so one element the API would reject (NaN, a
    duplicate key, a lone surrogate) is reported at its own item instead of making the
    whole file unreadable.
    """
    if text.lstrip().startswith("["):
        return _read_array(text, name)
    try:
        value = parse_json(text)
    except ValueError as exc:
        if "\n{" in text or text.lstrip().startswith("{"):
            lines = read_jsonl(text)
            if any(r.error is None for r in lines.records):
                return lines
        raise InputError(f"{name} cannot be parsed: {exc}.") from None
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        value = lists[0] if len(lists) == 1 and "messages" not in value else [value]
    if not isinstance(value, list):
        raise InputError(f"{name} holds a single {type(value).__name__}; expected a list of examples (objects).")
    return Records([Record(i, v) for i, v in enumerate(value, start=1)])


_LENIENT = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")


def _read_array(text: str, name: str) -> Records:
    """Walk a top-level JSON array one element at a time (syntax errors still stop the file)."""
    pos = text.index("[") + 1
    out: list[Record] = []
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos) and not out:
            pos += 1
            break
        item = len(out) + 1
        try:
            value, end = _LENIENT.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name} cannot be parsed: invalid JSON in item {item} ({exc.msg}, {_at(exc)}).") from None
        except RecursionError:
            raise InputError(f"{name} cannot be parsed: item {item} ({_line_col(text, pos)}) is nested too deeply to read.") from None
        try:
            out.append(Record(item, parse_json(text[pos:end])))
        except ValueError as exc:
            out.append(Record(item, error=f"{exc} (item {item}, {_line_col(text, pos)})", raw=text[pos:end][:2000]))
        pos = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos += 1
            continue
        if text.startswith("]", pos):
            pos += 1
            break
        raise InputError(f"{name} cannot be parsed: expected ',' or ']' after item {item}, at {_line_col(text, pos)}.")
    if text[pos:].strip():
        raise InputError(f"{name} cannot be parsed: extra text after the closing ']' at {_line_col(text, pos)}.")
    return Records(out)


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _at(exc: json.JSONDecodeError) -> str:
    return f"line {exc.lineno}, column {exc.colno}" if exc.lineno > 1 or "\n" in exc.doc else f"column {exc.colno}"

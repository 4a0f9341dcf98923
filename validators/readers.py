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
import zipfile
from dataclasses import dataclass, field
from typing import Any

import charset_normalizer

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl")
MAX_FILE_BYTES = 512 * 1024 * 1024  # OpenAI's training-file limit; the upload limit matches it
MAX_XLSX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_XLSX_RATIO = 200
MAX_JSON_DEPTH = 64
csv.field_size_limit(2**31 - 1)

_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx file?)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls / Office document",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "a SQLite database",
}


class InputError(ValueError):
    """The file cannot be read at all; the message says why and what to do."""


@dataclass
class Table:
    """A spreadsheet: header names and data rows, each with its spreadsheet row number."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    notes: list[tuple[int | None, str]] = field(default_factory=list)  # (row, problem)


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


def read_bytes(data: bytes, name: str, fmt: str | None = None, sheet: str | None = None) -> tuple[Table | Records, str]:
    """Read ``data`` (the file's bytes) as ``fmt``; return the parsed content and the encoding used."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"{name} is {len(data) / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB "
            "(the most a fine-tuning job accepts). Split the file and load the parts one at a time."
        )
    if not data.strip():
        raise InputError(f"{name} is empty. Choose a file that holds a header row and at least one example.")
    fmt = fmt or detect_format(name, data)
    if fmt not in FORMATS:
        raise InputError(f"Unsupported format {fmt!r}. Use one of: {', '.join(FORMATS)}.")
    if fmt == "xlsx":
        return read_xlsx(data, name, sheet), "xlsx"
    text, encoding = decode_text(data, name)
    if fmt == "json":
        return read_json(text, name), encoding
    if fmt == "jsonl":
        return read_jsonl(text), encoding
    return read_delimited(text, name, "\t" if fmt == "tsv" else None), encoding


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode spreadsheet text: BOMs first, then strict UTF-8, then charset detection."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise InputError(f"{name} starts with a {enc} byte-order mark but is not valid {enc}: {exc.reason} at byte {exc.start}.") from exc
    _reject_binary(data, name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for enc in _guess_encodings(data) + ["cp1252", "latin-1"]:
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise InputError(f"Could not tell which text encoding {name} uses. Save it as UTF-8 CSV and try again.")


def _guess_encodings(data: bytes) -> list[str]:
    """charset-normalizer's candidates, best first; among equally plausible single-byte
    code pages prefer cp1252, the one Excel on Windows writes for Western text."""
    matches = list(charset_normalizer.from_bytes(data[: 4 * 1024 * 1024]))
    if not matches:
        return []
    best = min(m.percent_chaos for m in matches)
    tied = [m.encoding for m in matches if m.percent_chaos <= best + 0.5]
    ordered = (["cp1252"] if "cp1252" in tied else []) + [e for e in tied if e != "cp1252"]
    return ordered + [m.encoding for m in matches if m.encoding not in ordered]


def _reject_binary(data: bytes, name: str) -> None:
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"{name} is {what}, not a text file. Upload CSV, TSV, XLSX, JSON or JSONL.")
    sample = data[:8192]
    if b"\x00" in sample:
        raise InputError(
            f"{name} contains NUL bytes, so it is binary or UTF-16 without a byte-order mark. "
            "Save it as UTF-8 (or 'Unicode text' from Excel) and try again."
        )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_delimited(text: str, name: str, delimiter: str | None = None) -> Table:
    """CSV / TSV with quoted multi-line cells; row numbers as a spreadsheet shows them."""
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise InputError(f"{name} is empty.") from exc
    except csv.Error as exc:
        raise InputError(f"{name}, row 1 (the header): {exc}. Check the quoting of the header row.") from exc
    columns = clean_header(header)
    rows: list[tuple[int, list[str]]] = []
    notes: list[tuple[int | None, str]] = []
    row_no = 1
    try:
        for cells in reader:
            row_no += 1
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
                notes.append((row_no, f"has {len(cells)} cells but the header has {len(columns)}; the extra cells were not read"))
            rows.append((row_no, cells))
    except csv.Error as exc:
        raise InputError(
            f"{name}, row {row_no + 1} (near line {reader.line_num}): {exc}. "
            "A quote is probably not closed: check that cell, or save the file again from your spreadsheet."
        ) from exc
    if _CONTROL.search(text[:8192]) and sum(map(len, columns)) == 0:
        raise InputError(f"{name} does not look like a text table.")
    return Table(columns, rows, notes)


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


def read_xlsx(data: bytes, name: str, sheet: str | None = None) -> Table:
    """First sheet (or ``sheet``) of an Excel workbook, refusing zip bombs before opening it."""
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise InputError(f"{name} is not a valid .xlsx workbook (it is not a ZIP file). Save it again from Excel as .xlsx.") from exc
    if total > MAX_XLSX_UNCOMPRESSED or total > MAX_XLSX_RATIO * max(len(data), 1):
        raise InputError(
            f"{name} would expand to {total / 1e6:.0f} MB when opened, far more than its size suggests; "
            "it was not opened. Export the sheet as CSV instead."
        )
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise InputError(f"{name} could not be opened as an Excel workbook ({type(exc).__name__}: {exc}).") from exc
    try:
        names = wb.sheetnames
        if sheet is not None and sheet not in names:
            raise InputError(f"{name} has no sheet named {sheet!r}. Sheets: {', '.join(names)}.")
        ws = wb[sheet or names[0]]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise InputError(f"Sheet {ws.title!r} of {name} is empty.")
        columns = clean_header([cell_text(v) for v in header])
        rows = [(i, [cell_text(v) for v in values]) for i, values in enumerate(it, start=2)]
    finally:
        wb.close()
    return Table(columns, rows)


def sheet_names(data: bytes) -> list[str]:
    """Sheet names of a workbook (for the sheet picker); empty when it cannot be opened."""
    import openpyxl

    try:
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
    return str(value)


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
        raise ValueError(f"invalid JSON ({exc.msg}, column {exc.colno})") from None
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
            out.append(Record(no, parse_json(line)))
        except ValueError as exc:
            out.append(Record(no, error=str(exc), raw=line[:2000]))
    return Records(out)


def read_json(text: str, name: str) -> Records:
    """A JSON array of objects (or one object holding such an array); element n is row n."""
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

"""Bytes in, :class:`~validators.model.Dataset` out: read, map columns, build chat records.

This is the single entry point the CLI and the browser share, so both see the same
examples with the same numbers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

from ..checking import gc_pause
from ..model import Dataset, Example, Finding, compact, finding
from . import decoding, parquet_io
from . import headers as h
from . import mapping as mapping_mod
from .layouts import detect_layout, to_record
from .readers import MAX_FILE_BYTES, InputError, Record, Records, Table, detect_format, read_bytes, read_file

Progress = Callable[[float, str], None]
ORIGIN = {"jsonl": "line", "parquet": "row"}  # what a record's number means, by format


def load_file(path: str | Path, **options: Any) -> Dataset:
    """Read a file from disk; see :func:`load_bytes` for the options."""
    data, name = read_file(path)  # size-limited; refuses FIFOs and devices; '-' is standard input
    return load_bytes(data, name, **options)


def load_bytes(
    data: bytes,
    name: str,
    fmt: str | None = None,
    sheet: str | None = None,
    mapping: dict[str, Any] | None = None,
    default_system: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    encoding: str | None = None,
    header: bool | None = None,
    pair_rows: bool | None = None,
    join_lines: bool = False,
) -> Dataset:
    """Parse ``data`` and turn it into examples, keeping each example's source rows.

    Never refuses a file that parses: when no column can be mapped, every row becomes an
    example that says so (``ds.detection["problem"]``), and the user maps the columns.
    ``mapping`` holds the user's choices; those are checked and a wrong one raises.
    ``encoding`` is the text encoding the user chose; None detects it from the bytes.
    ``header`` / ``pair_rows`` / ``join_lines``: the CSV reading choices (first row holds
    column names; one-column question/answer rows paired; lines cut off by a line break
    outside quotes joined to the row above), None to guess; see ``readers.read_delimited``."""
    with gc_pause.paused():  # millions of long-lived objects: see validators/checking/gc_pause.py
        return _load_bytes(data, name, fmt, sheet, mapping, default_system, max_bytes, encoding, header, pair_rows, join_lines)


def _load_bytes(
    data: bytes, name: str, fmt: str | None, sheet: str | None, mapping: dict[str, Any] | None, default_system: str | None,
    max_bytes: int, encoding: str | None, header: bool | None, pair_rows: bool | None, join_lines: bool,
) -> Dataset:
    if fmt == "parquet" or (fmt is None and parquet_io.is_parquet(name, data[:4])):
        return from_records(parquet_io.read_records(data), name, "parquet", mapping, default_system)
    encoding_choice = encoding
    content, encoding = read(data, name, fmt, sheet, max_bytes, encoding,
                             header=header, pair_rows=pair_rows, join_lines=join_lines)
    fmt_used = fmt or _fmt_of(name, content)
    if isinstance(content, Table):
        ds = from_table(content, name, fmt_used, mapping, default_system, header)
    else:
        ds = from_records(content, name, fmt_used, mapping, default_system)
    ds.encoding = encoding
    ds.read_findings += [Finding("warning", code, f"{name}: {text}", row=row) for code, row, text in content.warnings]
    ds.read_findings += decoding.findings(ds, content, chosen=encoding_choice)
    if encoding == "utf-8-sig":
        ds.read_findings.append(Finding("warning", "byte_order_mark", f"{name} starts with a UTF-8 byte-order mark. Nothing to fix: each export writes what its service asks for "
                                                  "(Azure OpenAI with a byte-order mark, as Microsoft's docs say; the others without one, "
                                                  "which Together's file check requires)."))
    return ds


def read(
    data: bytes, name: str, fmt: str | None = None, sheet: str | None = None,
    max_bytes: int = MAX_FILE_BYTES, encoding: str | None = None, **csv_choices: Any,
) -> tuple[Table | Records, str]:
    """:func:`readers.read_bytes` with the user's reading choices (encoding, CSV quirks)."""
    return read_bytes(data, name, fmt, sheet, max_bytes, encoding=encoding, **csv_choices)


def as_table(content: Table | Records) -> Table | None:
    """The file as columns and rows (JSON objects with no chat layout count as rows); None
    for a chat-layout JSON file, which has no columns to map."""
    if isinstance(content, Table):
        return header_as_row(content)[0]
    parsed = [r for r in content.records if r.error is None]
    layouts = [detect_layout(r.value) for r in parsed[:200]]
    if not layouts or max(set(layouts), key=layouts.count) != "table":
        return None
    columns = _columns_of(parsed)
    rows = [(r.row, [_scalar_text(r.value.get(c)) for c in columns]) for r in parsed if isinstance(r.value, dict)]
    return Table(columns=columns, rows=rows)


def first_example(table: Table, overrides: dict[str, Any] | None, default_system: str | None = None) -> Example:
    """What the first example becomes with these choices (read from the first rows only),
    for the page to show before the user applies them.  Raises InputError like a re-read."""
    small = Table(columns=table.columns, rows=table.rows[:PREVIEW_ROWS])
    ds = from_table(small, "preview", "csv", overrides, default_system)
    good = [e for e in ds.examples if e.record is not None]
    return good[0] if good else ds.examples[0]


PREVIEW_ROWS = 400


def _fmt_of(name: str, content: Table | Records) -> str:
    return detect_format(name, b"[" if isinstance(content, Records) else b"")


# ---------------------------------------------------------------- tables


def from_table(
    table: Table, name: str, fmt: str, overrides: dict[str, Any] | None, default_system: str | None,
    header: bool | None = None,
) -> Dataset:
    """``header``: the user's word on the first row (True: it holds column names, so it is
    never taken back as an example); None lets a first row that reads like data be row 1."""
    if not table.rows:
        raise InputError(f"{name} has a header row but no data rows. Add at least one example below the header.")
    table, headerless, m, detection = choose_mapping(table, overrides, default_system, header)
    index = {c: i for i, c in enumerate(table.columns)}
    read_findings = [Finding("warning", "ragged_row", f"Row {r}: {text}.", row=r) for r, text in table.notes]
    if detection["problem"]:
        examples = [_unmapped(i, row_no, cells, table.columns, detection["problem"]) for i, (row_no, cells) in enumerate(table.rows, start=1)]
    elif m.alternating and not (m.user or m.assistant):
        examples = _alternating(table, index[m.alternating])
    elif m.conversation or m.long_format:
        examples = _multi_turn(table, m, index, read_findings)
    else:
        examples = [_single_row(i, row_no, cells, m, index) for i, (row_no, cells) in enumerate(table.rows, start=1)]
    return Dataset(
        examples=examples,
        source_name=name,
        source_format=fmt,
        layout="table",
        columns=table.columns,
        mapping=m.to_dict(),
        read_findings=read_findings,
        source_rows=tuple(r for r, _ in table.rows),
        detection=detection,
    )


def choose_mapping(
    table: Table, overrides: dict[str, Any] | None, default_system: str | None, header: bool | None,
) -> tuple[Table, bool, Any, dict[str, Any]]:
    """(table, headerless, mapping, detection) for ``table``'s rows: the user's choices
    (``overrides``) or the suggestion, with a headerless first row taken back as row 1 when
    ``header`` leaves it open.  One place for the whole reader and the streamed CSV's head."""
    guess = header is None and (not overrides or any(c not in table.columns for c in _named(overrides)))
    table, headerless = header_as_row(table) if guess else (table, False)
    rows = [cells for _, cells in table.rows]
    sug = mapping_mod.suggest(table.columns, rows)
    if overrides:
        m = mapping_mod.resolve(table.columns, overrides, default_system, rows, sug)
        detection = {"confidence": "chosen", "reasons": ["chosen by you"], "problem": None,
                     "speaker_counts": mapping_mod.speaker_plan(m, table.columns, rows)[1]}
    else:
        m = sug.mapping
        if default_system is not None:
            m.default_system = default_system or None
        detection = sug.to_dict()
    if headerless:
        detection["reasons"] = ["the first row looks like an example, not column names: it is read as row 1 of the data", *detection["reasons"]]
    return table, headerless, m, detection


def header_as_row(table: Table) -> tuple[Table, bool]:
    """A file with no header row: its first line is an example.  When no header cell names
    a role and one reads like a sentence (ends with "?", or is long), the first line becomes
    row 1 and the columns are called "column 1", "column 2"… (True when so)."""
    cols = table.columns
    if any(h.id_like(c) or any(h.match(c, r) for r in mapping_mod.ROLES if r != "alternating") for c in cols):
        return table, False
    sentence = any(c.endswith(("?", "？", "؟")) or len(c) > 50 or len(c.split()) >= 6 for c in cols)
    if not sentence:
        return table, False
    names = [f"column {i}" for i in range(1, len(cols) + 1)]
    return Table(columns=names, rows=[(1, list(cols)), *table.rows], notes=table.notes, warnings=table.warnings), True


def _named(overrides: dict[str, Any]) -> list[str]:
    return [v for k, v in overrides.items() if isinstance(v, str) and k in mapping_mod.ROLES]


def _alternating(table: Table, col: int) -> list[Example]:
    """Question on one row, its answer on the next: each pair of filled rows is an example."""
    filled = [(r, cells[col].strip() if col < len(cells) else "") for r, cells in table.rows]
    examples: list[Example] = []
    pending: tuple[int, str] | None = None
    for row_no, text in filled:
        if not text:
            examples.append(Example(len(examples) + 1, (row_no,), None, raw="", problem="the row is empty"))
        elif pending is None:
            pending = (row_no, text)
        else:
            msgs = [{"role": "user", "content": pending[1]}, {"role": "assistant", "content": text}]
            examples.append(Example(len(examples) + 1, (pending[0], row_no), {"messages": msgs}, kind="sft"))
            pending = None
    if pending is not None:
        examples.append(Example(len(examples) + 1, (pending[0],), None, raw=pending[1], problem="a question with no answer row below it"))
    return examples


def _unmapped(i: int, row_no: int, cells: list[str], columns: list[str], why: str) -> Example:
    """A row kept whole while no column is mapped: it says why and waits for the mapping."""
    if not any(c.strip() for c in cells):
        return Example(i, (row_no,), None, raw="", problem="the row is empty")
    raw = " | ".join(f"{c}: {v}" for c, v in zip(columns, cells) if v.strip())
    return Example(i, (row_no,), None, raw=raw, problem=f"not turned into an example yet. {why}")


def _cell(cells: list[str], index: dict[str, int], col: str | None) -> str | None:
    if col is None:
        return None
    i = index[col]
    return cells[i] if i < len(cells) else ""


def _weight(raw: str | None) -> Any:
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip().lower()
    if text in ("0", "0.0", "false", "no"):
        return 0
    if text in ("1", "1.0", "true", "yes"):
        return 1
    return raw  # kept as text so the schema check names it


def _single_row(i: int, row_no: int, cells: list[str], m: mapping_mod.Mapping, index: dict[str, int]) -> Example:
    if not any(c.strip() for c in cells):
        return Example(i, (row_no,), None, raw="", problem="the row is empty")
    system = _cell(cells, index, m.system)
    if not (system or "").strip() and m.default_system:
        system = m.default_system
    user = _cell(cells, index, m.user)
    context = _cell(cells, index, m.context)
    if context and context.strip():
        user = f"{user}\n\n{context}" if user else context
    msgs: list[dict[str, Any]] = []
    if system is not None and (system.strip() or m.system):
        msgs.append({"role": "system", "content": system})
    if user is not None:
        msgs.append({"role": "user", "content": user})
    if m.preference:
        rec: dict[str, Any] = {
            "input": {"messages": msgs},
            "preferred_output": [{"role": "assistant", "content": _cell(cells, index, m.chosen)}],
            "non_preferred_output": [{"role": "assistant", "content": _cell(cells, index, m.rejected)}],
        }
        return Example(i, (row_no,), rec, kind="dpo")
    reply: dict[str, Any] = {"role": "assistant", "content": _cell(cells, index, m.assistant)}
    weight = _weight(_cell(cells, index, m.weight))
    if weight is not None:
        reply["weight"] = weight
    msgs.append(reply)
    return Example(i, (row_no,), {"messages": msgs}, kind="sft")


def _multi_turn(table: Table, m: mapping_mod.Mapping, index: dict[str, int], notes: list[Finding]) -> list[Example]:
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    blank: list[int] = []
    ignored: dict[str, list[int]] = {}
    for row_no, cells in table.rows:
        if not any(c.strip() for c in cells):
            blank.append(row_no)
            continue
        groups.setdefault(_cell(cells, index, m.conversation) or "", []).append((row_no, cells))
    examples: list[Example] = []
    for conv_id, rows in groups.items():
        if m.turn:
            rows = sorted(rows, key=lambda rc: mapping_mod.turn_key(_cell(rc[1], index, m.turn) or ""))
        ex = Example(len(examples) + 1, tuple(sorted(r for r, _ in rows)), None, kind="sft")
        ex.record = {"messages": _conversation(rows, m, index, ignored)}
        if conv_id == "":
            notes.append(finding("warning", "missing_conversation_id", "these rows have no conversation id, so they were grouped together. Fill the id column.", ex))
        examples.append(ex)
    for label, nos in ignored.items():
        shown = ", ".join(str(n) for n in sorted(nos)[:20]) + (", …" if len(nos) > 20 else "")
        notes.append(Finding("warning", "speaker_ignored", f"{len(nos):,} row(s) with speaker “{label}” were left out of the conversations, as chosen for that speaker (rows {shown}).", row=min(nos)))
    for row_no in blank:
        examples.append(Example(len(examples) + 1, (row_no,), None, raw="", problem="the row is empty"))
    return examples


def _conversation(
    rows: list[tuple[int, list[str]]], m: mapping_mod.Mapping, index: dict[str, int], ignored: dict[str, list[int]]
) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    system = next((s for _, c in rows if (s := _cell(c, index, m.system)) and s.strip()), None) or m.default_system
    if system:
        msgs.append({"role": "system", "content": system})
    for row_no, cells in rows:
        if m.long_format:
            label = (_cell(cells, index, m.role) or "").strip()
            role = _speaker_role(label, m.speakers or {})
            if role == "ignore":
                ignored.setdefault(label, []).append(row_no)
                continue
            if role == "system" and msgs and msgs[0].get("role") == "system" and len(msgs) == 1:
                msgs[0]["content"] = _cell(cells, index, m.content)
                continue
            msg: dict[str, Any] = {"role": role, "content": _cell(cells, index, m.content)}
            weight = _weight(_cell(cells, index, m.weight))
            if weight is not None and role == "assistant":
                msg["weight"] = weight
            msgs.append(msg)
            continue
        user = _cell(cells, index, m.user)
        if user is not None and user.strip():
            msgs.append({"role": "user", "content": user})
        reply = _cell(cells, index, m.assistant)
        if reply is not None and reply.strip():
            msg = {"role": "assistant", "content": reply}
            weight = _weight(_cell(cells, index, m.weight))
            if weight is not None:
                msg["weight"] = weight
            msgs.append(msg)
    return msgs


def _speaker_role(label: str, chosen: dict[str, str]) -> str:
    """The role of a speaker label: the chosen one, else the label itself (``human``/``gpt``
    read as user/assistant); an unknown label stays as written so the checks name it."""
    if label in chosen:
        return chosen[label]
    role = label.lower()
    role = {"human": "user", "gpt": "assistant", "bot": "assistant"}.get(role, role)
    return role if role in ("system", "user", "assistant", "tool", "function") else label


# ---------------------------------------------------------------- JSON records


def from_records(
    records: Records, name: str, fmt: str, overrides: dict[str, Any] | None, default_system: str | None
) -> Dataset:
    parsed = [r for r in records.records if r.error is None]
    if not parsed:
        first = records.records[0] if records.records else None
        why = f" Line {first.row}: {first.error}." if first else ""
        raise InputError(f"{name} holds no readable examples.{why}")
    layout, m, columns, detection = plan(parsed, overrides, default_system)
    examples: list[Example] = []
    origin = ORIGIN.get(fmt, "item")
    # The common chat record (no mapping, no default system prompt): the example
    # _record_example makes of it, without its four calls per record.
    plain = m is None and not default_system and not detection.get("problem")
    for i, rec in enumerate(records.records, start=1):
        value = rec.value
        if plain and rec.error is None and isinstance(value, dict) and "messages" in value:
            examples.append(Example(i, (rec.row,), compact(value), kind="sft", origin=origin))
            continue
        ex = record_example(i, rec, layout, m, columns, default_system, detection)
        ex.origin = origin
        examples.append(ex)
    return Dataset(
        examples=examples,
        source_name=name,
        source_format=fmt,
        layout=layout,
        columns=columns,
        mapping=m.to_dict() if m else ({"default_system": default_system} if default_system else {}),
        source_rows=tuple(r.row for r in records.records),
        detection=detection,
    )


def plan(
    parsed: list[Record], overrides: dict[str, Any] | None, default_system: str | None
) -> tuple[str, mapping_mod.Mapping | None, list[str], dict[str, Any]]:
    """The layout of the readable records, and for a table its columns, the column mapping
    (suggested from the content of every row given, or the user's) and how sure it is.  The
    streaming path (validators/streaming/stream.py) takes this plan from the head of a large file."""
    layouts = [detect_layout(r.value) for r in parsed[:200]]
    layout = max(set(layouts), key=layouts.count)
    m: mapping_mod.Mapping | None = None
    columns: list[str] = []
    detection: dict[str, Any] = {}
    if layout == "table" or overrides:
        table = as_table(Records(parsed))
        if table is None:  # a chat layout mapped by hand: read its keys as columns
            columns = _columns_of(parsed)
            table = Table(columns=columns, rows=[(r.row, [_scalar_text(r.value.get(c)) for c in columns]) for r in parsed if isinstance(r.value, dict)])
        columns = table.columns
        rows = [cells for _, cells in table.rows]
        sug = mapping_mod.suggest(columns, rows)
        if overrides:
            m = mapping_mod.resolve(columns, overrides, default_system, rows, sug)
            detection = {"confidence": "chosen", "reasons": ["chosen by you"], "problem": None, "speaker_counts": {}}
        else:
            m, detection = sug.mapping, sug.to_dict()
            if default_system is not None:
                m.default_system = default_system or None
        layout = "table"
    return layout, m, columns, detection


def record_example(
    i: int, rec: Record, layout: str, m: mapping_mod.Mapping | None, columns: list[str],
    default_system: str | None, detection: dict[str, Any],
) -> Example:
    """Example ``i`` from one record under :func:`plan`'s answer: kept whole and unmapped
    while the mapping has a problem, else turned into an example."""
    if detection.get("problem") and rec.error is None and isinstance(rec.value, dict):
        return _unmapped(i, rec.row, [_scalar_text(rec.value.get(c)) for c in columns], columns, detection["problem"])
    return _record_example(i, rec, layout, m, columns, default_system)


def _columns_of(records: list[Record]) -> list[str]:
    cols: dict[str, None] = {}
    for r in records[:1000]:
        if isinstance(r.value, dict):
            cols.update(dict.fromkeys(r.value))
    return list(cols)


def _record_example(
    i: int,
    rec: Record,
    layout: str,
    m: mapping_mod.Mapping | None,
    columns: list[str],
    default_system: str | None,
) -> Example:
    if rec.error is not None:
        return Example(i, (rec.row,), None, raw=rec.raw or "", problem=rec.error)
    value = rec.value
    if not isinstance(value, dict):
        what = {list: "a list", str: "a string", type(None): "null"}.get(type(value), "a number")
        return Example(i, (rec.row,), None, raw=str(value)[:2000], problem=f"holds {what}, not an object with messages")
    own = detect_layout(value)
    if m is not None and own == "table":
        cells = [_scalar_text(value.get(c)) for c in columns]
        return _single_row(i, rec.row, cells, m, {c: j for j, c in enumerate(columns)})
    if own == "table":
        return Example(i, (rec.row,), value, kind="sft")
    record, kind, _ = to_record(value, own)
    if default_system and kind == "sft":
        msgs = record.get("messages")
        if isinstance(msgs, list) and not any(isinstance(x, dict) and x.get("role") == "system" for x in msgs):
            record = {**record, "messages": [{"role": "system", "content": default_system}, *msgs]}
    return Example(i, (rec.row,), compact(record), kind=kind)


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- progress of long steps

T = TypeVar("T")
TICK_S = 0.25  # how often the caller's progress bar is redrawn while a step runs
CREEP = 0.012  # how far the bar creeps per second between reports (of the whole bar)


def with_progress(work: Callable[[Progress], T], progress: Progress, start: float, end: float, text: str) -> T:
    """Run ``work(report)`` in a helper thread while this (the caller's) thread keeps its
    progress bar moving between ``start`` and ``end``.

    Why: a step such as reading 500 MB or counting tokens reports nothing for seconds, and
    a bar that stands still looks like a hung app.  ``work`` reports its own fraction (0–1)
    and stage when it can; between reports the bar creeps on by about 1 % a second (never
    past nine tenths of the way to the step's end), and the text counts the seconds, so the user
    always sees it move.  The progress callback is only ever called from this thread
    (Streamlit's elements belong to the script thread).  Exceptions of ``work`` are
    raised here, as if it had been called directly."""
    latest: list[tuple[float, str]] = [(0.0, text)]
    lock = threading.Lock()

    def report(fraction: float, said: str) -> None:
        with lock:
            latest.append((min(max(fraction, 0.0), 1.0), said))

    began = time.monotonic()
    shown, last_real = 0.0, -1.0
    since = began
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftprep-step") as pool:
        future = pool.submit(work, report)
        while True:
            with lock:
                real, said = latest[-1]
            now = time.monotonic()
            if real != last_real:
                last_real, since = real, now
            creep = min((now - since) * CREEP / max(end - start, 0.01), (1.0 - real) * 0.9)
            shown = max(shown, real + creep)
            progress(start + (end - start) * shown, f"{said}… {now - began:.0f} s")
            try:
                return future.result(timeout=TICK_S)
            except FutureTimeout:
                continue

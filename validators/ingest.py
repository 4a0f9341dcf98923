"""Bytes in, :class:`~validators.model.Dataset` out: read, map columns, build chat records.

This is the single entry point the CLI and the browser share, so both see the same
examples with the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import decoding, parquet_io
from . import mapping as mapping_mod
from .layouts import detect_layout, to_record
from .model import Dataset, Example, Finding, finding
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

    ``encoding`` is the text encoding the user chose; None detects it from the bytes.
    ``header`` / ``pair_rows`` / ``join_lines``: the CSV reading choices (first row holds
    column names; one-column question/answer rows paired; lines cut off by a line break
    outside quotes joined to the row above), None to guess; see ``readers.read_delimited``."""
    if fmt == "parquet" or (fmt is None and parquet_io.is_parquet(name, data[:4])):
        return from_records(parquet_io.read_records(data), name, "parquet", mapping, default_system)
    encoding_choice = encoding
    content, encoding = read_bytes(data, name, fmt, sheet, max_bytes, encoding=encoding,
                                   header=header, pair_rows=pair_rows, join_lines=join_lines)
    fmt_used = fmt or _fmt_of(name, content)
    if isinstance(content, Table):
        ds = from_table(content, name, fmt_used, mapping, default_system)
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


def _fmt_of(name: str, content: Table | Records) -> str:
    return detect_format(name, b"[" if isinstance(content, Records) else b"")


# ---------------------------------------------------------------- tables


def from_table(
    table: Table, name: str, fmt: str, overrides: dict[str, Any] | None, default_system: str | None
) -> Dataset:
    if not table.rows:
        raise InputError(f"{name} has a header row but no data rows. Add at least one example below the header.")
    m = mapping_mod.resolve(table.columns, overrides, default_system)
    index = {c: i for i, c in enumerate(table.columns)}
    read_findings = [Finding("warning", "ragged_row", f"Row {r}: {text}.", row=r) for r, text in table.notes]
    if m.conversation:
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
    )


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


def _turn_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _multi_turn(table: Table, m: mapping_mod.Mapping, index: dict[str, int], notes: list[Finding]) -> list[Example]:
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    blank: list[int] = []
    for row_no, cells in table.rows:
        if not any(c.strip() for c in cells):
            blank.append(row_no)
            continue
        groups.setdefault(_cell(cells, index, m.conversation) or "", []).append((row_no, cells))
    examples: list[Example] = []
    for conv_id, rows in groups.items():
        if m.turn:
            rows = sorted(rows, key=lambda rc: _turn_key(_cell(rc[1], index, m.turn) or ""))
        ex = Example(len(examples) + 1, tuple(sorted(r for r, _ in rows)), None, kind="sft")
        ex.record = {"messages": _conversation(rows, m, index)}
        if conv_id == "":
            notes.append(finding("warning", "missing_conversation_id", "these rows have no conversation id, so they were grouped together. Fill the id column.", ex))
        examples.append(ex)
    for row_no in blank:
        examples.append(Example(len(examples) + 1, (row_no,), None, raw="", problem="the row is empty"))
    return examples


def _conversation(rows: list[tuple[int, list[str]]], m: mapping_mod.Mapping, index: dict[str, int]) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    system = next((s for _, c in rows if (s := _cell(c, index, m.system)) and s.strip()), None) or m.default_system
    if system:
        msgs.append({"role": "system", "content": system})
    for _, cells in rows:
        if m.long_format:
            role = (_cell(cells, index, m.role) or "").strip().lower()
            role = {"human": "user", "gpt": "assistant", "bot": "assistant"}.get(role, role)
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


# ---------------------------------------------------------------- JSON records


def from_records(
    records: Records, name: str, fmt: str, overrides: dict[str, Any] | None, default_system: str | None
) -> Dataset:
    parsed = [r for r in records.records if r.error is None]
    if not parsed:
        first = records.records[0] if records.records else None
        why = f" Line {first.row}: {first.error}." if first else ""
        raise InputError(f"{name} holds no readable examples.{why}")
    layouts = [detect_layout(r.value) for r in parsed[:200]]
    layout = max(set(layouts), key=layouts.count)
    m: mapping_mod.Mapping | None = None
    columns: list[str] = []
    if layout == "table" or overrides:
        columns = _columns_of(parsed)
        m = mapping_mod.resolve(columns, overrides, default_system)
        layout = "table"
    examples: list[Example] = []
    origin = ORIGIN.get(fmt, "item")
    for i, rec in enumerate(records.records, start=1):
        ex = _record_example(i, rec, layout, m, columns, default_system)
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
    )


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
    return Example(i, (rec.row,), record, kind=kind)


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)

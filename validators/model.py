"""The few data types every stage shares: an example, a finding, a loaded dataset.

An :class:`Example` carries the source rows it came from through every stage, so any
message about it can say "Example 12 (row 14)" and every row can be accounted for at
export time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
Kind = Literal["sft", "dpo"]


@dataclass(slots=True)  # no per-instance __dict__: millions of examples fit in less memory
class Example:
    """One training example and where it came from.

    ``record`` is the JSON object that would be written for OpenAI (``{"messages": [...]}``
    for supervised data, ``{"input": ..., "preferred_output": ..., ...}`` for preference
    pairs), or ``None`` when the source could not be turned into one (``raw`` then holds
    the text that failed).
    """

    index: int  # 1-based position in the dataset, in file order
    rows: tuple[int, ...]  # source rows (spreadsheet row numbers, or JSONL line numbers)
    record: dict[str, Any] | None
    kind: Kind = "sft"
    raw: str | None = None
    problem: str | None = None  # why ``record`` is None: "invalid JSON: ...", "the row is empty"
    dropped: str | None = None  # set by a fix or by de-duplication: why it is left out (for people)
    dropped_code: str | None = None  # the same as a code (codes.LeftOut), for pages and reports to decide by
    origin: str = "row"  # what a source number means: "row" (spreadsheet), "line" (JSONL), "item" (JSON array)

    @property
    def row(self) -> int:
        """The first source row, the one messages point at."""
        return self.rows[0]

    @property
    def messages(self) -> list[Any]:
        """The conversation to count and compare: input messages plus the preferred reply."""
        rec = self.record
        if not isinstance(rec, dict):
            return []
        if self.kind == "dpo":
            inp = rec.get("input")
            msgs = list(inp.get("messages") or []) if isinstance(inp, dict) else []
            pref = rec.get("preferred_output")
            return msgs + (list(pref) if isinstance(pref, list) else [])
        msgs = rec.get("messages")
        return msgs if isinstance(msgs, list) else []


@dataclass(slots=True)
class Finding:
    """One problem with the data, phrased so a person can act on it."""

    severity: Severity
    code: str  # stable identifier, e.g. "empty_content"
    message: str  # full sentence: where, what, what to do
    example: int | None = None  # 1-based example number
    row: int | None = None  # source row of that example
    message_index: int | None = None  # 1-based message number inside the example
    key: str | None = None  # the JSON key at fault, e.g. "content"
    text: str | None = None  # the sentence without its "Example 12 (row 14): " prefix, to group equal problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "example": self.example,
            "row": self.row,
            "message_index": self.message_index,
            "key": self.key,
            "message": self.message,
        }


def learn_per_object(examples: list[Example], seen: dict[int, Example], holds: set[int],
                     test: Callable[[Example], bool]) -> None:
    """Keep in ``holds`` the number of each example for which ``test`` holds, asking only about
    the examples not already ``seen`` as these very objects (an edit makes a new object, so after
    one only the edited are asked again).  The per-object memo the export's plain-example set and
    the workspace's per-example tests share; callers hold their own lock."""
    for e in examples:
        n = e.index
        if seen.get(n) is not e:
            seen[n] = e
            if test(e):
                holds.add(n)
            else:
                holds.discard(n)


_SHARED: dict[str, str] = {}  # each key or role name -> the one string object every record uses
_SHARED_MAX = 10_000  # past this many distinct names, sys.intern alone (a file of random keys cannot grow it)


def _intern(text: str) -> str:
    """The shared object for ``text``: the first one met, so the keys ``orjson`` already
    shares between lines (its key cache) are kept as they are, not swapped again."""
    shared = _SHARED.get(text)
    if shared is None:
        if len(_SHARED) >= _SHARED_MAX:
            return sys.intern(text)
        shared = _SHARED.setdefault(text, text)
    return shared


def compact(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record with its keys and role names shared between examples, changed in place.

    ``json.loads`` makes new ``"messages"``, ``"role"``, ``"content"`` and ``"user"``
    strings for every line (~280 bytes an example); with millions of short examples that
    is a quarter of their memory.  In place, so no second copy of the data is ever held;
    the values are equal, so nothing that reads the record sees a difference."""
    if not isinstance(record, dict):
        return record
    msgs = record.get("messages")
    if not isinstance(msgs, list):
        return record
    shared = _SHARED
    for k in record:  # orjson's key cache usually hands over the shared keys already: only look
        if shared.get(k) is not k:
            _share_keys(record)
            break
    for m in msgs:
        if isinstance(m, dict):
            for k in m:
                if shared.get(k) is not k:
                    _share_keys(m)
                    break
            role = m.get("role")
            if isinstance(role, str) and len(role) < 20:
                one = shared.get(role)
                m["role"] = _intern(role) if one is None else one
    return record


def _share_keys(d: dict[str, Any]) -> None:
    """Swap each key for the shared string (a dict keeps its old key object on plain
    assignment, so the items are taken out and put back, in their order)."""
    for k in d:
        if type(k) is str and _intern(k) is not k:
            break
    else:
        return
    items = list(d.items())
    d.clear()
    for k, v in items:
        d[_intern(k) if type(k) is str else k] = v


def where(example: Example | None, message_index: int | None = None, key: str | None = None) -> str:
    """The human prefix of a finding: ``Example 12 (row 14), message 2, key `content```."""
    parts: list[str] = []
    if example is not None:
        rows = example.rows
        unit = example.origin
        span = f"{unit} {rows[0]}" if len(rows) == 1 else f"{unit}s {rows[0]}–{rows[-1]}"
        parts.append(f"Example {example.index} ({span})")
    if message_index is not None:
        parts.append(f"message {message_index}")
    if key is not None:
        parts.append(f"`{key}`")
    return ", ".join(parts)


def finding(
    severity: Severity,
    code: str,
    text: str,
    example: Example | None = None,
    message_index: int | None = None,
    key: str | None = None,
) -> Finding:
    """Build a finding whose sentence starts with where the problem is."""
    prefix = where(example, message_index, key)
    return Finding(
        severity=severity,
        code=code,
        message=f"{prefix}: {text}" if prefix else text,
        example=example.index if example else None,
        row=example.row if example else None,
        message_index=message_index,
        key=key,
        text=text,
    )


@dataclass
class Dataset:
    """What ingest produces: the examples plus problems met while reading."""

    examples: list[Example]
    source_name: str
    source_format: str  # csv, tsv, xlsx, json, jsonl
    layout: str  # table, messages, prompt_completion, sharegpt, alpaca, dpo
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, Any] = field(default_factory=dict)
    read_findings: list[Finding] = field(default_factory=list)
    encoding: str = "utf-8"
    source_rows: tuple[int, ...] = ()  # every source row number read, for the accounting
    detection: dict[str, Any] = field(default_factory=dict)  # how sure the column mapping is, why, what stops it

    def __len__(self) -> int:
        return len(self.examples)

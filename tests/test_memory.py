"""Per-example memory (issue 12, item 8): many tiny lines must not cost kilobytes each.

tracemalloc counts the bytes Python really holds for the loaded dataset (deterministic,
unlike RSS on a busy machine).  Peak RSS figures on 500,000 lines are in the README."""

from __future__ import annotations

import gc
import json
import tracemalloc

from validators.model import Example, Finding, compact
from validators.reading import ingest
from validators.storing import workspace as store

N = 20_000


def _tiny_lines(n: int) -> bytes:
    return "\n".join(
        json.dumps({"messages": [{"role": "user", "content": f"q{i} hi?"}, {"role": "assistant", "content": f"a{i} ok."}]})
        for i in range(n)
    ).encode()


def test_no_per_instance_dict() -> None:
    ex = Example(1, (2,), None)
    assert not hasattr(ex, "__dict__") and not hasattr(Finding("error", "x", "y"), "__dict__")


def test_keys_and_roles_are_shared_between_examples() -> None:
    ds = ingest.load_bytes(_tiny_lines(3), "t.jsonl")
    a, b = (e.record["messages"][1] for e in ds.examples[:2])
    assert a["role"] is b["role"] and next(iter(a)) is next(iter(b))
    again = store.example_from_dict(store.example_to_dict(ds.examples[0]))
    assert again.record["messages"][1]["role"] is a["role"]


def test_compact_changes_nothing_visible() -> None:
    rec = {"messages": [{"role": "user", "content": "hi", "name": "x"}, {"role": "assistant", "content": "yo", "weight": 0}, "odd"], "tools": []}
    before = json.dumps(rec)
    assert compact(rec) is rec and json.dumps(rec) == before
    assert compact(None) is None and compact({"input": 1}) == {"input": 1}


def test_bytes_per_tiny_example() -> None:
    data = _tiny_lines(N)
    gc.collect()
    tracemalloc.start()
    try:
        ds = ingest.load_bytes(data, "tiny.jsonl")
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per = held / len(ds.examples)
    print(f"{per:.0f} bytes per two-message example held after reading")
    assert per < 1150, per  # ~1,400 before (a __dict__ per example, new key and role strings per line)

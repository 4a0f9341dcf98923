"""The Export page's render cache (``export.RenderCache``): lines rendered once per example
object and target, reused when the split, the duplicate mode or the target changes back.
The bytes must be exactly those of an export built from scratch, before and after an edit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from validators.checking import checks
from validators.exporting import export
from validators.reading import ingest

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "support_desk.csv"


def files(out: export.ExportResult) -> tuple[bytes, bytes | None, bytes, list[str]]:
    return out.train, out.validation, out.report, out.problems


@pytest.fixture(scope="module")
def result() -> checks.CheckResult:
    return checks.check_dataset(ingest.load_file(SAMPLE))


def test_cached_export_is_byte_identical_across_choices(result: checks.CheckResult) -> None:
    cache = export.RenderCache(targets=2)
    choices = [(t, s, d) for t in ("openai", "azure", "trl", "openai") for s in (0.0, 0.2) for d in ("none", "exact", "near")]
    for target, split, dedupe in choices:
        fresh = export.build(result, target, split, dedupe)
        cached = export.build(result, target, split, dedupe, cache=cache)
        assert files(cached) == files(fresh), (target, split, dedupe)


def test_edited_example_is_rendered_afresh(result: checks.CheckResult) -> None:
    cache = export.RenderCache()
    before = export.build(result, "openai", cache=cache)
    victim = next(e for e in result.examples if e.record is not None and e.record.get("messages"))
    msgs = [dict(m) for m in victim.record["messages"]]
    msgs[-1]["content"] = "An edited answer that no other example has."
    edited = replace(victim, record={**victim.record, "messages": msgs})
    new = replace(result, examples=[edited if e is victim else e for e in result.examples])
    after = export.build(new, "openai", cache=cache)
    assert after.train == export.build(new, "openai").train
    assert after.train != before.train
    assert b"An edited answer that no other example has." in after.train


def test_only_the_latest_targets_are_kept(result: checks.CheckResult) -> None:
    cache = export.RenderCache(targets=2)
    for target in ("openai", "azure", "trl"):
        export.build(result, target, cache=cache)
    assert list(cache._lines) == ["azure", "trl"]
    assert set(cache._rules) <= {"azure", "trl"}

"""The Export page's render cache (``export.RenderCache``): lines rendered once per example
object and target, reused when the split, the duplicate mode or the target changes back.
The bytes must be exactly those of an export built from scratch, before and after an edit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    """Per target, only the lines that are not the record's own (those are shared by every target)."""
    cache = export.RenderCache(targets=2)
    for target in ("openai", "trl", "unsloth", "vertex"):
        export.build(result, target, cache=cache)
    assert list(cache._lines) == ["unsloth", "vertex"]
    assert set(cache._rules) <= {"unsloth", "vertex"}


# -- lines shared between targets: a target marked ``line_is_record`` writes the record's own line ----------

_TEXT = st.text(max_size=12)
_PLAIN_MESSAGE = st.builds(lambda r, c: {"role": r, "content": c}, st.sampled_from(["system", "user", "assistant", "tool", "developer", "x"]), _TEXT)
_ODD_MESSAGE = st.one_of(
    st.builds(lambda c, r: {"content": c, "role": r}, _TEXT, st.sampled_from(["user", "assistant"])),  # keys the other way round
    st.builds(lambda c: {"role": "assistant", "content": c, "weight": 0}, _TEXT),
    st.builds(lambda c: {"role": "function", "name": "f", "content": c}, _TEXT),
    st.builds(lambda c: {"role": "function", "content": c}, _TEXT),
    st.builds(lambda t: {"role": "user", "content": [{"type": "text", "text": t}]}, _TEXT),
    st.builds(lambda t: {"role": "user", "content": [{"type": "image_url", "image_url": {"url": t}}]}, _TEXT),
    st.just({"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "w", "arguments": "{}"}}]}),
)


def _example(i: int, msgs: list, extra: dict) -> object:
    from validators.model import Example

    return Example(i, (i + 1,), {"messages": msgs, **extra})


_EXAMPLE = st.builds(lambda msgs, odd, extra: (msgs, odd, extra), st.lists(_PLAIN_MESSAGE, min_size=1, max_size=4),
                     st.lists(_ODD_MESSAGE, max_size=2), st.sampled_from([{}, {}, {"tools": [{"type": "function", "function": {"name": "w"}}]}, {"functions": [{"name": "w"}]}]))
SHARING = sorted(n for n, t in export.targets_mod.TARGETS.items() if t.line_is_record)


@given(st.lists(_EXAMPLE, min_size=1, max_size=8))
def test_a_target_marked_line_is_record_writes_the_records_line(made: list) -> None:
    """For every target marked ``line_is_record``: "always" — every example's line is its record's;
    "plain" — a plain example's is (``base.is_plain``), so the cache may share that line between targets."""
    from validators.exporting.targets.base import is_plain

    examples = [_example(i + 1, msgs + odd, extra) for i, (msgs, odd, extra) in enumerate(made)]
    assert SHARING, "no target shares lines"
    for e in examples:
        for name in SHARING:
            target = export.targets_mod.get(name)
            if target.line_is_record == "always" or is_plain(e):
                assert export.dumps_line(target.render(e)) == export.dumps_line(e.record), (name, e.record)


@settings(deadline=None)  # a busy shared machine: no timing threshold (the first case also imports the exporters)
@given(st.lists(_EXAMPLE, min_size=2, max_size=12), st.lists(st.tuples(st.integers(0, 11), _EXAMPLE), max_size=4),
       st.permutations(SHARING + ["trl-prompt-completion", "vertex"]))
def test_shared_lines_give_the_same_bytes_as_a_fresh_export(made: list, edits: list, order: list) -> None:
    """Targets one after another through one cache (the record's lines shared), then edits, then
    again: every file is byte for byte the export built from scratch, problems included."""
    from validators.checking import checks

    examples = [_example(i + 1, msgs + odd, extra) for i, (msgs, odd, extra) in enumerate(made)]
    cache = export.RenderCache(targets=2)
    for round_ in range(2):
        result = checks.run(list(examples), near=False)
        for name in order:
            fresh = export.build(result, name)
            assert files(export.build(result, name, cache=cache)) == files(fresh), (name, round_)
        for pos, (msgs, odd, extra) in edits:
            pos %= len(examples)
            examples[pos] = _example(examples[pos].index, msgs + odd, extra)


def rule_data() -> list:
    """Examples that break one rule or another of every target: tool calls, images, a
    preference pair, empty text, a late system message, a weight of 2, legacy functions."""
    from validators.model import Example

    user = {"role": "user", "content": "What is the weather in Paris today?"}
    reply = {"role": "assistant", "content": "Sunny, 21 degrees."}
    records = [
        {"messages": [user, reply]},
        {"messages": [{"role": "system", "content": "Be brief."}, user, reply]},
        {"messages": [user, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"q\": 1}"}}]},
                      {"role": "tool", "tool_call_id": "c1", "content": "sunny"}, reply], "tools": [{"type": "function", "function": {"name": "w"}}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}, reply]},
        {"messages": [user, {"role": "assistant", "content": ""}]},
        {"messages": [user, {"role": "system", "content": "Late."}, reply]},
        {"messages": [user, {**reply, "weight": 2}]},
        {"messages": [user, {"role": "assistant", "content": None, "function_call": {"name": "w", "arguments": "{}"}}], "functions": [{"name": "w"}]},
        {"messages": [user, user, reply]},
        {"messages": [user]},
    ]
    out = [Example(i + 1, (i + 2,), r) for i, r in enumerate(records)]
    pair = {"input": {"messages": [user]}, "preferred_output": [reply], "non_preferred_output": [{"role": "assistant", "content": "Rainy."}]}
    return [*out, Example(len(out) + 1, (len(out) + 2,), pair, kind="dpo")]


@pytest.mark.parametrize("name", sorted(export.targets_mod.TARGETS))
def test_remembered_rules_equal_fresh_rules_after_edits(name: str) -> None:
    """Every target's rules through the cache (each example's answers kept per object) say
    what the rules say from scratch, before and after edits that make and mend problems."""
    target = export.targets_mod.get(name)
    cache = export.RenderCache(targets=1)
    data = rule_data()
    assert cache.rules(list(data), target) == target.rules(data)
    plain = data[0]
    for k in range(1, len(data)):  # each round: example k becomes plain, the plain one becomes example k's problem
        data[0], data[k] = replace(data[k], index=plain.index, rows=plain.rows), replace(plain, index=data[k].index, rows=data[k].rows)
        assert cache.rules(list(data), target) == target.rules(data), k
        plain = data[0] if data[0].record == plain.record else plain


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(obj=st.dictionaries(st.text(max_size=8), JSON, max_size=5))
def test_dumps_line_is_json_dumps(obj: dict) -> None:
    """The line encoder made once gives ``json.dumps``' own characters for any JSON object:
    control characters, quotes, non-ASCII text, floats, nesting."""
    assert export.dumps_line(obj) == json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


# -- the Hugging Face message shortcut (a role and a text) gives the general rule's dict ----------

def _message_by_the_rule(msg: dict) -> dict:
    """The documented conversion, key by key in chat-template order (the code before the shortcut)."""
    from validators.exporting.targets import hf

    out: dict = {}
    for key in ("role", "content", "name", "tool_calls", "tool_call_id"):
        if key not in msg:
            continue
        if key == "content":
            text = hf.text_of(msg["content"])
            if text is not None:
                out["content"] = text
        elif key == "tool_calls":
            out["tool_calls"] = [hf.tool_call(c) for c in msg["tool_calls"] or []]
        else:
            out[key] = msg[key]
    if "content" not in out and "tool_calls" not in out:
        out["content"] = ""
    return out


_CONTENT = st.one_of(st.text(max_size=20), st.none(), st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=5)}), max_size=2))
_MESSAGE = st.dictionaries(st.sampled_from(["content", "role", "name", "weight", "tool_call_id"]),
                           st.text(max_size=8), max_size=4).flatmap(
    lambda d: st.builds(lambda c, keep: {**d, **({"content": c} if keep else {})}, _CONTENT, st.booleans()))


@given(_MESSAGE)
def test_hf_message_shortcut_equals_the_rule(msg: dict) -> None:
    from validators.exporting.targets import hf

    got = hf.message(msg)
    assert got == _message_by_the_rule(msg)
    assert list(got) == list(_message_by_the_rule(msg))  # the same key order: the same bytes in the file

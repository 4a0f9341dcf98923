"""The Export page's render cache (``export.RenderCache``): lines rendered once per example
object and target, reused when the split, the duplicate mode or the target changes back.
The bytes must be exactly those of an export built from scratch, before and after an edit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
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
    cache = export.RenderCache(targets=2)
    for target in ("openai", "azure", "trl"):
        export.build(result, target, cache=cache)
    assert list(cache._lines) == ["azure", "trl"]
    assert set(cache._rules) <= {"azure", "trl"}


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

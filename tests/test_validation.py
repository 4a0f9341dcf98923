"""Schema and semantic findings: codes, places, and sentences a person can act on."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validators.checking import checks, schema_check, semantic
from validators.model import Example


def ex(messages, i=1, row=None, kind="sft", **extra):
    rec = {"messages": messages, **extra} if kind == "sft" else messages
    return Example(i, (row or i + 1,), rec, kind=kind)


GOOD = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there!"}]


def codes(findings):
    return {(f.code, f.message_index, f.key) for f in findings}


def run_one(example):
    return schema_check.check_schema([example]) + semantic.check_example(example)


def test_good_example_has_no_findings():
    assert run_one(ex(GOOD)) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda m: m[1].update(role="customer"), ("invalid_role", 2, "role")),
        (lambda m: m[2].pop("content"), ("missing_content", 3, "content")),
        (lambda m: m[2].update(content=5), ("wrong_type", 3, "content")),
        (lambda m: m[2].update(weight=2), ("invalid_weight", 3, "weight")),
        (lambda m: m[1].update(weight=0), ("weight_not_assistant", 2, "weight")),
        (lambda m: m[1].update(name="bad name!"), ("invalid_name", 2, "name")),
        (lambda m: m[2].update(content=""), ("empty_content", 3, "content")),
        (lambda m: m[0].update(content=[{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]), ("invalid_content", 1, "content")),
    ],
)
def test_each_error_points_at_message_and_key(mutate, expected):
    msgs = copy.deepcopy(GOOD)
    mutate(msgs)
    found = run_one(ex(msgs, i=12, row=14))
    assert expected in codes(found)
    f = next(f for f in found if (f.code, f.message_index, f.key) == expected)
    assert f.severity == "error" and f.example == 12 and f.row == 14
    assert f.message.startswith(f"Example 12 (row 14), message {expected[1]}")


def test_the_issue_example_sentence():
    msgs = copy.deepcopy(GOOD)[1:]
    msgs[1]["content"] = ""
    f = next(f for f in run_one(ex(msgs, i=12, row=14)) if f.code == "empty_content")
    assert f.message == "Example 12 (row 14), message 2, `content`: `content` is empty. Write the assistant's reply or drop the example."


def test_extra_top_level_key_and_missing_messages():
    assert ("extra_key", None, "metadata") in codes(run_one(ex(GOOD, metadata={"a": 1})))
    bad = Example(1, (2,), {"msgs": []})
    assert "missing_messages" in {f.code for f in run_one(bad)}


def test_tool_calls_rules():
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [call]}, {"role": "tool", "tool_call_id": "c2", "content": "r"}, {"role": "assistant", "content": "done"}]
    found = codes(run_one(ex(msgs, tools=[{"type": "function", "function": {"name": "lookup"}}])))
    assert ("unknown_tool_call_id", 3, "tool_call_id") in found
    assert ("unanswered_tool_call", 2, "tool_calls") in found
    msgs[2]["tool_call_id"] = "c1"
    assert run_one(ex(msgs, tools=[{"type": "function", "function": {"name": "lookup"}}])) == []
    assert "invalid_tool_name" in {c for c, _, _ in codes(run_one(ex(msgs, tools=[{"type": "function", "function": {"name": "look up"}}])))}


def test_warnings_that_hurt_training():
    msgs = [{"role": "user", "content": "  padded  "}, {"role": "user", "content": "again"}, {"role": "assistant", "content": "k", "weight": 0}]
    found = {c for c, _, _ in codes(run_one(ex(msgs)))}
    assert {"surrounding_whitespace", "consecutive_same_role", "short_reply", "all_weight_zero"} <= found
    assert {"no_assistant"} <= {c for c, _, _ in codes(run_one(ex([{"role": "user", "content": "q"}])))}


def test_dataset_level_rules():
    few = [ex(GOOD, i) for i in range(1, 6)]
    assert "too_few_examples" in {f.code for f in semantic.check_dataset(few)}
    some = [ex(GOOD, i) for i in range(1, 21)]
    assert "few_examples" in {f.code for f in semantic.check_dataset(some)}
    conflict = [ex(GOOD, 1), ex(GOOD[:2] + [{"role": "assistant", "content": "Something else entirely"}], 2)] + [ex(GOOD, i) for i in range(3, 13)]
    found = [f for f in semantic.check_dataset(conflict) if f.code == "conflicting_answers"]
    assert {f.example for f in found} >= {1, 2}
    many = [ex([{"role": "system", "content": f"prompt {i}"}] + GOOD[1:], i) for i in range(1, 60)]
    assert "many_system_prompts" in {f.code for f in semantic.check_dataset(many)}


def test_dpo_schema_and_rules():
    good = {"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [{"role": "assistant", "content": "a"}], "non_preferred_output": [{"role": "assistant", "content": "b"}]}
    assert run_one(Example(1, (2,), good, kind="dpo")) == []
    two = copy.deepcopy(good)
    two["preferred_output"].append({"role": "assistant", "content": "c"})
    assert "too_many_outputs" in {f.code for f in run_one(Example(1, (2,), two, kind="dpo"))}


def test_check_result_json_shape():
    examples = [ex(GOOD, i) for i in range(1, 12)] + [Example(12, (13,), None, problem="the row is empty")]
    data = checks.run(examples, model="gpt-4o-mini").to_json()
    assert data["examples"] == 12
    assert data["tokens"]["per_example"][-1] is None and len(data["tokens"]["per_example"]) == 12
    assert data["duplicates"]["exact"] == [list(range(1, 12))]
    assert data["errors"][0]["code"] == "empty_row" and data["errors"][0]["row"] == 13
    assert set(data["errors"][0]) >= {"code", "example", "row", "message_index", "key", "message"}


messages_strategy = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool", "developer", 3])},
        optional={
            "content": st.one_of(st.text(max_size=5), st.none(), st.integers(), st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]), "text": st.text(max_size=3)}), max_size=2)),
            "weight": st.sampled_from([0, 1, 2, "1", None]),
            "name": st.sampled_from(["ok_name", "bad name", ""]),
            "tool_call_id": st.sampled_from(["", "c1"]),
        },
    ),
    max_size=4,
)


def _twin(value, key=""):
    """Same shape, different free text: what the per-shape cache treats as equal."""
    if isinstance(value, str):
        return value if key in schema_check._SIGNIFICANT or not value else value + "~changed"
    if isinstance(value, dict):
        return {k: _twin(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_twin(v, key) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(messages_strategy)
def test_shape_cache_gives_the_same_verdict_as_jsonschema(messages):
    """The per-shape verdict cache must never hide an error jsonschema would report."""
    record, twin = {"messages": messages}, {"messages": _twin(messages)}
    v = schema_check.validator("sft")
    assert v.is_valid(record) == v.is_valid(twin)
    flagged = {f.example for f in schema_check.check_schema([Example(1, (2,), record), Example(2, (3,), twin)])}
    assert flagged == (set() if v.is_valid(record) else {1, 2})
    json.dumps(record)

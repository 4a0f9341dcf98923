"""One-click fixes: what they change, what they count, and that the input is left intact."""

from __future__ import annotations

import copy

from validators.checking import fixes
from validators.counting import tokens
from validators.model import Example


def ex(i, msgs):
    return Example(i, (i + 1,), {"messages": msgs})


def contents(e):
    return [(m["role"], m["content"]) for m in e.record["messages"]]


def test_trim_whitespace_counts_and_does_not_mutate():
    data = [ex(1, [{"role": "user", "content": "  hi \n"}, {"role": "assistant", "content": "ok"}]), ex(2, [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])]
    before = copy.deepcopy([e.record for e in data])
    res = fixes.trim_whitespace(data)
    assert res.changed == [1] and contents(res.examples[0])[0] == ("user", "hi")
    assert [e.record for e in data] == before  # the old list is the undo state
    assert "1 example" in res.summary


def test_system_first_merge_drop_empty_and_fill_system():
    e = ex(1, [{"role": "user", "content": "a"}, {"role": "system", "content": "S"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": ""}, {"role": "assistant", "content": "c"}])
    e = fixes.system_first([e]).examples[0]
    assert contents(e)[0] == ("system", "S")
    e = fixes.merge_consecutive([e]).examples[0]
    assert contents(e) == [("system", "S"), ("user", "a\n\nb"), ("assistant", "\n\nc")]
    e2 = ex(2, [{"role": "user", "content": "q"}, {"role": "user", "content": "  "}, {"role": "assistant", "content": "r"}])
    assert contents(fixes.drop_empty_messages([e2]).examples[0]) == [("user", "q"), ("assistant", "r")]
    filled = fixes.fill_default_system([e2, e], "Be kind.")
    assert filled.changed == [2] and contents(filled.examples[0])[0] == ("system", "Be kind.")


def test_drop_and_restore_keep_the_example_for_the_report():
    data = [ex(1, [{"role": "user", "content": "q"}])]
    dropped = fixes.drop_examples(data, {1}, "a reason")
    assert dropped.examples[0].dropped == "a reason" and dropped.examples[0].record is not None
    assert fixes.restore(dropped.examples, {1}).examples[0].dropped is None


def test_over_limit_drop_and_trim_earliest_turns():
    long = "word " * 400
    msgs = [{"role": "system", "content": "S"}]
    for i in range(4):
        msgs += [{"role": "user", "content": f"{long} {i}"}, {"role": "assistant", "content": f"answer {i}"}]
    e = ex(1, msgs)
    size = tokens.count_one(e, "cl100k_base")
    limit = size // 2
    trimmed = fixes.trim_over_limit([e], lambda x: tokens.count_one(x, "cl100k_base"), limit)
    assert trimmed.changed == [1]
    kept = trimmed.examples[0].record["messages"]
    assert kept[0]["role"] == "system" and kept[-1]["content"] == "answer 3" and kept[1]["role"] == "user"
    assert tokens.count_one(trimmed.examples[0], "cl100k_base") <= limit
    dropped = fixes.drop_over_limit([e], [size], limit)
    assert dropped.changed == [1] and "limit" in dropped.examples[0].dropped

"""The Tokens page's one-pass control-token scan gives the same answers as scanning each
destination's tokens on its own (reserved_tokens.scan_many against scan)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from validators import catalog, reserved_tokens
from validators.model import Example

TOKENS = ["<|endoftext|>", "<|eot_id|>", "<|start_header_id|>", "[INST]", "<s>", "</s>", "User:", "Bot:", "<|im_start|>",
          "<|reserved_special_token_5|>", "<|end", "Assistant:"]
SETS = [("<|endoftext|>", "<|endofprompt|>"), ("<|eot_id|>", "<|start_header_id|>", "<|reserved_special_token_5|>", "<|end"),
        ("User:", "Bot:", "Assistant:", "[EOS]"), ("<s>", "</s>", "[INST]")]


def example(i: int, texts: list[str]) -> Example:
    msgs = [{"role": r, "content": t} for r, t in zip(["system", "user", "assistant"], texts, strict=False)]
    return Example(i, (i,), {"messages": msgs})


def test_same_answers_as_scan_per_set_on_many_examples() -> None:
    rng = random.Random(3)
    words = ["order", "parcel", "User", "Bot", "<", "|", "end", "s>", "INST", ":"]
    examples = []
    for i in range(3000):
        texts = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(3)]
        if i % 7 == 0:
            k = rng.randrange(3)
            texts[k] = texts[k][:9] + rng.choice(TOKENS) + texts[k][9:]
        examples.append(example(i + 1, texts))
    examples[5] = Example(6, (6,), None, problem="unreadable")
    assert reserved_tokens.scan_many(examples, SETS) == [reserved_tokens.scan(examples, s) for s in SETS]
    assert any(numbers for _, numbers in reserved_tokens.scan_many(examples, SETS))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([*TOKENS, "a", " ", "<", "|", "e", "\n", "é"]), max_size=8).map("".join), min_size=1, max_size=9))
def test_same_answers_on_any_text(texts: list[str]) -> None:
    examples = [example(i + 1, texts[i:i + 3]) for i in range(0, len(texts), 3)]
    assert reserved_tokens.scan_many(examples, SETS) == [reserved_tokens.scan(examples, s) for s in SETS]


def test_by_target_counts_the_tokens_of_the_active_model() -> None:
    examples = [example(1, ["sys", "hello <|endoftext|>", "hi"]), example(2, ["sys", "plain", "text"])]
    rows = reserved_tokens.by_target(examples, catalog.model(None))
    assert rows[0]["examples"] == 1 and "<|endoftext|>" in rows[0]["found"]

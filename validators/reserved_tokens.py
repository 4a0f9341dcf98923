"""Control tokens hidden in user text.

A cell that contains ``<|eot_id|>``, ``<|im_start|>``, ``[INST]`` or ``<|fim_suffix|>`` is read
by the target's tokenizer as a *control* token, not as text: the example then ends early,
fakes a new turn, or is refused outright (a hosted service refused a whole file over one
``<|fim_suffix|>`` that a local validator had passed).  Which strings are control tokens
depends on the target's tokenizer, so the list comes from the active model:

* an OpenAI model: the tiktoken encoding's special tokens (``<|endoftext|>``, ``<|fim_*|>``, …);
* an open base model: its tokenizer's own special tokens (Llama 3's ``<|eot_id|>`` …,
  Mistral's ``[INST]`` …, a local folder's added tokens).

The fix breaks each occurrence with a zero-width space after its first character, so it
reads the same to a person and is plain text to the tokenizer.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from .model import Example, Finding, finding

ZWSP = "\u200b"
_CONTROL_SHAPE = re.compile(r"^(<\|.+\|>|\[/?[A-Z_]+\]|</?s>|<[a-z_]+>)$")


@cache
def _tiktoken_special(encoding: str) -> tuple[str, ...]:
    from .bpe_files import get_encoding

    return tuple(sorted(get_encoding(encoding).special_tokens_set))


def special_tokens(info: Any) -> tuple[str, ...]:
    """The control-token strings of the active model's tokenizer (those a person could type)."""
    from . import open_tokenizers

    if info.encoding.startswith(open_tokenizers.PREFIX):
        tok = open_tokenizers.load(info.name)
        found = {t for t in tok.special_tokens if isinstance(t, str) and len(t) > 2 and _CONTROL_SHAPE.match(t)}
        return tuple(sorted(found, key=lambda t: (-len(t), t)))
    return _tiktoken_special(info.encoding)


@cache
def _pattern(tokens: tuple[str, ...]) -> re.Pattern[str] | None:
    if not tokens:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))


def _texts(msg: dict[str, Any]) -> list[str]:
    content = msg.get("content")
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return []


def _messages(ex: Example) -> list[Any]:
    rec = ex.record if isinstance(ex.record, dict) else {}
    if ex.kind == "dpo":
        inp = rec.get("input") if isinstance(rec.get("input"), dict) else {}
        return list(inp.get("messages") or []) + list(rec.get("preferred_output") or []) + list(rec.get("non_preferred_output") or [])
    return list(ex.messages or [])


def check(examples: list[Example], info: Any) -> list[Finding]:
    """One warning per message whose text holds a control token of the active model."""
    pattern = _pattern(special_tokens(info))
    if pattern is None:
        return []
    out = []
    for ex in examples:
        if ex.record is None or ex.dropped:
            continue
        for i, msg in enumerate(_messages(ex)):
            if not isinstance(msg, dict):
                continue
            hits = sorted({m.group(0) for t in _texts(msg) for m in pattern.finditer(t)})
            if hits:
                shown = ", ".join(hits[:5])
                out.append(finding("warning", "reserved_token", f"({msg.get('role', '?')}) contains {shown}, which "
                                   f"{info.name}'s tokenizer reads as a control token, not text: the turn would end early or the file "
                                   "be refused. Use the one-click fix “Break control tokens” on the Tokens page (it inserts an invisible space), or remove it.",
                                   ex, message_index=i + 1))
    return out


def break_tokens(text: str, tokens: tuple[str, ...]) -> str:
    """``text`` with every control token broken by a zero-width space after its first character."""
    pattern = _pattern(tokens)
    if pattern is None:
        return text
    return pattern.sub(lambda m: m.group(0)[0] + ZWSP + m.group(0)[1:], text)


# --- per target: which strings each destination's tokenizer or service treats as control ---

HOSTED_OPEN_BASE = "meta-llama/Meta-Llama-3-8B-Instruct"  # same tokenizer as Together's / Fireworks' default Llama 3.1 8B


def target_sets(active: Any) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(targets, whose tokens, the tokens or None when no list applies) for every destination."""
    from . import catalog, open_tokenizers
    from .targets.bedrock import RESERVED

    is_open = active.encoding.startswith(open_tokenizers.PREFIX)
    openai = catalog.model(None) if is_open else active
    rows: list[tuple[str, str, tuple[str, ...] | None]] = [
        ("OpenAI, Azure OpenAI", f"{openai.name}'s tokenizer ({openai.encoding})", _tiktoken_special(openai.encoding))]
    if is_open:
        rows.append(("TRL, Unsloth, AutoTrain", f"{active.name}'s tokenizer", special_tokens(active)))
    else:
        rows.append(("TRL, Unsloth, AutoTrain", "the base model's tokenizer: choose one in Model above", None))
    hosted = open_tokenizers.model_info(HOSTED_OPEN_BASE)
    rows.append(("Together AI, Fireworks AI", "their default base model, Llama 3.1 8B Instruct (the Llama 3 tokenizer)", special_tokens(hosted)))
    rows.append(("Amazon Bedrock (Nova)", "the strings Nova reserves (AWS's own file validator)", tuple(RESERVED)))
    rows.append(("Google Vertex AI (Gemini)", "no published list of control strings", None))
    return rows


def scan(examples: list[Example], tokens: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """(the control strings found, the examples holding one) over every message's text."""
    pattern = _pattern(tokens)
    found: set[str] = set()
    numbers: list[int] = []
    if pattern is None:
        return [], []
    for ex in examples:
        if ex.record is None or ex.dropped:
            continue
        hits = {m.group(0) for msg in _messages(ex) if isinstance(msg, dict) for t in _texts(msg) for m in pattern.finditer(t)}
        if hits:
            found |= hits
            numbers.append(ex.index)
    return sorted(found), numbers


SCAN_BLOCK = 1000  # examples whose texts are searched as one string


def scan_many(examples: list[Example], token_sets: list[tuple[str, ...]]) -> list[tuple[list[str], list[int]]]:
    """:func:`scan` for several token sets with one pass over the texts: each block of
    examples is searched once for any token of any set (one C-level regex search), and
    only a block with a hit is searched set by set.  Same answers as :func:`scan` per set
    (texts are joined with NUL, which no control token holds); it made the Tokens page's
    table take a fraction of a second at 100,000 examples instead of seconds."""
    if any("\0" in t for ts in token_sets for t in ts):
        return [scan(examples, ts) for ts in token_sets]
    patterns = [_pattern(ts) for ts in token_sets]
    union = _pattern(tuple({t for ts in token_sets for t in ts}))
    found: list[set[str]] = [set() for _ in token_sets]
    numbers: list[list[int]] = [[] for _ in token_sets]
    if union is None:
        return [([], []) for _ in token_sets]
    size = min(4, *(len(t) for ts in token_sets for t in ts))
    heads = {t[:size] for ts in token_sets for t in ts}
    for start in range(0, len(examples), SCAN_BLOCK):
        block = [(ex.index, "\0".join(t for msg in _messages(ex) if isinstance(msg, dict) for t in _texts(msg)))
                 for ex in examples[start:start + SCAN_BLOCK] if ex.record is not None and not ex.dropped]
        ends = list(itertools.accumulate(len(text) + 1 for _, text in block))
        hit = sorted({bisect.bisect_right(ends, at) for at in _starts("\0".join(text for _, text in block), heads, union)})
        for index, text in (block[i] for i in hit):
            for k, pattern in enumerate(patterns):
                hits = set(pattern.findall(text)) if pattern is not None else set()
                if hits:
                    found[k] |= hits
                    numbers[k].append(index)
    return [(sorted(f), n) for f, n in zip(found, numbers, strict=True)]


def _starts(text: str, heads: set[str], union: re.Pattern[str]) -> Iterator[int]:
    """Where a token of ``union`` starts in ``text``: each place one of the tokens' first
    characters (``heads``) occurs, found by ``str.find`` (fast), confirmed by the pattern
    (a regex of hundreds of alternatives is slow when run over every position)."""
    for head in heads:
        at = text.find(head)
        while at >= 0:
            if union.match(text, at):
                yield at
            at = text.find(head, at + 1)


def by_target(examples: list[Example], active: Any) -> list[dict[str, Any]]:
    """One row per destination: whose control strings, which were found, in how many examples."""
    rows = []
    sets = target_sets(active)
    scanned = iter(scan_many(examples, [tokens for _, _, tokens in sets if tokens is not None]))
    for targets_, whose, tokens in sets:
        if tokens is None:
            rows.append({"targets": targets_, "control strings of": whose, "found": "", "examples": None})
            continue
        found, numbers = next(scanned)
        rows.append({"targets": targets_, "control strings of": whose, "found": ", ".join(found[:8]) + (" …" if len(found) > 8 else ""),
                     "examples": len(numbers), "example numbers": numbers[:50]})
    return rows

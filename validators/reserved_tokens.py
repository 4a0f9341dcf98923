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

import re
from collections.abc import Callable
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
    """:func:`scan` for several token sets with one pass over the texts: every example's
    texts are sieved once for any token of any set (RE2, see :func:`_sieve`), and only an
    example the sieve keeps is searched set by set.  Same answers as :func:`scan` per set
    (an example's texts are joined with NUL, which no control token holds, so no match
    spans two texts).  The Tokens page's table scanned all texts once per destination
    with hundreds of alternatives each: seconds at 100,000 examples."""
    if any("\0" in t for ts in token_sets for t in ts):
        return [scan(examples, ts) for ts in token_sets]
    patterns = [_pattern(ts) for ts in token_sets]
    union = _pattern(tuple({t for ts in token_sets for t in ts}))
    found: list[set[str]] = [set() for _ in token_sets]
    numbers: list[list[int]] = [[] for _ in token_sets]
    if union is None:
        return [([], []) for _ in token_sets]
    sieve = _sieve(union)
    for start in range(0, len(examples), SCAN_BLOCK):
        block = [(ex.index, "\0".join(t for msg in _messages(ex) if isinstance(msg, dict) for t in _texts(msg)))
                 for ex in examples[start:start + SCAN_BLOCK] if ex.record is not None and not ex.dropped]
        for index, text in (block[i] for i in sieve([text for _, text in block])):
            for k, pattern in enumerate(patterns):
                hits = set(pattern.findall(text)) if pattern is not None else set()
                if hits:
                    found[k] |= hits
                    numbers[k].append(index)
    return [(sorted(f), n) for f, n in zip(found, numbers, strict=True)]


def _sieve(union: re.Pattern[str]) -> Callable[[list[str]], list[int]]:
    """Which of a list of texts hold any token of ``union``: Arrow's RE2 (a DFA: linear in
    the text whatever the number of tokens; Python's ``re`` tries each of hundreds of
    alternatives at every position), or ``re`` itself where RE2 refuses the pattern."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        pc.match_substring_regex(pa.array(["x"]), pattern=union.pattern)
    except Exception:  # noqa: BLE001 - no Arrow, or a pattern RE2 cannot take: the exact slow path
        return lambda texts: [i for i, t in enumerate(texts) if union.search(t)]

    def sieve(texts: list[str]) -> list[int]:
        mask = pc.match_substring_regex(pa.array(texts, pa.large_string()), pattern=union.pattern)
        return [i for i, hit in enumerate(mask.to_pylist()) if hit]

    return sieve


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

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
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from ..checking import sieve
from ..model import Example, Finding, finding

ZWSP = "\u200b"
_CONTROL_SHAPE = re.compile(r"^(<\|.+\|>|\[/?[A-Z_]+\]|</?s>|<[a-z_]+>)$")


@cache
def _tiktoken_special(encoding: str) -> tuple[str, ...]:
    from .bpe_files import special_tokens

    return tuple(sorted(special_tokens(encoding)))


def special_tokens(info: Any) -> tuple[str, ...]:
    """The control-token strings of the active model's tokenizer (those a person could type)."""
    from . import open_tokenizers

    if info.encoding.startswith(open_tokenizers.PREFIX):
        found = {t for t in open_tokenizers.special_token_strings(info.name) if isinstance(t, str) and len(t) > 2 and _CONTROL_SHAPE.match(t)}
        return tuple(sorted(found, key=lambda t: (-len(t), t)))
    return _tiktoken_special(info.encoding)


@cache
def _pattern(tokens: tuple[str, ...]) -> re.Pattern[str] | None:
    if not tokens:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))


def message_texts(msg: dict[str, Any]) -> list[str]:
    """The texts of one message: its string content, or the text parts of a list of parts."""
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


def check(examples: list[Example], info: Any, gathered: _Texts | None = None) -> list[Finding]:
    """One warning per message whose text holds a control token of the active model;
    ``gathered`` (:func:`gather`, of the same examples) saves walking them again."""
    tokens = special_tokens(info)
    pattern = _pattern(tokens)
    if pattern is None:
        return []
    texts = gathered if gathered is not None else _Texts(examples, [tokens])
    out = []
    hits: set[str] = set()
    picked = texts.picked
    for n, i in enumerate(picked):
        hits.update(m.group(0) for m in pattern.finditer(texts.texts[i]))
        if n + 1 < len(picked) and texts.same_message(i, picked[n + 1]):
            continue  # the message's next text part: one finding per message
        if hits:
            ex, msg, index = texts.place(i)
            shown = ", ".join(sorted(hits)[:5])
            out.append(finding("warning", "reserved_token", f"({msg.get('role', '?')}) contains {shown}, which "
                               f"{info.name}'s tokenizer reads as a control token, not text: the turn would end early or the file "
                               "be refused. Use the one-click fix “Break control tokens” on the Tokens page (it inserts an invisible space), or remove it.",
                               ex, message_index=index + 1))
            hits = set()
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
    from .. import catalog
    from ..exporting.targets.bedrock import RESERVED
    from . import open_tokenizers

    is_open = active.encoding.startswith(open_tokenizers.PREFIX)
    openai = catalog.model(None) if is_open else active
    rows: list[tuple[str, str, tuple[str, ...] | None]] = [
        ("OpenAI, Azure OpenAI", f"{openai.name}'s tokenizer ({openai.encoding})", _tiktoken_special(openai.encoding))]
    if is_open:
        rows.append(("TRL, Unsloth, AutoTrain", f"{active.name}'s tokenizer", special_tokens(active)))
    else:
        rows.append(("TRL, Unsloth, AutoTrain", "the base model's tokenizer: choose one in Model above", None))
    # Its info made here, not by model_info, which loads the whole tokenizer to vet it.
    hosted = catalog.ModelInfo(name=HOSTED_OPEN_BASE, encoding=open_tokenizers.PREFIX + HOSTED_OPEN_BASE,
                               limit=open_tokenizers.DEFAULT_MAX_SEQ_LENGTH, training=0.0, input=0.0, output=0.0)
    rows.append(("Together AI, Fireworks AI", "their default base model, Llama 3.1 8B Instruct (the Llama 3 tokenizer)", special_tokens(hosted)))
    rows.append(("Amazon Bedrock (Nova)", "the strings Nova reserves (AWS's own file validator)", tuple(RESERVED)))
    rows.append(("Google Vertex AI (Gemini)", "no published list of control strings", None))
    return rows


def scan(examples: list[Example], tokens: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """(the control strings found, the examples holding one) over every message's text."""
    return _Texts(examples, [tokens]).scan(tokens)


class _Texts:
    """Every message text of the examples (read and not left out), gathered once for the
    scans of several token lists.  On large data one RE2 pass over all of them for every
    list at once (:mod:`validators.checking.sieve`) picks the few texts that hold any of the
    strings, and only those are scanned with the exact Python patterns: the same matches
    as scanning every text, without four slow passes over 100 MB (Nova's ``User:`` has no
    literal start for ``re`` to skip ahead with)."""

    def __init__(self, examples: list[Example], lists: list[tuple[str, ...]],
                 given: tuple[list[str], list[Example], list[int]] | None = None) -> None:
        # Where each text comes from is worked out only for the few picked texts (:meth:`place`):
        # kept here is each example (read and not left out) and the position of its first text.
        # ``given``: those three, already gathered the same way (the personal-data scan's).
        if given is not None:
            self.texts, self._examples, self._firsts = given
        else:
            self.texts, self._examples, self._firsts = [], [], []
            texts, add_example, add_first = self.texts, self._examples.append, self._firsts.append
            for ex in examples:
                if ex.record is None or ex.dropped:
                    continue
                add_example(ex)
                add_first(len(texts))
                for msg in _messages(ex):
                    if type(msg) is dict and type(content := msg.get("content")) is str:
                        texts.append(content)  # the common message: message_texts(msg) without the call
                    elif isinstance(msg, dict):
                        texts += message_texts(msg)
        self._walked: dict[int, tuple[list[int], list[tuple[dict[str, Any], int]]]] = {}  # see place()
        self.owner = _Column(self, lambda w: w[0].index)  # example number of each text
        self.picked = range(len(self.texts))
        every = _sieve_pattern(lists)
        if every is not None and sum(map(len, self.texts)) >= sieve.MIN_CHARS:
            found = sieve.flags(self.texts, every)
            if found is not None:
                self.picked = np.flatnonzero(found).tolist()

    def same_message(self, i: int, j: int) -> bool:
        """Whether texts ``i`` and ``j`` come from one message (a message may hold several text parts)."""
        (ex_i, msg_i, pos_i), (ex_j, msg_j, pos_j) = self.place(i), self.place(j)
        return msg_i is msg_j and ex_i is ex_j and pos_i == pos_j

    def place(self, i: int) -> tuple[Example, dict[str, Any], int]:
        """The example, message and (0-based) message position of text ``i``: its example's
        messages are walked once, as they were gathered (the first text number of each
        message that has one), then looked up by bisection: an example of 100,000 messages
        full of control tokens costs one walk, not one per text."""
        k = bisect.bisect_right(self._firsts, i) - 1
        ex = self._examples[k]
        walked = self._walked.get(k)
        if walked is None:
            starts: list[int] = []
            where: list[tuple[dict[str, Any], int]] = []
            n = 0
            for pos, msg in enumerate(_messages(ex)):
                if isinstance(msg, dict) and (parts := len(message_texts(msg))):
                    starts.append(n)
                    where.append((msg, pos))
                    n += parts
            walked = self._walked[k] = (starts, where)
        starts, where = walked
        msg, pos = where[bisect.bisect_right(starts, i - self._firsts[k]) - 1]
        return ex, msg, pos

    def scan(self, tokens: tuple[str, ...]) -> tuple[list[str], list[int]]:
        pattern = _pattern(tokens)
        if pattern is None:
            return [], []
        found: set[str] = set()
        numbers: list[int] = []
        for i in self.picked:
            hits = {m.group(0) for m in pattern.finditer(self.texts[i])}
            if hits:
                found |= hits
                if not numbers or numbers[-1] != self.owner[i]:
                    numbers.append(self.owner[i])
        return sorted(found), numbers


def _sieve_pattern(lists: list[tuple[str, ...]]) -> str | None:
    """The RE2 pattern for any string of ``lists``; ``None`` when there is nothing to sieve for."""
    every = sorted({t for toks in lists for t in toks}, key=len, reverse=True)
    return "|".join(_re2_literal(t) for t in every) if every and all(every) else None


def sieve_pattern(active: Any) -> str | None:
    """The pattern :func:`gather` sieves the texts with for ``active``: for a shared pass
    (:func:`validators.checking.sieve.together`)."""
    return _sieve_pattern([tokens for _, _, tokens in target_sets(active) if tokens])


class _Column:
    """One field of each text's place, read on demand (``owner[i]``)."""

    def __init__(self, texts: _Texts, field: Callable[[tuple[Example, dict[str, Any], int]], Any]) -> None:
        self.texts, self.field = texts, field

    def __getitem__(self, i: int) -> Any:
        return self.field(self.texts.place(i))

    def __len__(self) -> int:
        return len(self.texts.texts)


def _re2_literal(text: str) -> str:
    """``text`` as an RE2 pattern that matches it literally."""
    return "".join(c if c.isalnum() or c == "_" else f"\\x{{{ord(c):x}}}" for c in text)


def gather(examples: list[Example], active: Any, given: tuple[list[str], list[Example], list[int]] | None = None) -> _Texts:
    """Every message text of ``examples``, sieved once for the control strings of every
    destination (the active model's among them): for :func:`check` and :func:`by_target`.
    ``given``: (the texts, the examples read and not left out, each one's first text's
    position), gathered exactly as here by another scan, to take instead of walking again."""
    return _Texts(examples, [tokens for _, _, tokens in target_sets(active) if tokens], given)


def by_target(examples: list[Example], active: Any, gathered: _Texts | None = None) -> list[dict[str, Any]]:
    """One row per destination: whose control strings, which were found, in how many
    examples; ``gathered`` as for :func:`check`."""
    rows = []
    sets = target_sets(active)
    texts = gathered if gathered is not None else _Texts(examples, [tokens for _, _, tokens in sets if tokens])
    for targets_, whose, tokens in sets:
        if tokens is None:
            rows.append({"targets": targets_, "control strings of": whose, "found": "", "examples": None})
            continue
        found, numbers = texts.scan(tokens)
        rows.append({"targets": targets_, "control strings of": whose, "found": ", ".join(found[:8]) + (" …" if len(found) > 8 else ""),
                     "examples": len(numbers), "example numbers": numbers[:50]})
    return rows

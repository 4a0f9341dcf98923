"""Exact token counts with tiktoken, following the OpenAI Cookbook's convention.

tokens(example) = Σ over messages of (3 + Σ tokens of each string value, +1 when the key is
``name``) + 3.  Where the Cookbook crashes we count what the model reads:

* list content: the ``text`` of each text part (image parts add no text tokens here);
* ``tool_calls`` / ``function_call``: the function name and the arguments text;
* ``weight`` and other non-text values add nothing.

* images (``image_url`` parts): OpenAI's published rule for the tile-based vision models
  that can be fine-tuned (gpt-4o, gpt-4.1), see :mod:`validators.counting.image_tokens`; an image at a
  web address in high or auto detail has no known size and is reported as not counted.

For preference (DPO) pairs we count the input messages plus both outputs.
An ``encoding`` starting with ``open:`` names an open base model: the example is counted
through that model's own tokenizer and chat template (:mod:`validators.counting.open_tokenizers`),
and ``assistant`` holds the tokens that carry the loss.
Each distinct string is encoded once (``encode_ordinary``: user text may contain
``<|endoftext|>``, which plain ``encode`` refuses).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import Example
from . import image_tokens, open_tokenizers, token_worker
from .bpe_files import get_encoding

PER_MESSAGE = 3
PER_EXAMPLE = 3
PER_NAME = 1


@dataclass
class TokenCounts:
    encoding: str
    total: np.ndarray  # per example (0 for unreadable/dropped)
    assistant: np.ndarray  # assistant-content tokens per example
    counted: np.ndarray  # bool: the example had a record and was counted
    images_uncounted: np.ndarray | None = None  # per example: images whose tokens are unknown
    problems: dict[int, str] = field(default_factory=dict)  # example number -> why the template refused it

    @property
    def is_open(self) -> bool:
        return self.encoding.startswith(open_tokenizers.PREFIX)


def _strings(msg: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(key, text, is_assistant_content) for every string the model reads in a message."""
    assistant = msg.get("role") == "assistant"
    for key, value in msg.items():
        if isinstance(value, str):
            yield key, value, assistant and key == "content"
        elif key == "content" and isinstance(value, list):
            for part in value:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield "text", part["text"], assistant
        elif key == "tool_calls" and isinstance(value, list):
            for call in value:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    yield from (("function." + k, fn[k], False) for k in ("name", "arguments") if isinstance(fn.get(k), str))
        elif key == "function_call" and isinstance(value, dict):
            yield from (("function." + k, value[k], False) for k in ("name", "arguments") if isinstance(value.get(k), str))


def _image_parts(ex: Example) -> int:
    """Images in an example (an open model's count leaves them out: each vision model has its own rule)."""
    if ex.record is None:
        return 0
    return sum(1 for m in _messages(ex) if isinstance(m, dict) and isinstance(m.get("content"), list)
               for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url")


def _messages(ex: Example) -> list[Any]:
    if ex.kind == "dpo" and isinstance(ex.record, dict):
        rest = [m for k in ("preferred_output", "non_preferred_output") for m in (ex.record.get(k) or []) if isinstance(ex.record.get(k), list)]
        inp = ex.record.get("input")
        msgs = inp.get("messages") if isinstance(inp, dict) and isinstance(inp.get("messages"), list) else []
        return list(msgs) + rest
    return ex.messages


def count(examples: list[Example], encoding: str, workers: bool = True) -> TokenCounts:
    """Count tokens of every example, in file order; ``workers=False`` encodes in this
    process (a forked child that is itself the second core's work)."""
    if encoding.startswith(open_tokenizers.PREFIX):
        oc = open_tokenizers.count(examples, encoding[len(open_tokenizers.PREFIX):])
        images = np.fromiter((_image_parts(ex) for ex in examples), dtype=np.int64, count=len(examples))
        return TokenCounts(encoding, oc.total, oc.trained, oc.counted, images, oc.problems)
    worker = _early_worker(examples, encoding) if workers else None
    g = _gather(examples)
    n = len(examples)
    lengths = np.asarray(_lengths(g.unique, encoding, worker, workers), dtype=np.int64)
    # Everything but this sum was worked out before the encoding ended (the texts' places in
    # ``unique`` among it): after it, only NumPy runs, so the tail on one core stays short.
    per_text = lengths[g.ids]
    total = g.overhead + np.bincount(g.owners, weights=per_text, minlength=n).astype(np.int64)
    assistant = np.bincount(g.owners[g.asst], weights=per_text[g.asst], minlength=n).astype(np.int64)
    return TokenCounts(encoding, total, assistant, g.counted, g.uncounted)


@dataclass
class _Gathered:
    """Every string the model reads, once each (``unique``), and where each occurrence
    belongs: ``ids[k]`` is occurrence k's place in ``unique``, ``owners[k]`` its example's
    position, ``asst[k]`` whether it is assistant content; plus each example's fixed
    overhead (per example, message and name, images of known size)."""

    unique: list[str]
    ids: np.ndarray
    owners: np.ndarray
    asst: np.ndarray
    overhead: np.ndarray
    counted: np.ndarray
    uncounted: np.ndarray


def _gather(examples: list[Example]) -> _Gathered:
    """The strings of every message, numbered by first appearance as they are met (a dict
    lookup each), so no lookup is left for after the encoding."""
    n = len(examples)
    overhead = np.zeros(n, dtype=np.int64)
    counted = np.zeros(n, dtype=bool)
    uncounted = np.zeros(n, dtype=np.int64)
    index: dict[str, int] = {}
    ids: list[int] = []
    owner: list[int] = []
    is_asst: list[bool] = []
    place, add_id = index.get, ids.append
    for pos, ex in enumerate(examples):
        if ex.record is None:
            continue
        counted[pos] = True
        extra = PER_EXAMPLE
        start = len(ids)
        for msg in _messages(ex):
            if type(msg) is dict and len(msg) == 2:
                role, content = msg.get("role"), msg.get("content")
                if type(role) is str and type(content) is str:
                    # the common {"role", "content"} message: its two strings, no generator
                    extra += PER_MESSAGE
                    i = place(role)
                    if i is None:
                        i = index[role] = len(index)
                    add_id(i)
                    i = place(content)
                    if i is None:
                        i = index[content] = len(index)
                    add_id(i)
                    is_asst += (False, role == "assistant")
                    continue
            if not isinstance(msg, dict):
                continue
            extra += PER_MESSAGE
            if isinstance(msg.get("content"), list):
                known, unknown = image_tokens.message_images(msg["content"])
                extra += known
                uncounted[pos] += unknown
            for key, text, asst in _strings(msg):
                if key == "name":
                    extra += PER_NAME
                i = place(text)
                if i is None:
                    i = index[text] = len(index)
                add_id(i)
                is_asst.append(asst)
        owner += [pos] * (len(ids) - start)
        overhead[pos] = extra
    return _Gathered(list(index), np.asarray(ids, dtype=np.intp), np.asarray(owner, dtype=np.intp), np.asarray(is_asst, dtype=bool),
                     overhead, counted, uncounted)


PARALLEL_MIN_CHARS = 30_000_000  # below this, starting a worker process costs more than it saves
PARALLEL_MIN_EXAMPLES = 20_000  # a cheap early guess, to start the worker before the texts are gathered


def _early_worker(examples: list[Example], encoding: str) -> token_worker.Worker | None:
    """Start the worker process at once when the data looks large enough to need it."""
    if (os.cpu_count() or 1) < 2 or len(examples) < PARALLEL_MIN_EXAMPLES:
        return None
    try:
        return token_worker.Worker(encoding)
    except token_worker.WorkerError:
        return None


def _lengths(unique: list[str], encoding: str, worker: token_worker.Worker | None = None, workers: bool = True) -> list[int]:
    """Token count of each string.

    Large inputs are encoded in a separate worker process (``python -m
    validators.counting.token_worker``) so the encoding runs on the second core while this process
    does the Python checks; threads could not, since their Python glue holds the GIL.
    Small inputs use a plain ``encode_ordinary`` loop (measured faster than
    ``encode_ordinary_batch``).  If the worker fails, we count here: same numbers, slower.
    """
    if workers and (os.cpu_count() or 1) > 1 and sum(map(len, unique)) >= PARALLEL_MIN_CHARS:
        try:
            return (worker or token_worker.Worker(encoding)).lengths(unique)
        except token_worker.WorkerError:
            pass
    elif worker is not None:
        worker.close()
    # Without workers (the forked child of a large check) two threads encode: when the other
    # process is done first, its core takes half of what is left.
    return joined_lengths(unique, encoding, threads=1 if workers else min(2, os.cpu_count() or 1))


SEPARATOR = "<|endoftext|>"  # a special token in every tiktoken encoding
JOIN_CHARS = 1_000_000  # characters encoded per call: few calls, a small token buffer


def joined_lengths(texts: list[str], encoding: str, threads: int = 1) -> list[int]:
    """``[len(encode_ordinary(t)) for t in texts]``, a batch of texts per call into tiktoken.

    The texts are joined with ``<|endoftext|>`` and encoded with that one special token
    allowed: tiktoken's Rust core splits the text at each allowed special token and runs its
    regex and BPE on each piece alone (``find_iter`` over the slice between two of them),
    so every text gets exactly the tokens it gets alone, and the counts are the gaps between
    the separators' ids.  One call per megabyte instead of one per text: the encoding thread
    takes the GIL a hundred times, not 200,000 (in a thread beside Python work it waited up
    to 5 ms for the GIL after every text), and no Python list of token ids is built.  A
    batch where a text holds the separator itself, or a lone surrogate, is encoded text by
    text (``encode_ordinary`` handles both).  ``threads`` > 1 encodes batches side by side
    (tiktoken runs without the GIL), for a caller that is itself a spare core's work."""
    enc = get_encoding(encoding)
    sep_id = enc._special_tokens.get(SEPARATOR)
    bounds = []
    start = 0
    while start < len(texts):
        stop, size = start + 1, len(texts[start])
        while stop < len(texts) and size < JOIN_CHARS:
            size += len(texts[stop])
            stop += 1
        bounds.append((start, stop))
        start = stop

    def counted(bound: tuple[int, int]) -> list[int]:
        batch = texts[bound[0] : bound[1]]
        counts = None if sep_id is None else _joined_batch(enc, batch, sep_id)
        return counts if counts is not None else [len(enc.encode_ordinary(t)) for t in batch]

    if threads > 1 and len(bounds) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(counted, bounds))
    else:
        parts = [counted(b) for b in bounds]
    return [n for part in parts for n in part]


def _joined_batch(enc: Any, batch: list[str], sep_id: int) -> list[int] | None:
    """Token counts of ``batch`` from one joined encoding, or ``None`` where it cannot be
    exact (a text holds the separator, or a lone surrogate that UTF-8 cannot carry)."""
    joined = SEPARATOR.join(batch)
    if joined.count(SEPARATOR) != len(batch) - 1:
        return None
    try:
        ids = np.frombuffer(enc._core_bpe.encode_to_tiktoken_buffer(joined, {SEPARATOR}), dtype=np.uint32)
    except (UnicodeEncodeError, ValueError):
        return None
    at = np.flatnonzero(ids == sep_id)
    if at.size != len(batch) - 1:
        return None
    return (np.diff(at, prepend=-1, append=ids.size) - 1).tolist()


def count_one(ex: Example, encoding: str) -> int:
    """Tokens of a single example (used when one example is edited or trimmed)."""
    return int(count([ex], encoding).total[0])


def stats(values: np.ndarray) -> dict[str, float]:
    """min / mean / p10 / p50 / p90 / max, as the Cookbook prints them."""
    if values.size == 0:
        return {k: 0 for k in ("min", "mean", "p10", "p50", "p90", "max")}
    return {
        "min": int(values.min()),
        "mean": float(values.mean()),
        "p10": float(np.quantile(values, 0.1)),
        "p50": float(np.quantile(values, 0.5)),
        "p90": float(np.quantile(values, 0.9)),
        "max": int(values.max()),
    }

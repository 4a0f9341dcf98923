"""Exact and near-duplicate examples.

Exact: every message of the conversation (role and text) after normalisation (NFKC,
collapsed whitespace, case-folded) is identical.  Near: MinHash signatures over word 5-gram shingles, banded
for locality-sensitive hashing with the (bands, rows) that datasketch's ``MinHashLSH``
picks for the threshold, so the search is sub-quadratic; candidate pairs are kept when
their estimated Jaccard similarity reaches the threshold (0.8 by default) and joined into
groups.  The signatures are computed in NumPy (validators/checking/minhash.py explains why).

Each group lists example numbers in file order; the first is the one to keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ..model import Example
from . import minhash
from .semantic import normalise, prompt_and_reply, text_of

SHINGLE_WORDS = 5
NUM_PERM = 128
DEFAULT_THRESHOLD = 0.8


@dataclass
class DuplicateGroups:
    exact: list[list[int]] = field(default_factory=list)  # example numbers, first = kept
    near: list[list[int]] = field(default_factory=list)
    similarity: dict[tuple[int, int], float] = field(default_factory=dict)  # (kept, other) → Jaccard

    def to_dict(self) -> dict[str, list[list[int]]]:
        return {"exact": self.exact, "near": self.near}

    def extra_examples(self) -> int:
        return sum(len(g) - 1 for g in self.exact + self.near)


def comparable_text(ex: Example, prompt_reply: tuple[str, str] | None = None) -> str:
    """The normalised text two examples are compared on: every message, role and text
    (and the rejected reply of a preference pair).

    When the conversation ends with the assistant's reply, the (prompt, reply) pair the
    semantic checks already normalised holds every message, so it is reused.  Otherwise
    (no assistant turn, or turns after the last reply) the whole conversation is
    normalised here: those examples used to compare equal on an empty reply.  A line break
    marks that form; normalised text never holds one, so the two forms cannot collide.
    """
    msgs = [m for m in ex.messages if isinstance(m, dict)]
    if msgs and msgs[-1].get("role") == "assistant":
        prompt, reply = prompt_reply if prompt_reply is not None else prompt_and_reply(ex)
        text = f"{prompt} || {reply}"
    else:
        text = normalise("\n".join(f"{m.get('role')}: {text_of(m.get('content'))}" for m in msgs)) + "\n(no final reply)"
    if ex.kind == "dpo" and isinstance(ex.record, dict) and isinstance(ex.record.get("non_preferred_output"), list):
        rejected = " ".join(text_of(m.get("content")) for m in ex.record["non_preferred_output"] if isinstance(m, dict))
        text += " || rejected: " + normalise(rejected)
    return text


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


Parts = str | tuple[str, str, str]  # a comparable text, or (prompt, reply, tail) meaning prompt + " || " + reply + tail


def comparable_parts(ex: Example, prompt_reply: tuple[str, str] | None = None) -> Parts:
    """:func:`comparable_text`, left in pieces when it would join the (prompt, reply) pair the
    semantic checks already hold: 100,000 joined copies are 120 MB held through the search."""
    msgs = ex.messages
    if prompt_reply is None or not msgs or not isinstance(msgs[-1], dict) or msgs[-1].get("role") != "assistant":
        return comparable_text(ex, prompt_reply)
    tail = ""
    if ex.kind == "dpo" and isinstance(ex.record, dict) and isinstance(ex.record.get("non_preferred_output"), list):
        rejected = " ".join(text_of(m.get("content")) for m in ex.record["non_preferred_output"] if isinstance(m, dict))
        tail = " || rejected: " + normalise(rejected)
    return (prompt_reply[0], prompt_reply[1], tail)


class Comparable(Sequence[str]):
    """The comparable texts of many examples, each joined only while it is read."""

    def __init__(self, parts: list[Parts]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [_joined(p) for p in self.parts[i]]
        return _joined(self.parts[i])

    def subset(self, positions: list[int]) -> Comparable:
        return Comparable([self.parts[i] for i in positions])

    def lengths(self) -> Iterator[int]:
        """The length of each text, without joining it."""
        return (len(p) if type(p) is str else len(p[0]) + 4 + len(p[1]) + len(p[2]) for p in self.parts)

    def nonempty(self, i: int) -> bool:
        p = self.parts[i]
        return type(p) is not str or bool(p)

    def digests(self) -> list[bytes]:
        """:func:`_digest` of each text (UTF-8 is the bytes of each piece end to end)."""
        return [_digest(p) if type(p) is str else _digest_parts(p) for p in self.parts]


def _joined(p: Parts) -> str:
    return p if type(p) is str else f"{p[0]} || {p[1]}{p[2]}"


def _digest_parts(p: tuple[str, str, str]) -> bytes:
    h = hashlib.blake2b(p[0].encode("utf-8", "surrogatepass"), digest_size=16)
    h.update(b" || ")
    h.update(p[1].encode("utf-8", "surrogatepass"))
    if p[2]:
        h.update(p[2].encode("utf-8", "surrogatepass"))
    return h.digest()


def exact_groups(examples: list[Example], texts: list[str] | None = None, keys: list[bytes] | None = None) -> list[list[int]]:
    texts = texts if texts is not None else [comparable_text(e) for e in examples]
    keys = keys if keys is not None else [_digest(t) for t in texts]
    seen: dict[bytes, list[int]] = {}
    for ex, key in zip(examples, keys):
        seen.setdefault(key, []).append(ex.index)
    return [g for g in seen.values() if len(g) > 1]


SignatureCache = dict[bytes, np.ndarray]


def signatures(texts: list[str], keys: list[bytes], cache: SignatureCache | None,
               progress: Callable[[float], None] | None = None, threads: int = 1) -> np.ndarray:
    """MinHash signatures of ``texts``; with a ``cache`` (text digest → signature, kept by
    the workspace) only texts not seen before are hashed, so after an edit the search
    costs one signature, not 100,000.  ``threads``: see :func:`minhash.all_signatures`."""
    if cache is None:
        return minhash.all_signatures(texts, NUM_PERM, SHINGLE_WORDS, progress, threads)
    todo: dict[bytes, str] = {}
    for key, text in zip(keys, texts):
        if key not in cache:
            todo.setdefault(key, text)
    if todo:
        cache.update(zip(todo, minhash.all_signatures(list(todo.values()), NUM_PERM, SHINGLE_WORDS, progress, threads)))
    if not keys:
        return np.empty((0, NUM_PERM), dtype=np.uint32)
    return np.stack([cache[k] for k in keys])


# datasketch cannot band 128 permutations for a threshold above this (it raises "b < 2").
# Banding for a lower threshold finds a superset of the candidates, and every candidate is
# then kept only if its estimated similarity reaches the real threshold, so nothing is lost.
BANDING_CAP = 0.95
# datasketch's own answers for the slider's steps (tests/test_duplicates.py checks them
# against datasketch): importing datasketch pulls in SciPy, 0.3 s of every CLI run.
KNOWN_PARAMS = {0.5: (25, 5), 0.55: (21, 6), 0.6: (18, 7), 0.65: (16, 8), 0.7: (14, 9), 0.75: (11, 11), 0.8: (9, 13),
                0.85: (8, 16), 0.9: (5, 25), 0.95: (3, 42)}


@cache
def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives, as datasketch chooses."""
    banded = round(min(threshold, BANDING_CAP), 6)
    if num_perm == NUM_PERM and banded in KNOWN_PARAMS:
        return KNOWN_PARAMS[banded]
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=banded, num_perm=num_perm)
    return lsh.b, lsh.r


def find(
    examples: list[Example],
    threshold: float = DEFAULT_THRESHOLD,
    near: bool = True,
    progress: Callable[[float], None] | None = None,
    prompt_replies: dict[int, tuple[str, str]] | None = None,
    cache: SignatureCache | None = None,
    threads: int = 1,
) -> DuplicateGroups:
    """Exact groups, then near groups among the examples left after exact de-duplication.

    ``prompt_replies`` (example number → normalised prompt and reply) saves normalising
    the text a second time when the semantic checks already did; ``cache`` keeps MinHash
    signatures between searches of the same workspace (see :func:`signatures`); ``threads``
    hash that many chunks of texts at once (for a caller whose other work is elsewhere).
    """
    live = [e for e in examples if e.record is not None and not e.dropped]
    pr = prompt_replies or {}
    texts = Comparable([comparable_parts(e, pr.get(e.index)) for e in live])
    keys = texts.digests()
    exact = exact_groups(live, texts, keys)  # type: ignore[arg-type]
    result = DuplicateGroups(exact=exact)
    if not near or len(live) < 2:
        return result
    repeats = {i for g in exact for i in g[1:]}
    keep = [i for i, e in enumerate(live) if e.index not in repeats and texts.nonempty(i)]
    if len(keep) < 2:
        return result
    bands, rows = lsh_params(threshold)
    kept_texts = texts.subset(keep)
    sig = signatures(kept_texts, [keys[i] for i in keep], cache, progress, threads)
    found, sims = minhash.near_duplicates(sig, threshold, bands, rows, progress, texts=kept_texts, k=SHINGLE_WORDS, threads=threads)
    index_of = [live[i].index for i in keep]
    result.near = sorted(sorted(index_of[p] for p in g) for g in found)
    result.similarity = {(index_of[a], index_of[b]): s for (a, b), s in sims.items()}
    return result

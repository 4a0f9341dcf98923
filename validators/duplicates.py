"""Exact and near-duplicate examples.

Exact: the whole conversation after normalisation (NFKC, collapsed whitespace,
case-folded) is identical.  Near: MinHash signatures over word 5-gram shingles, indexed
with locality-sensitive hashing (datasketch's ``MinHashLSH``), so the search is
sub-quadratic; candidate pairs are kept when their estimated Jaccard similarity reaches
the threshold (0.8 by default) and joined into groups.

Each group lists example numbers in file order; the first is the one to keep.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from .model import Example
from .semantic import normalise, text_of

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


def conversation_text(ex: Example) -> str:
    """Everything the model reads, role-tagged, as one string (for comparing examples)."""
    parts = []
    for m in ex.messages:
        if isinstance(m, dict):
            parts.append(f"{m.get('role')}: {text_of(m.get('content'))}")
    if ex.kind == "dpo" and isinstance(ex.record, dict):
        for m in ex.record.get("non_preferred_output") or []:
            if isinstance(m, dict):
                parts.append(f"rejected: {text_of(m.get('content'))}")
    return "\n".join(parts)


def exact_groups(examples: list[Example], texts: list[str] | None = None) -> list[list[int]]:
    texts = texts if texts is not None else [normalise(conversation_text(e)) for e in examples]
    seen: dict[bytes, list[int]] = {}
    for ex, text in zip(examples, texts):
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        seen.setdefault(key, []).append(ex.index)
    return [g for g in seen.values() if len(g) > 1]


def _hash32(data: bytes) -> int:
    return struct.unpack("<I", hashlib.blake2b(data, digest_size=4).digest())[0]


def shingles(text: str, n: int = SHINGLE_WORDS) -> list[bytes]:
    words = text.split()
    if len(words) <= n:
        return [" ".join(words).encode("utf-8", "surrogatepass")]
    return [" ".join(words[i : i + n]).encode("utf-8", "surrogatepass") for i in range(len(words) - n + 1)]


def find(
    examples: list[Example],
    threshold: float = DEFAULT_THRESHOLD,
    near: bool = True,
    progress: Callable[[float], None] | None = None,
) -> DuplicateGroups:
    """Exact groups, then near groups among the examples left after exact de-duplication."""
    live = [e for e in examples if e.record is not None and not e.dropped]
    texts = [normalise(conversation_text(e)) for e in live]
    exact = exact_groups(live, texts)
    result = DuplicateGroups(exact=exact)
    if not near or len(live) < 2:
        return result
    repeats = {i for g in exact for i in g[1:]}
    keep = [(e, t) for e, t in zip(live, texts) if e.index not in repeats and t]
    if len(keep) < 2:
        return result
    sigs = MinHash.bulk((shingles(t) for _, t in keep), num_perm=NUM_PERM, seed=1, hashfunc=_hash32)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    lean = [LeanMinHash(s) for s in sigs]
    for pos, m in enumerate(lean):
        lsh.insert(pos, m, check_duplication=False)
        if progress and pos % 5000 == 0:
            progress(pos / len(lean) / 2)
    parent = list(range(len(keep)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pos, m in enumerate(lean):
        for other in lsh.query(m):
            if other <= pos:
                continue
            sim = float(np.mean(m.hashvalues == lean[other].hashvalues))
            if sim >= threshold:
                a, b = root(pos), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                result.similarity[(keep[pos][0].index, keep[other][0].index)] = sim
        if progress and pos % 5000 == 0:
            progress(0.5 + pos / len(lean) / 2)
    groups: dict[int, list[int]] = {}
    for pos, (e, _) in enumerate(keep):
        groups.setdefault(root(pos), []).append(e.index)
    result.near = [sorted(g) for g in groups.values() if len(g) > 1]
    result.near.sort()
    return result

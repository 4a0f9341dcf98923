"""Near duplicates are near: whole-word hashes, exact confirmation, no chaining (issue 12, item 9).

The old word hash read only a word's first and last 8 bytes and its length, so 20 support
answers that differed only in the middle of an order URL were one group (true Jaccard
0.31) and ``--dedupe near`` kept 1 of 20; connected components chained a~b~c into one
group though a and c were far apart.  The reference here is plain Python: the exact
Jaccard similarity of word 5-gram sets.
"""

from __future__ import annotations

import random
import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validators.checking import duplicates, minhash
from validators.model import Example

K = duplicates.SHINGLE_WORDS


def shingles(text: str, k: int = K) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def ex(i: int, reply: str) -> Example:
    return Example(i, (i + 1,), {"messages": [{"role": "user", "content": "where is my order?"}, {"role": "assistant", "content": reply}]})


def order_url(rng: random.Random) -> str:
    return "https://shop.example.com/orders/" + "".join(rng.choices(string.digits, k=12)) + "/track?lang=en"


def test_answers_differing_only_in_an_order_url_are_not_grouped() -> None:
    rng = random.Random(4)
    replies = [f"Your parcel is on its way: follow it at {order_url(rng)} and write to us if it is late"
               for _ in range(20)]
    texts = [duplicates.comparable_text(ex(i, r)) for i, r in enumerate(replies, 1)]
    assert max(jaccard(a, b) for a in texts for b in texts if a != b) < duplicates.DEFAULT_THRESHOLD
    found = duplicates.find([ex(i, r) for i, r in enumerate(replies, 1)])
    assert found.near == []


def test_same_length_words_differing_in_the_middle_hash_apart() -> None:
    rng = random.Random(1)
    words = ["id-" + "".join(rng.choices("ab", k=24)) + "-end" for _ in range(3000)]
    words = list(dict.fromkeys(words))
    doc, hashes = minhash.shingle_hashes([" ".join(words)], k=1)
    assert np.unique(hashes).size == len(words)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text("ab", min_size=0, max_size=40), min_size=2, max_size=60), st.sampled_from(["", "prefix-", "https://x.example/"]),
       st.sampled_from(["", "-suffix", "/track"]))
def test_word_hashes_equal_exactly_when_words_are_equal(cores: list[str], prefix: str, suffix: str) -> None:
    """Shared prefixes and suffixes, equal lengths, long words (over 64 bytes, the BLAKE2b path)."""
    words = [prefix + c + suffix + ("z" * 70 if len(c) % 7 == 0 else "") for c in cores]
    words = [w for w in words if w]
    doc, hashes = minhash.shingle_hashes([" ".join(words)], k=1)
    by_word: dict[str, int] = {}
    for w, h in zip(words, hashes.tolist()):
        assert by_word.setdefault(w, h) == h
    assert len(set(by_word.values())) == len(by_word)


VOCAB = ["order", "orders", "0rder", "https://shop.example.com/orders/111111/track", "https://shop.example.com/orders/222222/track",
         "refund", "refunds", "parcel", "pa-cel", "id-aaaaaaaaaa-end", "id-aaaaabaaaa-end", "id-baaaaaaaaa-end", "the", "a"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.lists(st.sampled_from(VOCAB), min_size=3, max_size=30),
       edits=st.lists(st.lists(st.tuples(st.integers(0, 29), st.sampled_from(VOCAB)), max_size=6), min_size=1, max_size=12),
       threshold=st.sampled_from([0.5, 0.7, 0.8, 0.9]))
def test_groups_agree_with_exact_jaccard(base: list[str], edits: list[list[tuple[int, str]]], threshold: float) -> None:
    """Every member is within the threshold of its group's first text, with the exact
    similarity reported; groups are disjoint; texts under 5 words are in no near group."""
    texts = []
    for e in edits:
        words = list(base)
        for at, word in e:
            words[at % len(words)] = word
        texts.append(" ".join(words))
    texts = list(dict.fromkeys(texts))  # exact repeats are the exact search's business
    if len(texts) < 2:
        return
    sig = minhash.all_signatures(texts)
    found, sims = minhash.near_duplicates(sig, threshold, *duplicates.lsh_params(threshold), texts=texts)
    seen: set[int] = set()
    for group in found:
        rep = group[0]
        assert not seen & set(group)
        seen |= set(group)
        for member in group[1:]:
            true = jaccard(texts[rep], texts[member])
            assert true >= threshold and abs(sims[(rep, member)] - true) < 1e-9
    assert all(len(texts[i].split()) >= K for i in seen)


def test_no_chaining_through_a_middle_text() -> None:
    """a~b and b~c reach the threshold, a~c does not: c is not reported as a's duplicate."""
    rng = random.Random(5)
    words = [f"w{rng.randrange(10**6)}" for _ in range(200)]
    a = list(words)
    b = list(words)
    b[100:110] = [f"b{i}" for i in range(10)]
    c = list(b)
    c[20:30] = [f"c{i}" for i in range(10)]
    c[170:180] = [f"d{i}" for i in range(10)]
    texts = [" ".join(a), " ".join(b), " ".join(c)]
    assert jaccard(texts[0], texts[1]) >= 0.8 and jaccard(texts[1], texts[2]) >= 0.7 and jaccard(texts[0], texts[2]) < 0.7
    sig = minhash.all_signatures(texts)
    found, sims = minhash.near_duplicates(sig, 0.7, *duplicates.lsh_params(0.7), texts=texts)
    assert found == [[0, 1]]
    assert abs(sims[(0, 1)] - jaccard(texts[0], texts[1])) < 1e-9


def test_many_short_texts_never_collide() -> None:
    """Texts under 5 words had one shingle each and collided at scale; now they are never
    near duplicates (identical ones are exact duplicates)."""
    replies = [f"ok {i}" for i in range(20000)] + ["thanks a lot"] * 2
    found = duplicates.find([ex(i, r) for i, r in enumerate(replies, 1)])
    assert found.near == [] and found.exact == [[20001, 20002]]


def test_near_copies_are_still_found() -> None:
    rng = random.Random(9)
    bases = [" ".join(f"w{rng.randrange(10**6)}" for _ in range(120)) for _ in range(50)]
    copies = []
    for t in bases[:25]:
        words = t.split()
        words[rng.randrange(120)] = "changed"
        copies.append(" ".join(words))
    exs = [ex(i, t) for i, t in enumerate(bases + copies, 1)]
    found = duplicates.find(exs)
    assert sorted(found.near) == [[i, 50 + i] for i in range(1, 26)]

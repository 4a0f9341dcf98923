"""Exact and near duplicates: normalisation, MinHash accuracy, sub-quadratic candidates."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from validators.checking import duplicates, minhash
from validators.model import Example

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["tent", "stove", "boots", "jacket", "order", "parcel", "refund", "zip", "strap", "torch", "battery", "fuel", "map", "trail", "river", "camp", "night", "rain", "wind", "sun"]


def ex(i, user, reply):
    return Example(i, (i + 1,), {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]})


def text(rng, n):
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 9)) for _ in range(n))


def test_exact_after_nfkc_case_and_whitespace():
    a = ex(1, "Ｈｅｌｌｏ   World", "Fine,\tthanks")
    b = ex(2, "hello world", "fine, thanks")
    c = ex(3, "hello world", "fine thanks")
    groups = duplicates.find([a, b, c], near=False)
    assert groups.exact == [[1, 2]]


def test_near_groups_keep_first_and_skip_exact_repeats():
    rng = random.Random(1)
    base = text(rng, 120)
    words = base.split()
    words[60] = "changed"
    near = " ".join(words)
    examples = [ex(1, "q", base), ex(2, "q", base), ex(3, "q", near), ex(4, "q", text(rng, 120))]
    groups = duplicates.find(examples)
    assert groups.exact == [[1, 2]]
    assert groups.near == [[1, 3]]
    assert groups.similarity[(1, 3)] >= 0.8


def jaccard(a: str, b: str, k: int = 5) -> float:
    def sh(t):
        w = t.split()
        return {tuple(w[i : i + k]) for i in range(max(1, len(w) - k + 1))}

    x, y = sh(a), sh(b)
    return len(x & y) / len(x | y)


def test_minhash_estimates_track_true_jaccard():
    rng = random.Random(7)
    pairs = []
    for _ in range(200):
        words = text(rng, rng.randint(40, 300)).split()
        other = list(words)
        for _ in range(rng.randint(0, len(words) // 8)):
            other[rng.randrange(len(other))] = "x" + str(rng.random())
        pairs.append((" ".join(words), " ".join(other)))
    texts = [t for p in pairs for t in p]
    doc, h = minhash.shingle_hashes(texts)
    sig = minhash.signatures(doc, h, len(texts))
    a = np.arange(0, len(texts), 2)
    est = minhash.similarity(sig, a, a + 1)
    true = np.array([jaccard(x, y) for x, y in pairs])
    assert np.abs(est - true).mean() < 0.05
    assert np.abs(est - true).max() < 0.25


def test_candidate_pairs_stay_linear_for_one_huge_bucket():
    sig = np.zeros((5000, 128), dtype=np.uint32)  # every document identical
    a, b = minhash.candidate_pairs(sig, *duplicates.lsh_params(0.8))
    assert len(a) < 2 * 5000
    assert minhash.groups(5000, a, b) == [list(range(5000))]


def test_groups_are_the_same_in_another_process_with_another_hash_seed():
    code = (
        f"import random,sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.test_duplicates import ex, text\n"
        "from validators.checking import duplicates\n"
        "rng = random.Random(3); base = [text(rng, 80) for _ in range(30)]\n"
        "exs = [ex(i + 1, 'q', base[i % 20] + (' extra' if i >= 20 else '')) for i in range(30)]\n"
        "print(duplicates.find(exs).near)"
    )
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin"}).stdout for seed in ("1", "2")}
    assert len(outs) == 1 and "[1, 21]" in outs.pop()


def test_known_lsh_params_are_datasketchs_own() -> None:
    from datasketch import MinHashLSH

    for threshold, params in duplicates.KNOWN_PARAMS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=duplicates.NUM_PERM)
        assert (lsh.b, lsh.r) == params, threshold
    assert duplicates.lsh_params(0.72) == (lambda x: (x.b, x.r))(MinHashLSH(threshold=0.72, num_perm=duplicates.NUM_PERM))


def test_threshold_one_finds_only_identical_shingles() -> None:
    """datasketch cannot band at 1.0; we band at 0.95 and keep only pairs at 1.0."""
    same = "please reset the password for my account on the website today"
    exs = [ex(1, "q one two three four five", same), ex(2, "q one two three four five", same + "!"),
           ex(3, "q one two three four five six", same)] + [ex(i, f"other question {i} here and there", f"answer {i} is long enough to matter") for i in range(4, 30)]
    groups = duplicates.find(exs, threshold=1.0)
    assert not any(3 in g for g in groups.near)
    assert all(duplicates.find(exs, threshold=t) is not None for t in (0.96, 0.99, 1.0))


def test_signature_cache_gives_the_same_groups_and_hashes_only_new_texts(monkeypatch) -> None:
    base = "please reset the password for my account on the website today because it expired"
    exs = [ex(i, f"question {i} about the {i % 7} thing", base + (" really" if i % 3 == 0 else "")) for i in range(1, 60)]
    cache: duplicates.SignatureCache = {}
    first = duplicates.find(exs, cache=cache)
    assert (first.exact, first.near) == (duplicates.find(exs).exact, duplicates.find(exs).near)
    size = len(cache)
    hashed: list[int] = []
    real = minhash.all_signatures
    monkeypatch.setattr(minhash, "all_signatures", lambda texts, *a, **k: (hashed.append(len(texts)), real(texts, *a, **k))[1])
    edited = exs[:10] + [ex(11, "a brand new question about shipping to Norway", "yes we ship there in five days")] + exs[11:]
    again = duplicates.find(edited, cache=cache)
    assert hashed == [1] and len(cache) == size + 1  # only the edited text was hashed
    monkeypatch.setattr(minhash, "all_signatures", real)
    fresh = duplicates.find(edited)
    assert (again.exact, again.near, again.similarity) == (fresh.exact, fresh.near, fresh.similarity)


def conv(i, *turns):
    return Example(i, (i + 1,), {"messages": [{"role": r, "content": t} for r, t in turns]})


def test_conversations_without_a_reply_are_compared_on_every_message():
    """Issue 9: dialogues with no assistant turn were all one 'exact duplicate' group."""
    a = conv(1, ("user", "My parcel never came"), ("user", "Order 123"))
    b = conv(2, ("user", "How do I return boots?"))
    c = conv(3, ("user", "my parcel  never came"), ("user", "ORDER 123"))
    d = conv(4, ("system", "My parcel never came"), ("user", "Order 123"))  # same text, other role
    groups = duplicates.find([a, b, c, d], near=True)
    assert groups.exact == [[1, 3]]
    assert all(2 not in g for g in groups.near)  # a different question is not even near


def test_turns_after_the_last_reply_count():
    base = [("user", "hi there friend"), ("assistant", "hello, how can I help")]
    a = conv(1, *base, ("user", "where is my tent order"))
    b = conv(2, *base, ("user", "cancel my stove order please"))
    c = conv(3, *base)
    assert duplicates.find([a, b, c], near=False).exact == []
    assert duplicates.find([a, conv(4, *base, ("user", "Where is my  tent order"))], near=False).exact == [[1, 4]]


def test_a_reply_that_looks_like_the_marker_is_not_a_missing_reply():
    a = conv(1, ("user", "hi"))
    b = conv(2, ("user", "hi"), ("assistant", "(no final reply)"))
    assert duplicates.find([a, b], near=False).exact == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), st.text(max_size=12)), min_size=1, max_size=4),
       st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), st.text(max_size=12)), min_size=1, max_size=4))
def test_exact_duplicate_iff_every_normalised_message_matches(left, right):
    from validators.checking.semantic import normalise

    same = [(r, normalise(t)) for r, t in left] == [(r, normalise(t)) for r, t in right]
    found = duplicates.find([conv(1, *left), conv(2, *right)], near=False).exact == [[1, 2]]
    if same:
        assert found
    if found:
        # equal after joining: only possible when the messages match (up to whitespace moving between them)
        assert [r for r, _ in left] == [r for r, _ in right]

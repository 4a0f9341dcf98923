"""Vectorised MinHash signatures and LSH banding over word shingles, in NumPy, with every
candidate pair confirmed by its exact Jaccard similarity.

Why not datasketch's ``MinHash.bulk``?  It hashes every shingle in Python and applies 128
permutations per document: about 4k documents/s here, so 100k examples took ~25 s.  This
module does the same job for all documents at once:

* every byte of every word is hashed, over the UTF-8 bytes of a whole chunk of documents
  at once: 8-byte blocks chained through the splitmix64 finaliser, one NumPy pass per
  block position (words over 64 bytes, rare, by BLAKE2b).  Two different words share a
  hash with probability 2^-64; URLs or ids of the same length that differ only in the
  middle no longer collide, as they did when only the first and last 8 bytes counted;
* word 5-gram shingles are combined from the word hashes; a text of fewer than 5 words
  has no shingle at all: its only near duplicate would be the very same words, which the
  exact search already groups;
* signatures use one-permutation hashing (Li, Owen & Zhang 2012) with rotation
  densification (Shrivastava & Li 2014): each shingle is hashed once and lands in one of
  ``num_perm`` bins; a bin keeps its minimum; empty bins borrow from the next non-empty
  one.  The fraction of equal bins estimates Jaccard similarity like classic MinHash;
* LSH bands use datasketch's choice of (bands, rows) for the threshold, and candidate
  pairs are the documents sharing a band bucket, so the search stays sub-quadratic;
* a candidate counts only if the exact Jaccard similarity of the two shingle sets reaches
  the threshold (:func:`exact_jaccard`, vectorised), and groups are built around a
  representative, the first text of the group in file order, that every other member is
  within the threshold of: no chaining of a~b~c into a group where a and c differ.

All hashing is seedless and deterministic: the same data gives the same groups in the
CLI and in the browser, on every machine.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

P = np.uint64(0x100000001B3)
Q = np.uint64(0x9E3779B97F4A7C15)
U64 = np.uint64
CHUNK_BYTES = 500_000  # per pass: its arrays stay in a 4 MB L2 cache (2 MB chunks took 1.4x the CPU; 4 MB held ~45 MB more)
WORD_BLOCKS = 8  # words up to 64 bytes are hashed in NumPy; longer ones (rare) by BLAKE2b
_BYTE_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=U64)  # the first n bytes of a little-endian block


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of a polynomial hash."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> U64(30))
        x = x * U64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> U64(27))
        x = x * U64(0x94D049BB133111EB)
        return x ^ (x >> U64(31))


def _chunks(texts: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """(offset, texts) pieces of about CHUNK_BYTES; ``texts`` may be a sequence that joins
    each text as it is read (duplicates.Comparable): its ``lengths`` spare the joining."""
    lengths = texts.lengths() if hasattr(texts, "lengths") else map(len, texts)
    start, size = 0, 0
    for i, n in enumerate(lengths):
        size += n + 1
        if size >= CHUNK_BYTES:
            yield start, texts[start : i + 1]
            start, size = i + 1, 0
    if start < len(texts):
        yield start, texts[start:]


def shingle_hashes(texts: list[str], k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(doc id per shingle, 64-bit shingle hash) for word k-grams of each text.

    Texts must be normalised (single spaces, no newlines).  A text of fewer than ``k``
    words yields none (see the module's docstring).
    """
    docs_out, hashes_out = [], []
    for offset, chunk in _chunks(texts):
        d, h = _chunk_shingles(chunk, k)
        docs_out.append(d + offset)
        hashes_out.append(h)
    if not docs_out:
        return np.empty(0, np.int64), np.empty(0, U64)
    return np.concatenate(docs_out), np.concatenate(hashes_out)


def _word_hashes(arr: np.ndarray, starts: np.ndarray, length: np.ndarray) -> np.ndarray:
    """64-bit hash of each word ``arr[starts[i]:starts[i] + length[i]]`` over all of its bytes.

    The state starts from the word's length and absorbs one 8-byte block per step (the
    last block masked to the word's end), each block and each step mixed by splitmix64;
    the loop runs over block positions, not words, so it is WORD_BLOCKS NumPy passes,
    each done in place (:func:`_mix_into`).
    """
    h = length.astype(U64)
    h *= Q
    padded = np.concatenate((arr, np.zeros(8, np.uint8)))
    # The little-endian 8 bytes starting at every byte offset, as one uint64 view (stride 1
    # byte): a block is then one gather, about 3 times faster than gathering 8 bytes each.
    windows = np.ndarray(shape=(padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
    blocks = (length + 7) >> 3
    spare = np.empty_like(h)
    for j in range(min(int(blocks.max(initial=0)), WORD_BLOCKS)):
        if j == 0:  # every word: no index arrays, and the gathers stay sequential
            block = windows[starts]
            block &= _BYTE_MASKS[np.minimum(length, 8)]
            block += P
            h ^= _mix_into(block, spare)
            _mix_into(h, spare)
            continue
        active = np.flatnonzero(blocks > j)  # in text order
        block = windows[starts[active] + 8 * j]
        block &= _BYTE_MASKS[np.minimum(length[active] - 8 * j, 8)]
        with np.errstate(over="ignore"):
            block += U64(j + 1) * P
        part = h[active]
        part ^= _mix_into(block)
        h[active] = _mix_into(part)
    long_words = np.flatnonzero(blocks > WORD_BLOCKS)
    if long_words.size:
        data = arr.tobytes()
        h[long_words] = np.array(
            [int.from_bytes(hashlib.blake2b(data[s : s + n], digest_size=8).digest(), "little")
             for s, n in zip(starts[long_words].tolist(), length[long_words].tolist())],
            dtype=U64,
        )
    return h


_C1, _C2 = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB)
_S30, _S27, _S31 = U64(30), U64(27), U64(31)


def _mix_into(x: np.ndarray, spare: np.ndarray | None = None) -> np.ndarray:
    """:func:`_mix` of ``x`` written over ``x`` (which the caller owns), with ``spare`` (an
    array of ``x``'s size, or ``None``) for the shifted copies: no new array per step, so
    the passes stay in the cache instead of allocating and faulting in fresh pages."""
    t = np.right_shift(x, _S30, out=spare)
    x ^= t
    x *= _C1  # uint64 multiplication wraps modulo 2**64 without a warning
    np.right_shift(x, _S27, out=t)
    x ^= t
    x *= _C2
    np.right_shift(x, _S31, out=t)
    x ^= t
    return x


def _chunk_shingles(chunk: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    # "\n" separates documents, so a newline inside a document becomes a space (a word break).
    blob = ("\n".join(t.replace("\n", " ") for t in chunk) + "\n").encode("utf-8", "surrogatepass")
    arr = np.frombuffer(blob, dtype=np.uint8)
    # Words are the non-empty gaps between separators (the blob ends with one); the document
    # of a word is the number of newlines among the separators before its end.
    seps = np.flatnonzero((arr == 32) | (arr == 10))
    after_prev = np.empty_like(seps)
    after_prev[0] = 0
    after_prev[1:] = seps[:-1] + 1
    length = seps - after_prev
    is_word = length > 0
    newline = arr[seps] == 10
    doc = (np.cumsum(newline) - newline)[is_word]
    words = _word_hashes(arr, after_prev[is_word], length[is_word])
    if words.size < k:
        return np.empty(0, np.int64), np.empty(0, U64)
    m = words.size - k + 1
    valid = doc[:m] == doc[k - 1 :]
    acc = np.zeros(m, dtype=U64)
    for j in range(k):
        acc *= Q
        acc += words[j : m + j]
    return doc[:m][valid].astype(np.int64), _mix_into(acc[valid])


def signatures(doc: np.ndarray, hashes: np.ndarray, n_docs: int, num_perm: int = 128) -> np.ndarray:
    """One-permutation MinHash signatures, densified: shape (n_docs, num_perm), uint32."""
    bits = num_perm.bit_length() - 1
    if 1 << bits != num_perm:
        raise ValueError("num_perm must be a power of two")
    empty = np.uint64(2**64 - 1)
    sig = np.full(n_docs * num_perm, empty, dtype=U64)
    bins = (hashes >> U64(64 - bits)).astype(np.int64)
    vals = hashes & U64((1 << (64 - bits)) - 1)
    np.minimum.at(sig, doc * num_perm + bins, vals)
    sig = sig.reshape(n_docs, num_perm)
    return _densify(sig, empty, num_perm)


def _densify(sig: np.ndarray, empty: np.uint64, num_perm: int) -> np.ndarray:
    out = (sig >> U64(16)).astype(np.uint32)  # keep high bits of the bin minimum
    missing = sig == empty
    rows = np.flatnonzero(missing.any(axis=1) & ~missing.all(axis=1))
    # Column numbers fit in one byte (2 * 128 columns, the last one standing in for "none
    # here"): an eighth of the memory traffic of int64, and these passes over rows x 256
    # are most of the signature time for short texts.  The stand-in is safe: a row here has
    # a filled bin, so every column j < num_perm finds one by j + num_perm - 1 <= 254.
    dtype = np.uint8 if 2 * num_perm <= 256 else np.int16 if 2 * num_perm <= np.iinfo(np.int16).max else np.int64
    none = dtype(min(2 * num_perm, np.iinfo(dtype).max))
    cols = np.arange(2 * num_perm, dtype=dtype)
    for start in range(0, rows.size, 20000):
        r = rows[start : start + 20000]
        mr = missing[r]
        idx = np.where(np.concatenate([mr, mr], axis=1), none, cols[None, :])
        nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, :num_perm]
        src = (nxt % num_perm).astype(np.intp)
        dist = (nxt - cols[None, :num_perm]).astype(np.uint32)
        o = out[r]
        filled = np.take_along_axis(o, src, axis=1) ^ (dist * np.uint32(0x9E3779B1))
        out[r] = np.where(mr, filled, o)
    out[missing.all(axis=1)] = 0
    return out


def all_signatures(texts: Sequence[str], num_perm: int = 128, k: int = 5, progress: Callable[[float], None] | None = None,
                   threads: int = 1) -> np.ndarray:
    """Signatures of every text, computed chunk by chunk so only a chunk's shingles are
    ever in memory (100k examples have ~20M shingles: 320 MB if held at once).  ``threads``
    > 1 hashes that many chunks side by side (NumPy runs without the GIL; each chunk writes
    its own rows), at most one more chunk in hand than threads."""
    sig = np.empty((len(texts), num_perm), dtype=np.uint32)

    def one(offset: int, chunk: list[str]) -> int:
        doc, hashes = _chunk_shingles(chunk, k)
        sig[offset : offset + len(chunk)] = signatures(doc, hashes, len(chunk), num_perm)
        return offset + len(chunk)

    def done(end: int) -> None:
        if progress:
            progress(0.8 * end / len(texts))

    if threads <= 1:
        for offset, chunk in _chunks(texts):
            done(one(offset, chunk))
        return sig
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque[Future[int]] = deque()
        for offset, chunk in _chunks(texts):
            pending.append(pool.submit(one, offset, chunk))
            if len(pending) > threads:
                done(pending.popleft().result())
        while pending:
            done(pending.popleft().result())
    return sig


def similarity(sig: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of document pairs (a[i], b[i])."""
    out = np.empty(a.size, dtype=np.float64)
    for s in range(0, a.size, 50000):
        out[s : s + 50000] = (sig[a[s : s + 50000]] == sig[b[s : s + 50000]]).mean(axis=1)
    return out


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of documents that share at least one LSH band bucket (see :func:`pairs_from_keys`)."""
    return pairs_from_keys(band_keys(sig, bands, rows))


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Each signature's key in each LSH band, one column per band (kept by the duplicate memo)."""
    out = np.empty((sig.shape[0], bands), dtype=U64)
    for band in range(bands):
        part = sig[:, band * rows : (band + 1) * rows].astype(U64)
        with np.errstate(over="ignore"):
            key = np.zeros(sig.shape[0], dtype=U64)
            for j in range(rows):
                key = key * Q + part[:, j]
        out[:, band] = key
    return out


def pairs_from_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows that share a key in at least one band (a column of ``keys``).

    Within a bucket every member is paired with the bucket's first member and with its
    neighbour, so a bucket of m documents gives at most 2m pairs, never m².
    """
    firsts, seconds = [], []
    for band in range(keys.shape[1]):
        key = keys[:, band]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        same = sk[1:] == sk[:-1]
        if not same.any():
            continue
        bucket_pairs(order, same, firsts, seconds)
    return unique_pairs(firsts, seconds)


def bucket_pairs(order: np.ndarray, same: np.ndarray, firsts: list[np.ndarray], seconds: list[np.ndarray]) -> None:
    """Add one band's pairs to ``firsts`` / ``seconds``: ``order`` lists rows by their key, ``same``
    says where a key equals the one before; each member of a bucket is paired with the bucket's
    first member and with its neighbour."""
    run_start = np.concatenate(([0], np.flatnonzero(~same) + 1))
    run_id = np.cumsum(np.concatenate(([0], ~same)))
    head = order[run_start[run_id]]
    pos = np.flatnonzero(np.concatenate(([False], same)))
    firsts += [head[pos], order[pos - 1]]
    seconds += [order[pos], order[pos]]


def unique_pairs(firsts: list[np.ndarray], seconds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs (lower row, higher row) of every band, sorted; a row with itself dropped."""
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    pairs = np.unique(np.stack([lo[keep], hi[keep]], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def groups(n: int, a: np.ndarray, b: np.ndarray) -> list[list[int]]:
    """Connected components (size > 1) of the graph with edges (a[i], b[i])."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = root(x), root(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    comps: dict[int, list[int]] = {}
    for i in sorted({int(v) for v in a.tolist()} | {int(v) for v in b.tolist()}):
        comps.setdefault(root(i), []).append(i)
    return [c for c in comps.values() if len(c) > 1]


def exact_jaccard(texts: list[str], a: np.ndarray, b: np.ndarray, k: int = 5, batch: int = 4000, threads: int = 1) -> np.ndarray:
    """Exact Jaccard similarity of the word k-shingle sets of ``texts[a[i]]`` and ``texts[b[i]]``.

    Vectorised per batch of pairs: the shingles of the batch's texts are hashed (64-bit,
    so equal hashes mean equal shingles but for a 2^-64 chance), made unique per text and
    sorted; each shingle of the smaller text of a pair is looked up among the other's by
    binary search.  Cost: the shingles of the texts in candidate pairs, not per-pair Python.
    """
    out = np.zeros(a.size, dtype=np.float64)

    def one(s: int) -> None:
        out[s : s + batch] = _jaccard_batch(texts, a[s : s + batch], b[s : s + batch], k)

    starts = range(0, a.size, batch)
    if threads > 1 and len(starts) > 1:  # batches side by side, each writing its own part
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, starts))
    else:
        for s in starts:
            one(s)
    return out


def _jaccard_batch(texts: list[str], a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    docs = np.unique(np.concatenate((a, b)))
    doc, h = shingle_hashes([texts[i] for i in docs.tolist()], k)
    order = np.lexsort((h, doc))
    doc, h = doc[order], h[order]
    first = np.ones(doc.size, dtype=bool)
    first[1:] = (doc[1:] != doc[:-1]) | (h[1:] != h[:-1])
    doc, h = doc[first], h[first]  # unique shingles per text, sorted by (text, hash)
    _, hid = np.unique(h, return_inverse=True)
    keys = (doc.astype(np.int64) << 32) | hid.astype(np.int64)  # sorted, as (doc, hash) were
    counts = np.bincount(doc, minlength=docs.size)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    la, lb = np.searchsorted(docs, a), np.searchsorted(docs, b)
    small = np.where(counts[la] <= counts[lb], la, lb)
    other = np.where(counts[la] <= counts[lb], lb, la)
    n_small = counts[small]
    pair = np.repeat(np.arange(a.size), n_small)
    within = np.arange(pair.size) - np.repeat(np.cumsum(n_small) - n_small, n_small)  # position in its text's run
    query = (other[pair].astype(np.int64) << 32) | hid[offsets[small][pair] + within].astype(np.int64)
    at = np.minimum(np.searchsorted(keys, query), max(keys.size - 1, 0))
    found = keys[at] == query if keys.size else np.zeros(0, dtype=bool)
    inter = np.bincount(pair, weights=found, minlength=a.size)
    union = counts[la] + counts[lb] - inter
    return np.divide(inter, union, out=np.zeros(a.size), where=union > 0)


def near_duplicates(
    sig: np.ndarray, threshold: float, bands: int, rows: int, progress: Callable[[float], None] | None = None,
    texts: list[str] | None = None, k: int = 5, threads: int = 1,
) -> tuple[list[list[int]], dict[tuple[int, int], float]]:
    """Groups of rows of ``sig`` (one MinHash signature per text, see :func:`all_signatures`)
    whose Jaccard similarity to the group's first member reaches ``threshold``.

    With ``texts`` (the texts the signatures were made from) every candidate pair is
    confirmed by :func:`exact_jaccard` and the reported similarities are exact; without
    them, the signature estimate decides.  Texts without shingles (under ``k`` words) have
    an all-zero signature and are never candidates.  ``threads``: batches of pairs confirmed
    side by side.
    """
    live = np.flatnonzero(sig.any(axis=1))
    if live.size == sig.shape[0]:  # the usual case: no copy of all the signatures
        a, b = candidate_pairs(sig, bands, rows)
    else:
        a, b = candidate_pairs(sig[live], bands, rows)
        a, b = live[a], live[b]
    sims = similarity(sig, a, b) if texts is None else exact_jaccard(texts, a, b, k, threads=threads)
    ok = sims >= threshold
    a, b, sims = a[ok], b[ok], sims[ok]
    found, kept = representative_groups(a, b, sims)
    if texts is not None:
        _rescue(texts, a, b, found, kept, threshold, k)
    if progress:
        progress(1.0)
    groups_out: dict[int, list[int]] = {}
    for member, rep in found.items():
        groups_out.setdefault(rep, [rep]).append(member)
    return sorted(sorted(g) for g in groups_out.values()), {(found[m], m): kept[(found[m], m)] for m in found}


def representative_groups(a: np.ndarray, b: np.ndarray, sims: np.ndarray) -> tuple[dict[int, int], dict[tuple[int, int], float]]:
    """Greedy groups from confirmed pairs (a < b), in file order: a text that is not yet in
    a group becomes a representative and takes every ungrouped text it is near; a text
    joins at most one group.  Returns member → representative and their similarities."""
    order = np.lexsort((b, a))
    rep_of: dict[int, int] = {}
    reps: set[int] = set()
    kept: dict[tuple[int, int], float] = {}
    for x, y, s in zip(a[order].tolist(), b[order].tolist(), sims[order].tolist()):
        if x in rep_of or y in rep_of or y in reps:
            continue  # x belongs to another group; y is taken or leads its own group
        reps.add(x)
        rep_of[y] = x
        kept[(x, y)] = s
    return rep_of, kept


def _rescue(texts: list[str], a: np.ndarray, b: np.ndarray, rep_of: dict[int, int], kept: dict[tuple[int, int], float],
            threshold: float, k: int) -> None:
    """A text left alone may be near a group's representative through a member it was
    paired with (LSH pairs a bucket's texts with its first text, not with every other):
    check it against those representatives and let it join the first it is near."""
    reps = set(rep_of.values())
    alone = lambda i: i not in rep_of and i not in reps  # noqa: E731
    asks = sorted({(rep_of[y], x) for x, y in zip(a.tolist(), b.tolist()) for x, y in ((x, y), (y, x)) if alone(x) and y in rep_of})
    if not asks:
        return
    r = np.array([p[0] for p in asks], dtype=np.int64)
    x = np.array([p[1] for p in asks], dtype=np.int64)
    sims = exact_jaccard(texts, np.minimum(r, x), np.maximum(r, x), k)
    for rep, doc, s in zip(r.tolist(), x.tolist(), sims.tolist()):
        if s >= threshold and doc not in rep_of and doc not in reps and rep < doc:
            rep_of[doc] = rep
            kept[(rep, doc)] = s

"""Vectorised MinHash signatures and LSH banding over word shingles, in NumPy.

Why not datasketch's ``MinHash.bulk``?  It hashes every shingle in Python and applies 128
permutations per document: about 4k documents/s here, so 100k examples took ~25 s.  This
module does the same job for all documents at once:

* words are found and hashed over the UTF-8 bytes of a whole chunk of documents at once
  (first and last 8 bytes plus length of each word, mixed; no per-word Python);
* word 5-gram shingles are combined from the word hashes with the same trick;
* signatures use one-permutation hashing (Li, Owen & Zhang 2012) with rotation
  densification (Shrivastava & Li 2014): each shingle is hashed once and lands in one of
  ``num_perm`` bins; a bin keeps its minimum; empty bins borrow from the next non-empty
  one.  The fraction of equal bins estimates Jaccard similarity like classic MinHash;
* LSH bands use datasketch's choice of (bands, rows) for the threshold, and candidate
  pairs are the documents sharing a band bucket, so the search stays sub-quadratic.

All hashing is seedless and deterministic: the same data gives the same groups in the
CLI and in the browser, on every machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

P = np.uint64(0x100000001B3)
Q = np.uint64(0x9E3779B97F4A7C15)
U64 = np.uint64
CHUNK_BYTES = 4_000_000


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of a polynomial hash."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> U64(30))
        x = x * U64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> U64(27))
        x = x * U64(0x94D049BB133111EB)
        return x ^ (x >> U64(31))


def _chunks(texts: list[str]) -> Iterator[tuple[int, list[str]]]:
    start, size = 0, 0
    for i, t in enumerate(texts):
        size += len(t) + 1
        if size >= CHUNK_BYTES:
            yield start, texts[start : i + 1]
            start, size = i + 1, 0
    if start < len(texts):
        yield start, texts[start:]


def shingle_hashes(texts: list[str], k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(doc id per shingle, 64-bit shingle hash) for word k-grams of each text.

    Texts must be normalised (single spaces, no newlines).  A text of fewer than ``k``
    words yields one shingle made of all its words; an empty text yields none.
    """
    docs_out, hashes_out = [], []
    for offset, chunk in _chunks(texts):
        d, h = _chunk_shingles(chunk, k)
        docs_out.append(d + offset)
        hashes_out.append(h)
    if not docs_out:
        return np.empty(0, np.int64), np.empty(0, U64)
    return np.concatenate(docs_out), np.concatenate(hashes_out)


def _word_hashes(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each word from its first 8 bytes, last 8 bytes and length.

    Reading two 8-byte windows per word is much cheaper than hashing every byte; two
    different words collide only if they share length, prefix and suffix, which for
    near-duplicate estimation is noise far below MinHash's own error.
    """
    padded = np.concatenate((np.zeros(8, np.uint8), arr, np.zeros(8, np.uint8)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 8)
    length = (ends - starts).astype(U64)
    head = windows[starts + 8].copy().view("<u8").ravel()
    tail = windows[ends].copy().view("<u8").ravel()  # the 8 bytes ending at the word's end
    keep_head = np.where(length >= 8, U64(2**64 - 1), (U64(1) << (U64(8) * np.minimum(length, U64(7)))) - U64(1))
    keep_tail = np.where(length >= 8, U64(2**64 - 1), ~((U64(1) << (U64(8) * (U64(8) - np.minimum(length, U64(8))))) - U64(1)))
    with np.errstate(over="ignore"):
        return _mix((head & keep_head) * P + _mix((tail & keep_tail) ^ length))


def _chunk_shingles(chunk: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    # "\n" separates documents, so a newline inside a document becomes a space (a word break).
    blob = ("\n".join(t.replace("\n", " ") for t in chunk) + "\n").encode("utf-8", "surrogatepass")
    arr = np.frombuffer(blob, dtype=np.uint8)
    sep = (arr == 32) | (arr == 10)
    is_start = ~sep & np.concatenate(([True], sep[:-1]))
    is_end = ~sep & np.concatenate((sep[1:], [True]))
    starts = np.flatnonzero(is_start)
    ends = np.flatnonzero(is_end) + 1
    words = _word_hashes(arr, starts, ends)
    newlines = np.flatnonzero(arr == 10)
    doc = np.searchsorted(newlines, starts)  # doc index of each word
    counts = np.bincount(doc, minlength=len(chunk))
    long_docs = counts >= k
    out_doc, out_hash = [], []
    if words.size >= k:
        valid = doc[: words.size - k + 1] == doc[k - 1 :]
        with np.errstate(over="ignore"):
            acc = np.zeros(words.size - k + 1, dtype=U64)
            for j in range(k):
                acc = acc * Q + words[j : words.size - k + 1 + j]
        out_doc.append(doc[: words.size - k + 1][valid])
        out_hash.append(_mix(acc[valid]))
    short = np.flatnonzero(~long_docs & (counts > 0))
    if short.size:
        first = np.searchsorted(doc, short)
        with np.errstate(over="ignore"):
            acc = np.zeros(short.size, dtype=U64)
            for j in range(k - 1):
                take = j < counts[short]
                acc = np.where(take, acc * Q + words[np.minimum(first + j, words.size - 1)], acc)
        out_doc.append(short)
        out_hash.append(_mix(acc ^ U64(0xABCDEF)))
    if not out_doc:
        return np.empty(0, np.int64), np.empty(0, U64)
    return np.concatenate(out_doc).astype(np.int64), np.concatenate(out_hash)


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
    for start in range(0, rows.size, 20000):
        r = rows[start : start + 20000]
        m = np.concatenate([missing[r], missing[r]], axis=1)
        cols = np.arange(2 * num_perm)
        idx = np.where(m, 2 * num_perm, cols[None, :])
        nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, :num_perm]
        src = nxt % num_perm
        dist = (nxt - cols[None, :num_perm]).astype(np.uint32)
        filled = out[r[:, None], src] ^ (dist * np.uint32(0x9E3779B1))
        out[r] = np.where(missing[r], filled, out[r])
    out[missing.all(axis=1)] = 0
    return out


def all_signatures(texts: list[str], num_perm: int = 128, k: int = 5, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Signatures of every text, computed chunk by chunk so only one chunk's shingles are
    ever in memory (100k examples have ~20M shingles: 320 MB if held at once)."""
    sig = np.empty((len(texts), num_perm), dtype=np.uint32)
    for offset, chunk in _chunks(texts):
        doc, hashes = _chunk_shingles(chunk, k)
        sig[offset : offset + len(chunk)] = signatures(doc, hashes, len(chunk), num_perm)
        if progress:
            progress(0.8 * (offset + len(chunk)) / len(texts))
    return sig


def similarity(sig: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of document pairs (a[i], b[i])."""
    out = np.empty(a.size, dtype=np.float64)
    for s in range(0, a.size, 50000):
        out[s : s + 50000] = (sig[a[s : s + 50000]] == sig[b[s : s + 50000]]).mean(axis=1)
    return out


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of documents that share at least one LSH band bucket.

    Within a bucket every member is paired with the bucket's first member and with its
    neighbour, so a bucket of m documents gives at most 2m pairs, never m².
    """
    firsts, seconds = [], []
    n = sig.shape[0]
    for band in range(bands):
        part = sig[:, band * rows : (band + 1) * rows].astype(U64)
        with np.errstate(over="ignore"):
            key = np.zeros(n, dtype=U64)
            for j in range(rows):
                key = key * Q + part[:, j]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        same = sk[1:] == sk[:-1]
        if not same.any():
            continue
        run_start = np.concatenate(([0], np.flatnonzero(~same) + 1))
        run_id = np.cumsum(np.concatenate(([0], ~same)))  # run index per sorted position
        head = order[run_start[run_id]]
        pos = np.flatnonzero(np.concatenate(([False], same)))
        firsts += [head[pos], order[pos - 1]]
        seconds += [order[pos], order[pos]]
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a = np.concatenate(firsts)
    b = np.concatenate(seconds)
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


def near_duplicates(
    sig: np.ndarray, threshold: float, bands: int, rows: int, progress: Callable[[float], None] | None = None,
) -> tuple[list[list[int]], dict[tuple[int, int], float]]:
    """Groups of rows of ``sig`` (one MinHash signature per text, see :func:`all_signatures`)
    whose estimated Jaccard similarity ≥ threshold."""
    a, b = candidate_pairs(sig, bands, rows)
    sims = similarity(sig, a, b)
    ok = sims >= threshold
    a, b, sims = a[ok], b[ok], sims[ok]
    if progress:
        progress(1.0)
    return groups(len(sig), a, b), {(int(x), int(y)): float(s) for x, y, s in zip(a, b, sims)}

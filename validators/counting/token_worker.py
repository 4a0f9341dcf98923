"""A worker process that counts tokens, so encoding runs on another core.

Protocol (stdin → stdout, binary): the parent writes the number of strings (8 bytes),
their UTF-8 byte lengths (int64 array) and the concatenated UTF-8 bytes; the worker
answers with the token count of each string (int64 array).  Run as
``python -m validators.counting.token_worker ENCODING``.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from typing import Any

from .worker_process import WorkerError, WorkerProcess

__all__ = ["Worker", "WorkerError", "lengths_in_subprocess"]


_BATCH = 4096  # texts encoded to UTF-8 at a time while writing: no second copy of all the text


def _pack(texts: list[str]) -> Iterator[bytes]:
    """The message as pieces, made as they are written (the writer thread encodes a batch
    of texts at a time, so neither process holds all the UTF-8 at once).  A lone
    surrogate is written as itself (``surrogatepass`` encodes each code point apart, so a
    batch's bytes are its texts' bytes end to end)."""
    yield array("q", [len(texts)]).tobytes()
    yield array("q", (len(t) if t.isascii() else len(t.encode("utf-8", "surrogatepass")) for t in texts)).tobytes()
    for i in range(0, len(texts), _BATCH):
        yield "".join(texts[i : i + _BATCH]).encode("utf-8", "surrogatepass")


class Worker(WorkerProcess):
    """A token worker started now, so it imports tiktoken and loads the BPE file while the
    caller is still gathering the texts; :meth:`lengths` sends them and waits."""

    def __init__(self, encoding: str) -> None:
        super().__init__("validators.counting.token_worker", encoding)

    def lengths(self, texts: list[str], timeout: float = 600) -> list[int]:
        self.feed(_pack(texts))
        answer = self.output(timeout)
        counts = array("q")
        counts.frombytes(answer[: len(answer) - len(answer) % 8])
        if len(counts) != len(texts) or len(answer) % 8:
            raise WorkerError(f"token worker answered {len(answer) / 8:g} counts for {len(texts)} texts")
        return counts.tolist()


def lengths_in_subprocess(texts: list[str], encoding: str, timeout: float = 600) -> list[int]:
    """Token counts of ``texts`` computed by a worker process."""
    return Worker(encoding).lengths(texts, timeout)


_READ_BYTES = 1 << 20


def _read_exactly(stream: Any, size: int) -> memoryview:
    buf = memoryview(bytearray(size))
    got = 0
    while got < size:
        n = stream.readinto(buf[got:])
        if not n:
            raise EOFError("the parent closed the pipe early")
        got += n
    return buf


def main(encoding: str) -> None:
    """No NumPy here (0.1 s to import): the worker's start is part of every large check."""
    from .bpe_files import get_encoding

    enc = get_encoding(encoding)  # before reading: overlaps the parent's work
    stream = sys.stdin.buffer
    n = array("q", bytes(_read_exactly(stream, 8)))[0]
    sizes = array("q", bytes(_read_exactly(stream, 8 * n)))
    out = array("q", bytes(8 * n))
    i = 0
    while i < n:  # a megabyte of texts at a time: the worker never holds all of them
        j, size = i + 1, sizes[i]
        while j < n and size + sizes[j] <= _READ_BYTES:
            size += sizes[j]
            j += 1
        data = _read_exactly(stream, size)
        texts, start = [], 0
        for k in range(i, j):
            texts.append(str(data[start : start + sizes[k]], "utf-8", "surrogatepass"))
            start += sizes[k]
        out[i:j] = array("q", _joined_counts(enc, texts))
        i = j
    sys.stdout.buffer.write(out.tobytes())


SEPARATOR = "<|endoftext|>"


def _joined_counts(enc: Any, texts: list[str]) -> list[int]:
    """Token counts of ``texts`` from one call into tiktoken (as ``tokens.joined_lengths``
    does, without NumPy): joined by ``<|endoftext|>`` with that token allowed, each text
    is encoded alone and the counts are the gaps between the separators, found as their
    4-byte ids in the buffer by ``bytes.find``; a batch where a text holds the separator or
    a lone surrogate goes text by text."""
    sep = enc._special_tokens.get(SEPARATOR)
    joined = SEPARATOR.join(texts)
    if sep is not None and joined.count(SEPARATOR) == len(texts) - 1:
        try:
            raw = bytes(memoryview(enc._core_bpe.encode_to_tiktoken_buffer(joined, {SEPARATOR})).cast("B"))
        except (UnicodeEncodeError, ValueError):
            raw = None
        if raw is not None and len(raw) % 4 == 0:
            pattern = sep.to_bytes(4, sys.byteorder)  # the buffer holds native 32-bit ids
            ends = []
            at = raw.find(pattern)
            while at != -1:
                if at % 4 == 0:  # a separator id, not bytes across two ids
                    ends.append(at // 4)
                at = raw.find(pattern, at + 1)
            if len(ends) == len(texts) - 1:
                ends.append(len(raw) // 4)
                counts, prev = [], -1
                for end in ends:
                    counts.append(end - prev - 1)
                    prev = end
                return counts
    return [len(enc.encode_ordinary(t)) for t in texts]


if __name__ == "__main__":
    main(sys.argv[1])

"""A worker process that counts tokens, so encoding runs on another core.

Protocol (stdin → stdout, binary): the parent writes the number of strings (8 bytes),
their UTF-8 byte lengths (int64 array) and the concatenated UTF-8 bytes; the worker
answers with the token count of each string (int64 array).  Run as
``python -m validators.token_worker ENCODING``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .bpe_files import get_encoding
from .worker_process import WorkerError, WorkerProcess

__all__ = ["Worker", "WorkerError", "lengths_in_subprocess"]


def _pack(texts: list[str]) -> list[bytes]:
    """The message as pieces, written one by one (no second copy of all the text)."""
    blobs = [t.encode("utf-8", "surrogatepass") for t in texts]
    sizes = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    return [np.int64(len(blobs)).tobytes(), sizes.tobytes(), *blobs]


class Worker(WorkerProcess):
    """A token worker started now, so it imports tiktoken and loads the BPE file while the
    caller is still gathering the texts; :meth:`lengths` sends them and waits."""

    def __init__(self, encoding: str) -> None:
        super().__init__("validators.token_worker", encoding)

    def lengths(self, texts: list[str], timeout: float = 600) -> list[int]:
        self.feed(_pack(texts))
        counts = np.frombuffer(self.output(timeout), dtype=np.int64)
        if counts.size != len(texts):
            raise WorkerError(f"token worker answered {counts.size} counts for {len(texts)} texts")
        return counts.tolist()


def lengths_in_subprocess(texts: list[str], encoding: str, timeout: float = 600) -> list[int]:
    """Token counts of ``texts`` computed by a worker process."""
    return Worker(encoding).lengths(texts, timeout)


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
    encode = get_encoding(encoding).encode_ordinary  # before reading: overlaps the parent's work
    stream = sys.stdin.buffer
    n = int(np.frombuffer(_read_exactly(stream, 8), dtype=np.int64)[0])
    sizes = np.frombuffer(_read_exactly(stream, 8 * n), dtype=np.int64)
    data = _read_exactly(stream, int(sizes.sum()))
    out = np.empty(n, dtype=np.int64)
    start = 0
    for i, size in enumerate(sizes.tolist()):
        out[i] = len(encode(str(data[start : start + size], "utf-8", "surrogatepass")))
        start += size
    sys.stdout.buffer.write(out.tobytes())


if __name__ == "__main__":
    main(sys.argv[1])

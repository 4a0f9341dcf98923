"""A worker process that counts tokens, so encoding runs on another core.

Protocol (stdin → stdout, binary): the parent writes the number of strings (8 bytes),
their UTF-8 byte lengths (int64 array) and the concatenated UTF-8 bytes; the worker
answers with the token count of each string (int64 array).  Run as
``python -m validators.counting.token_worker ENCODING``.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any

from .worker_process import WorkerError, WorkerProcess

__all__ = ["Worker", "WorkerError", "lengths_in_subprocess"]


def _pack(texts: list[str]) -> list[bytes]:
    """The message as pieces, written one by one (no second copy of all the text)."""
    blobs = [t.encode("utf-8", "surrogatepass") for t in texts]
    return [array("q", [len(blobs)]).tobytes(), array("q", map(len, blobs)).tobytes(), *blobs]


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

    encode = get_encoding(encoding).encode_ordinary  # before reading: overlaps the parent's work
    stream = sys.stdin.buffer
    n = array("q", bytes(_read_exactly(stream, 8)))[0]
    sizes = array("q", bytes(_read_exactly(stream, 8 * n)))
    data = _read_exactly(stream, sum(sizes))
    out = array("q", bytes(8 * n))
    start = 0
    for i, size in enumerate(sizes):
        out[i] = len(encode(str(data[start : start + size], "utf-8", "surrogatepass")))
        start += size
    sys.stdout.buffer.write(out.tobytes())


if __name__ == "__main__":
    main(sys.argv[1])

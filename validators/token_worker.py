"""A worker process that counts tokens, so encoding runs on another core.

Protocol (stdin → stdout, binary): the parent writes the number of strings (8 bytes),
their UTF-8 byte lengths (int64 array) and the concatenated UTF-8 bytes; the worker
answers with the token count of each string (int64 array).  Run as
``python -m validators.token_worker ENCODING``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .bpe_files import get_encoding

ROOT = Path(__file__).resolve().parent.parent  # so ``-m validators.token_worker`` imports this copy


class WorkerError(RuntimeError):
    """The worker could not be started or did not answer properly."""


def _pack(texts: list[str]) -> list[bytes]:
    """The message as pieces, written one by one (no second copy of all the text)."""
    blobs = [t.encode("utf-8", "surrogatepass") for t in texts]
    sizes = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    return [np.int64(len(blobs)).tobytes(), sizes.tobytes(), *blobs]


class Worker:
    """A worker process started now, so it imports tiktoken and loads the BPE file while the
    caller is still gathering the texts; :meth:`lengths` sends them and waits."""

    def __init__(self, encoding: str) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "validators.token_worker", encoding],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise WorkerError(str(exc)) from exc

    def send(self, texts: list[str], timeout: float = 600) -> Callable[[], list[int]]:
        """Start writing ``texts`` to the worker (from a thread); the result waits for the counts."""
        proc = self.proc
        writer = threading.Thread(target=_write, args=(proc, _pack(texts)), daemon=True)
        writer.start()

        def wait() -> list[int]:
            try:
                out = proc.stdout.read()  # type: ignore[union-attr]
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                raise WorkerError("token worker timed out") from exc
            writer.join()
            counts = np.frombuffer(out, dtype=np.int64)
            if proc.returncode != 0 or counts.size != len(texts):
                raise WorkerError(f"token worker failed ({proc.returncode}): {proc.stderr.read()[-500:]!r}")  # type: ignore[union-attr]
            return counts.tolist()

        return wait

    def lengths(self, texts: list[str], timeout: float = 600) -> list[int]:
        return self.send(texts, timeout)()

    def close(self) -> None:
        """Not needed after all: stop it."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def lengths_in_subprocess(texts: list[str], encoding: str, timeout: float = 600) -> list[int]:
    """Token counts of ``texts`` computed by a worker process."""
    return Worker(encoding).lengths(texts, timeout)


def _write(proc: subprocess.Popen[bytes], payload: list[bytes]) -> None:
    try:
        for piece in payload:
            proc.stdin.write(piece)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    except (BrokenPipeError, OSError):
        pass  # the worker died; lengths_in_subprocess reports it


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

"""Fuzz the readers and ingest with random and mutated files: only InputError may come out.

Run for minutes outside CI::

    python fuzz/fuzz_readers.py --minutes 10            # built-in mutation fuzzer
    python fuzz/fuzz_readers.py --minutes 10 --atheris  # coverage-guided (pip install atheris)

Seeds are the bad-input corpus and the sample files.  Each input is read under every file
name extension (so a JSON array is also tried as CSV, XLSX, ...) and, when it loads, checked
with ``checks.run`` too, since crashes hide downstream of a reader that "succeeded".  An
input that raises anything else, or takes longer than ``--per-input`` seconds, is saved
under ``fuzz/crashes/`` with its traceback and the run exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from validators.checking import checks  # noqa: E402
from validators.reading import ingest  # noqa: E402
from validators.reading.readers import InputError  # noqa: E402

NAMES = ("f.csv", "f.tsv", "f.xlsx", "f.json", "f.jsonl", "f.txt", "f")
TOKENS = [
    b'"', b",", b"\t", b"\n", b"\r\n", b"\r", b"\x00", b"[", b"]", b"{", b"}", b":", b"NaN", b"-Infinity", b"1e999",
    b'"\\ud800"', b"\\u0000", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xed\xa0\x80", b"\xc3", b"\x80", b'"messages"',
    b'{"role": "user", "content": ', b'"role": "tool"', b'"weight": 0', b"PK\x03\x04", b"=cmd|", b"\xe2\x80\xa8", b" " * 64,
]
CRASH_DIR = Path(__file__).resolve().parent / "crashes"


class Hang(Exception):
    """An input took longer than the per-input bound."""


@dataclass
class Stats:
    inputs: int = 0
    loaded: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)


def seeds() -> list[bytes]:
    """The corpus files (small ones) plus the sample data: realistic starting points."""
    paths = sorted((ROOT / "tests" / "bad_inputs").glob("*")) + sorted((ROOT / "sample_data").glob("*.*"))
    out = [p.read_bytes() for p in paths if p.is_file() and p.suffix != ".py" and p.stat().st_size < 300_000]
    return out or [b"question,answer\nq,a\n"]


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One to four random edits: flips, token inserts, deletions, truncation, splicing."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and buf:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 3:
            del buf[pos:]
        elif op == 4:
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            buf[pos:pos] = other[start:start + rng.randint(1, 4096)]
        elif op == 5 and buf:
            chunk = bytes(buf[pos:pos + rng.randint(1, 32)])
            buf[pos:pos] = chunk * rng.randint(2, 200)
        else:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
    return bytes(buf[:2_000_000])


def inputs(rng: random.Random) -> Iterator[bytes]:
    pool = seeds()
    yield from pool
    while True:
        if rng.random() < 0.05:
            yield rng.randbytes(rng.randint(0, 2048))
        else:
            yield mutate(rng.choice(pool), rng, pool)


def exercise(data: bytes, name: str, deep: bool = True) -> bool:
    """Load ``data`` as ``name``; True when it loaded, False when refused with InputError.

    Anything else propagates: that is the bug the fuzzer looks for.
    """
    try:
        ds = ingest.load_bytes(data, name)
    except InputError as exc:
        if not str(exc).strip():
            raise AssertionError("InputError without a message") from exc
        return False
    assert ds.examples, "a Dataset with no examples should have been an InputError"
    if deep:
        checks.run(ds.examples, near=False, read_findings=ds.read_findings)
    return True


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang()


def one(data: bytes, stats: Stats, per_input: float, deep: bool) -> None:
    for name in NAMES:
        stats.inputs += 1
        signal.setitimer(signal.ITIMER_REAL, per_input)
        try:
            if exercise(data, name, deep):
                stats.loaded += 1
            else:
                stats.refused += 1
        except Exception as exc:  # noqa: BLE001 - every other exception is a finding
            stats.failures.append(save(data, name, exc))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def save(data: bytes, name: str, exc: BaseException) -> str:
    digest = hashlib.sha256(data).hexdigest()[:16]
    CRASH_DIR.mkdir(exist_ok=True)
    path = CRASH_DIR / f"{digest}-{name}"
    path.write_bytes(data)
    kind = "hang" if isinstance(exc, Hang) else type(exc).__name__
    text = "".join(traceback.format_exception(exc))
    path.with_suffix(path.suffix + ".txt").write_text(text, encoding="utf-8")
    return f"{kind} reading {len(data)} bytes as {name}: saved {path}"


def run(seconds: float, seed: int = 0, per_input: float = 20.0, deep: bool = True) -> Stats:
    """Fuzz for ``seconds``; the CI slice calls this with a fixed seed and a short time."""
    rng = random.Random(seed)
    stats = Stats()
    previous = signal.signal(signal.SIGALRM, _alarm)
    end = time.monotonic() + seconds
    try:
        for data in inputs(rng):
            if time.monotonic() >= end:
                break
            one(data, stats, per_input, deep)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return stats


def run_atheris(argv: list[str]) -> None:  # pragma: no cover - needs atheris, runs outside CI
    import atheris

    def test_one(data: bytes) -> None:
        if not data:
            return
        exercise(data[1:], NAMES[data[0] % len(NAMES)], deep=True)

    corpus = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
    for i, data in enumerate(seeds()):
        for j in range(len(NAMES)):
            (corpus / f"seed-{i}-{j}").write_bytes(bytes([j]) + data)
    atheris.instrument_all()  # coverage feedback from our code (and the stdlib parsers it calls)
    atheris.Setup([*argv, str(corpus)], test_one)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time-based)")
    p.add_argument("--per-input", type=float, default=20.0, help="seconds one input may take before it counts as a hang")
    p.add_argument("--shallow", action="store_true", help="readers and ingest only, no checks.run")
    p.add_argument("--atheris", action="store_true", help="coverage-guided with atheris; extra args go to libFuzzer")
    args, rest = p.parse_known_args(argv)
    if args.atheris:
        run_atheris([sys.argv[0], f"-max_total_time={int(args.minutes * 60)}", *rest])
        return 0
    seed = args.seed if args.seed is not None else int(time.time())
    stats = run(args.minutes * 60, seed, args.per_input, not args.shallow)
    print(f"seed {seed}: {stats.inputs} reads, {stats.loaded} loaded, {stats.refused} refused with a message, {len(stats.failures)} failure(s)")
    for line in stats.failures:
        print("FAIL", line)
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU seconds of each stage of `check` in one process (worker processes included), for
work on a shared, noisy machine where wall time says little.

    python bench/stage_cpu.py /tmp/bench_20000.jsonl [repeats]

Each stage is timed with ``time.process_time`` plus the CPU time of child processes
that finished during it (the token and personal-data workers); the minimum over the
repeats is printed.  The garbage collector is paused throughout, as in `check`
(validators/checking/gc_pause.py).  Where each stage runs in the forked check, and when:
bench/timeline.py.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from validators import catalog  # noqa: E402
from validators.checking import duplicates, gc_pause, pii, schema_check, semantic  # noqa: E402
from validators.counting import tokens  # noqa: E402
from validators.reading import ingest  # noqa: E402


def cpu() -> float:
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime


def stages(path: str) -> dict[str, float]:
    t: dict[str, float] = {}

    def timed(name, fn):
        s = cpu()
        out = fn()
        t[name] = cpu() - s
        return out

    ds = timed("read + map", lambda: ingest.load_file(path))
    ex = ds.examples
    timed("JSON Schema", lambda: schema_check.check_schema(ex))
    pr = timed("prompt_replies", lambda: semantic.prompt_replies(ex))
    timed("semantic per example", lambda: [semantic.check_example(e) for e in ex])
    timed("semantic dataset", lambda: semantic.check_dataset(ex, pr))
    timed("personal data", lambda: pii.check(ex))
    enc = catalog.model(None).encoding
    timed("tokens", lambda: tokens.count(ex, enc))
    timed("duplicates (exact+near)", lambda: duplicates.find(ex, prompt_replies=pr))
    return t


def main() -> None:
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with gc_pause.paused():  # as `check` runs: the collector paused from reading to the answer
        runs = [stages(path) for _ in range(repeats)]
    total = 0.0
    for k in runs[0]:
        best = min(r[k] for r in runs)
        total += best
        print(f"{k:28} {best:7.2f}  ({', '.join(f'{r[k]:.2f}' for r in runs)})")
    print(f"{'sum':28} {total:7.2f}")


if __name__ == "__main__":
    main()

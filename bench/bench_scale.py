"""Scale bench (issue 13): streaming check/export of a large JSONL file, and Ray 1 vs 2 workers.

    python bench/bench_scale.py make PATH GB        # generate a JSONL file of at least GB gigabytes
    python bench/bench_scale.py peak check FILE ...  # run `python -m validators ...`, print its peak RSS (bytes)
    python bench/bench_scale.py run [--gb 5] [--ray-examples 100000] [--dir /tmp]

``run`` prints one table: file size, examples, wall time and peak memory of the streamed
``check`` and ``export``, then the Ray engine's check time with 1 and 2 workers on the
100k-example bench file.  Peak memory is the largest resident size of the command and
every process it started (``ru_maxrss`` of the waited-for children).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import example  # noqa: E402


def make(path: Path, gigabytes: float, seed: int = 7) -> int:
    """Stream generated examples (2 % exact, 1 % near duplicates, as make_data) to ``path``."""
    rng = random.Random(seed)
    recent: deque[dict[str, object]] = deque(maxlen=11)
    target = int(gigabytes * 1e9)
    n = written = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < target:
            row = example(rng, n)
            if n % 50 == 1:
                row = json.loads(json.dumps(recent[-1]))
            elif n % 100 == 25 and len(recent) > 10:
                row = json.loads(json.dumps(recent[-10]))
                words = row["messages"][2]["content"].split()  # type: ignore[index]
                words[len(words) // 2] = "altered"
                row["messages"][2]["content"] = " ".join(words)  # type: ignore[index]
            recent.append(row)
            line = json.dumps(row, ensure_ascii=False) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return n


def peak(args: list[str]) -> tuple[int, float, int]:
    """(peak RSS in bytes, wall seconds, exit code) of ``python -m validators ARGS``."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "validators", *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, wall, proc.returncode


def ray_check(path: Path, workers: int) -> float:
    code = (f"import time, ray; from validators import engine_ray; "
            f"ray.init(num_cpus={workers}, include_dashboard=False, runtime_env=engine_ray.runtime_env()); "
            f"t=time.perf_counter(); r=engine_ray.check({str(path)!r}, 'jsonl'); print(time.perf_counter()-t); r.close()")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def run(gb: float, ray_examples: int, folder: Path) -> None:
    free = shutil.disk_usage(folder).free / 1e9
    gb = min(gb, max(0.1, (free - 10) / 4))  # the file, its index and the export must fit
    big = folder / f"scale_{gb:g}gb.jsonl"
    n = make(big, gb) if not big.exists() else sum(1 for _ in big.open("rb"))
    load = os.getloadavg()[0]
    print(f"| what | file | examples | wall s | peak MiB |  (load {load:.1f}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})")
    print("|---|---|---|---|---|")
    for cmd in (["check", str(big), "--stream"], ["export", str(big), "--stream", "-o", str(folder / "scale_out.jsonl")]):
        rss, wall, _ = peak(cmd)
        print(f"| streamed {cmd[0]} | {big.stat().st_size / 1e9:.2f} GB | {n:,} | {wall:.0f} | {rss / 2**20:.0f} |")
    small = folder / f"scale_{ray_examples}.jsonl"
    if not small.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        from make_data import generate, write

        write(generate(ray_examples), small)
    for workers in (1, 2):
        print(f"| ray check, {workers} worker(s) | {small.stat().st_size / 1e6:.0f} MB | {ray_examples:,} | {ray_check(small, workers):.0f} | |")


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("path", type=Path)
    m.add_argument("gb", type=float)
    k = sub.add_parser("peak")
    k.add_argument("args", nargs=argparse.REMAINDER)
    r = sub.add_parser("run")
    r.add_argument("--gb", type=float, default=5.0)
    r.add_argument("--ray-examples", type=int, default=100_000)
    r.add_argument("--dir", type=Path, default=Path("/tmp"))
    a = p.parse_args()
    if a.cmd == "make":
        print(make(a.path, a.gb))
    elif a.cmd == "peak":
        rss, wall, code = peak(a.args)
        print(f"wall {wall:.1f} s, exit {code}, peak {rss}")
    else:
        run(a.gb, a.ray_examples, a.dir)


if __name__ == "__main__":
    main()

"""Every target of issue 13, measured, in one table: target, command, measured, target value, met?

    python bench/run_all.py                   # everything, full sizes (an hour or more on 2 cores)
    python bench/run_all.py --quick           # small sizes, minutes: checks the bench itself works
    python bench/run_all.py --only core,ray   # a subset: core, 512mb, stream, ray, browser
    python bench/run_all.py --busy            # each target twice: idle, then with a CPU hog on one core

Targets and what measures them:

* core    the full check of 100k examples against the Cookbook notebook's checks
          (bench/bench_check.py: median of alternating runs; wall and CPU seconds of every
          process; peak memory of the check and its workers)
* 512mb   CLI ``check`` and ``export`` of a ~511 MB JSONL file (OpenAI's upload limit):
          peak memory of all processes together
* stream  a ~5 GB JSONL file streamed (bench/bench_scale.py stream): peak memory, exact and
          near duplicates planted at both ends of the file found; the files are deleted after
* ray     ``--engine ray`` with 1 and 2 local workers against the single-machine run on the
          100k file: wall, CPU, identical output (bench/bench_scale.py ray)
* browser bench/bench_browser.py (real Chromium), when that script is present; its own
          table is printed after this one

Say what else ran on the machine when you publish the figures (the load is printed).
``--busy`` measures every target a second time while a CPU hog (one process spinning,
pinned to the last core) runs beside it, and prints both figures side by side: the issue
asks for idle and busy-machine figures, and CPU seconds should hardly move between them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_scale  # noqa: E402

Row = tuple[str, str, str, str, str]  # target, command, measured, target value, met?
GB = 2**30


def _yes(ok: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[ok]


def core(n: int) -> list[Row]:
    cmd = [sys.executable, "bench/bench_check.py", str(n)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True).stdout
    shown = f"python bench/bench_check.py {n}"
    wall = re.search(r"whole `check` / Cookbook, wall \| ([\d.]+)×", out)
    cpu = re.search(r"CPU seconds .*?= ([\d.]+)×", out)
    peak = re.search(r"= (\d+) MB \(all three", out)
    rows: list[Row] = []
    for what, m, limit, unit in (("full check vs Cookbook, wall (idle machine)", wall, 0.5, "×"),
                                 ("full check vs Cookbook, CPU seconds", cpu, 1.0, "×")):
        v = float(m.group(1)) if m else None
        rows.append((f"{what}, {n:,} examples", shown, f"{v:.2f}{unit}" if v is not None else "not measured (see its output)",
                     f"≤ {limit}{unit}", _yes(v <= limit if v is not None else None)))
    v = float(peak.group(1)) if peak else None
    rows.append((f"peak memory of the check, {n:,} examples", shown, f"{v:.0f} MB" if v else "not measured",
                 "< 1 GB", _yes(v < 1024 if v else None)))
    return rows


def big_file(gb: float, folder: Path) -> list[Row]:
    path = folder / "run_all_512mb.jsonl"
    n = bench_scale.make(path, gb)
    size = path.stat().st_size / 1e6
    rows: list[Row] = []
    try:
        for cmd in (["check", str(path), "--json"], ["export", str(path), "-o", str(folder / "run_all_512_out.jsonl")]):
            m = bench_scale.measure([sys.executable, "-m", "validators", *cmd])
            rows.append((f"CLI {cmd[0]}, {size:.0f} MB file ({n:,} examples)", f"python -m validators {cmd[0]} FILE",
                         f"{m['peak_all'] / GB:.2f} GB peak, {m['cpu']:.0f} CPU s, {m['wall']:.0f} s, exit {m['code']}",
                         "< 2 GB peak", _yes(m["peak_all"] < 2 * GB and m["code"] in (0, 1))))
    finally:
        for f in folder.glob("run_all_512*"):
            f.unlink()
    return rows


def streamed(gb: float, folder: Path) -> list[Row]:
    res = bench_scale.stream(gb, folder)
    what = f"{res['file_gb']:.2f} GB JSONL, {res['examples']:,} examples"
    cmd = f"python bench/bench_scale.py stream --gb {gb:g}"
    rows: list[Row] = []
    for step in ("check", "export"):
        m = res.get(step)
        if isinstance(m, dict):
            rows.append((f"streamed {step}, {what}", cmd, f"{m['peak_all'] / GB:.2f} GB peak, {m['cpu']:.0f} CPU s, {m['wall']:.0f} s",
                         "< 2 GB peak, not growing with the file", _yes(m["peak_all"] < 2 * GB and m["code"] in (0, 1))))
    planted = dict(res.get("planted") or {})
    rows.append((f"duplicates across the whole file, {what}", cmd, f"{sum(planted.values())} of {len(planted)} planted pairs found",
                 "all found", _yes(bool(planted) and all(planted.values()))))
    return rows


def ray(n: int, folder: Path) -> list[Row]:
    path = folder / f"run_all_ray_{n}.jsonl"
    if not path.exists():
        from make_data import generate, write

        write(generate(n), path)
    try:
        res = bench_scale.ray(path, (1, 2), folder)
    finally:
        path.unlink(missing_ok=True)
    runs = dict(res["runs"])  # type: ignore[arg-type]
    cmd = f"python bench/bench_scale.py ray FILE  ({n:,} examples)"
    rows: list[Row] = []
    for step in ("check", "export"):
        local = runs.get(f"local {step}")
        one, two = runs.get(f"ray {step}, 1 worker(s)"), runs.get(f"ray {step}, 2 worker(s)")
        if not (local and one and two):
            continue
        split = " / ".join(f"{w['examples']:,}" for w in two.get("workers_seen", []))
        rows.append((f"--engine ray {step}, 1 → 2 workers", cmd,
                     f"wall {one['wall']:.0f} → {two['wall']:.0f} s ({one['wall'] / two['wall']:.2f}× faster; Ray's start "
                     f"{one.get('ray_start_s', 0):.0f} / {two.get('ray_start_s', 0):.0f} s of it), CPU {one['cpu']:.0f} → {two['cpu']:.0f} s; "
                     f"examples per worker process with 2: {split or 'not recorded'}; local {local['wall']:.0f} s, {local['cpu']:.0f} CPU s",
                     "identical to the local run", _yes(bool(one.get("identical")) and bool(two.get("identical")))))
    return rows


def browser(arg: str) -> tuple[list[Row], str]:
    script = ROOT / "bench" / "bench_browser.py"
    if not script.exists():
        return [("the browser (upload, pages, edits)", "python bench/bench_browser.py", "skipped: bench/bench_browser.py is not in this checkout",
                 "see issue 13", "n/a")], ""
    out = subprocess.run([sys.executable, str(script), arg], cwd=ROOT, capture_output=True, text=True)
    return [(f"the browser, {arg}", f"python bench/bench_browser.py {arg}", f"exit {out.returncode}; its table below",
             "see its table", "see below")], out.stdout[-20000:] + (out.stderr[-2000:] if out.returncode else "")


HOG = "import os\nos.sched_setaffinity(0, {core})\nwhile True:\n    pass\n"


@contextlib.contextmanager
def cpu_hog() -> Iterator[int]:
    """A process that keeps one core busy (the last one) while the block runs: the
    busy-machine figures.  It is outside the measured commands' process trees, so their
    CPU seconds do not include it."""
    core = {max(os.sched_getaffinity(0))}
    hog = subprocess.Popen([sys.executable, "-c", HOG.format(core=core)])
    try:
        yield hog.pid
    finally:
        hog.kill()
        hog.wait()


def merge(idle: list[Row], busy: list[Row]) -> list[tuple[str, ...]]:
    """One row per target: the idle figure, the busy one, and whether each meets it."""
    out = []
    for k, r in enumerate(idle):
        b = busy[k] if k < len(busy) and busy[k][0] == r[0] else None
        met = r[4] if b is None or b[4] == r[4] else f"idle {r[4]}, busy {b[4]}"
        out.append((r[0], r[1], r[2], b[2] if b else "not measured", r[3], met))
    return out


def table(rows: list[Row] | list[tuple[str, ...]], busy: bool = False) -> str:
    head = "| target | command | measured, idle | measured, one core busy | target value | met? |" if busy else \
        "| target | command | measured | target value | met? |"
    lines = [head, "|" + "---|" * (6 if busy else 5)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (20k core, 50 MB, 0.2 GB stream, 2k Ray, 2k browser)")
    p.add_argument("--only", default="core,512mb,stream,ray,browser", help="comma-separated subset")
    p.add_argument("--gb", type=float, default=None, help="size of the streamed file (default 5, quick 0.2)")
    p.add_argument("--dir", type=Path, default=Path("/tmp"))
    p.add_argument("--busy", action="store_true", help="measure each target again with a CPU hog on one core; print both")
    a = p.parse_args()
    q = a.quick
    steps: dict[str, Callable[[], list[Row]]] = {
        "core": lambda: core(20_000 if q else 100_000),
        "512mb": lambda: big_file(0.05 if q else 0.511, a.dir),
        "stream": lambda: streamed(a.gb or (0.2 if q else 5.0), a.dir),
        "ray": lambda: ray(2_000 if q else 100_000, a.dir),
    }
    names = [s.strip() for s in a.only.split(",") if s.strip()]
    for name in names:
        if name != "browser" and name not in steps:
            p.error(f"unknown target {name!r}")
    start, load = time.perf_counter(), os.getloadavg()[0]
    rows, extra = run(names, steps, q)
    busy_rows: list[Row] = []
    busy_extra = ""
    if a.busy:
        with cpu_hog() as pid:
            print(f"again, with a CPU hog on one core (pid {pid}) ...", file=sys.stderr, flush=True)
            busy_rows, busy_extra = run(names, steps, q)
    print(f"Issue 13 targets, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {load:.1f} at the start and "
          f"{os.getloadavg()[0]:.1f} at the end, {time.perf_counter() - start:.0f} s{' (--quick sizes)' if q else ''}"
          f"{'; busy: the same with one core kept busy by another process' if a.busy else ''}\n")
    print(table(merge(rows, busy_rows), busy=True) if a.busy else table(rows))
    if extra:
        print("\nbench/bench_browser.py:\n\n" + extra)
    if a.busy and busy_extra:
        print("\nbench/bench_browser.py, one core busy:\n\n" + busy_extra)


def run(names: list[str], steps: dict[str, Callable[[], list[Row]]], quick: bool) -> tuple[list[Row], str]:
    """Every named target's rows (and the browser bench's own table)."""
    rows: list[Row] = []
    extra = ""
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if name == "browser":
            got, extra = browser("2000" if quick else "100000")
            rows += got
        else:
            rows += steps[name]()
    return rows, extra


if __name__ == "__main__":
    main()

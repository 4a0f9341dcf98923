"""Time each stage of `check` and the whole check, with peak memory, against the Cookbook.

    python bench/bench_check.py 100000            # generates /tmp/bench_100000.jsonl if missing

Each measurement runs in a fresh subprocess so peak memory (ru_maxrss) is its own; the
whole check's memory is also sampled as PSS over its process tree (on large data the check
forks a child that shares the parsed examples: validators/checking/forked.py).  CPU
seconds count every process (the forked child and any worker included).
Prints a Markdown table for the README.
"""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STAGES = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from validators.reading import ingest; from validators.checking import schema_check, semantic, duplicates, checks, pii; from validators.counting import tokens, cost; from validators import catalog
t = {{}}
s = time.perf_counter(); ds = ingest.load_file({path!r}); t["read + map"] = time.perf_counter() - s
ex = ds.examples
s = time.perf_counter(); schema_check.check_schema(ex); t["JSON Schema"] = time.perf_counter() - s
s = time.perf_counter(); [semantic.check_example(e) for e in ex]; semantic.check_dataset(ex); t["semantic checks"] = time.perf_counter() - s
s = time.perf_counter(); pii.check(ex); t["personal data and secrets"] = time.perf_counter() - s
info = catalog.model(None)
s = time.perf_counter(); c = tokens.count(ex, info.encoding); t["tokens (" + info.encoding + ")"] = time.perf_counter() - s
s = time.perf_counter(); cost.estimate(c.total, info.limit, info.training); t["cost"] = time.perf_counter() - s
s = time.perf_counter(); d = duplicates.find(ex, near=False); t["exact duplicates"] = time.perf_counter() - s
s = time.perf_counter(); d = duplicates.find(ex); t["exact + near duplicates"] = time.perf_counter() - s
t["peak MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(t))
"""

WHOLE = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
s = time.perf_counter()
from validators.cli import main
import io, contextlib
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = main(["check", {path!r}, "--json"])
seconds = time.perf_counter() - s  # the answer is out
from validators.checking import forked
forked.reap()  # the forked child, reaped after the answer: its CPU seconds and memory are counted below
cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "child peak MB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "rc": rc}}))
"""

# The memory of the whole check, every process together: the forked child shares the parsed
# examples with the parent until either writes to a page, so adding the two processes' peak
# RSS would count the shared pages twice.  The proportional set size (PSS: each shared page
# split between its sharers) of the process and its children, sampled every 50 ms, adds up
# to what the machine really holds.
def tree_pss_peak(path: Path) -> dict[str, float]:
    import time

    proc = subprocess.Popen([sys.executable, "-m", "validators", "check", str(path), "--json"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONHASHSEED": "0"})
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_pss_kb(p) for p in _tree(proc.pid)))
        time.sleep(0.05)
    return {"peak MB": peak / 1024}


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# The token worker's own peak, measured by /usr/bin/time (a big parent's fork would be
# counted in the child's ru_maxrss).
WORKER = r"""
import json, resource, subprocess, sys, tempfile
sys.path.insert(0, {root!r})
from validators.reading import ingest; from validators.counting import token_worker
from validators.counting.tokens import _messages, _strings
ds = ingest.load_file({path!r})
texts = list(dict.fromkeys(t for e in ds.examples if e.record for m in _messages(e) if isinstance(m, dict) for _, t, _ in _strings(m)))
with tempfile.TemporaryFile() as f:
    for piece in token_worker._pack(texts):
        f.write(piece)
    f.seek(0)
    out = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "validators.counting.token_worker", "o200k_base"],
                         stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd={root!r}, check=True)
print(json.dumps({{"peak MB": int(out.stderr.split()[-1]) / 1024}}))
"""

PII_WORKER = r"""
import json, subprocess, sys, tempfile
sys.path.insert(0, {root!r})
from validators.reading import ingest; from validators.checking import pii
ds = ingest.load_file({path!r})
texts = [t for e in ds.examples if e.record for _, _, t in pii._places(e)]
sifted = pii.candidates(texts)  # the worker gets only the texts the sieve keeps
texts = texts if sifted is None else [texts[i] for i in sifted]
with tempfile.TemporaryFile() as f:
    f.write(pii._SEP.join(texts).encode("utf-8", "surrogatepass"))
    f.seek(0)
    out = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "validators.checking.pii_worker"],
                         stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd={root!r}, check=True)
print(json.dumps({{"peak MB": int(out.stderr.split()[-1]) / 1024}}))
"""

COOKBOOK = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import cookbook_checks
s = time.perf_counter(); cookbook_checks.main({path!r}); seconds = time.perf_counter() - s
cpu = sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def compile_bytecode() -> None:
    """Compile our modules and the Cookbook script to bytecode (``__pycache__``, ignored by
    git) before anything is timed, so each run imports them as an installed copy does.

    pip compiles a package's modules when it installs them, and a plain checkout caches
    them on its first run; but with ``PYTHONDONTWRITEBYTECODE`` set (CI, this machine) a
    checkout never caches, and every run would compile ~80 modules from source first (about
    0.1 s on one core, measured at 100k examples), a cost the Cookbook's side, whose libraries
    are installed and compiled, never pays.  ``compileall`` writes whatever that variable says."""
    compileall.compile_dir(ROOT / "validators", quiet=1)
    compileall.compile_file(ROOT / "bench" / "cookbook_checks.py", quiet=1)


def run(code: str, path: Path) -> dict[str, float]:
    src = code.format(root=str(ROOT), path=str(path), bench=str(ROOT / "bench"))
    out = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def runs(results: list[dict[str, float]], key: str = "seconds") -> str:
    return ", ".join(f"{r[key]:.1f}" for r in results)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    path = Path(f"/tmp/bench_{n}.jsonl")
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_data.py"), str(n), str(path)], check=True)
    size = path.stat().st_size / 1e6
    compile_bytecode()
    stages = run(STAGES, path)
    # The whole check and the Cookbook alternate, `repeat` times each, so a noisy neighbour
    # on a shared machine hits both alike; the medians are reported.
    wholes, cooks = [], []
    for _ in range(repeat):
        wholes.append(run(WHOLE, path))
        cooks.append(run(COOKBOOK, path))
    whole = sorted(wholes, key=lambda r: r["seconds"])[repeat // 2]
    cook = sorted(cooks, key=lambda r: r["seconds"])[repeat // 2]
    worker = run(WORKER, path)
    pii_peak = run(PII_WORKER, path)
    pss = tree_pss_peak(path)
    print(f"{n:,} examples, {size:.0f} MB, {os.cpu_count()} cores; whole check and Cookbook: median of {repeat} alternating runs "
          "(both import compiled bytecode: see compile_bytecode)\n")
    print("| stage | seconds |\n|---|---|")
    for k, v in stages.items():
        if k != "peak MB":
            print(f"| {k} | {v:.2f} |")
    print(f"| **whole `check` (CLI, incl. start-up)** | **{whole['seconds']:.2f}** (runs: {runs(wholes)}) |")
    print(f"| Cookbook notebook checks alone | {cook['seconds']:.2f} (runs: {runs(cooks)}) |")
    print(f"| whole `check` / Cookbook, wall | {whole['seconds'] / cook['seconds']:.3f}× |")
    wcpu = sorted(r["cpu"] for r in wholes)[repeat // 2]
    ccpu = sorted(r["cpu"] for r in cooks)[repeat // 2]
    print(f"| CPU seconds (user+sys, every process): whole `check` / Cookbook | {wcpu:.1f} / {ccpu:.1f} = {wcpu / ccpu:.2f}× "
          f"(runs: {runs(wholes, 'cpu')} / {runs(cooks, 'cpu')}) |")
    print(f"\nPeak memory of the whole check, every process together (PSS, sampled): {pss['peak MB']:.0f} MB; "
          f"check process alone (RSS) {whole['peak MB']:.0f} MB, its forked child (RSS, pages shared with the parent included) "
          f"{whole['child peak MB']:.0f} MB; Cookbook {cook['peak MB']:.0f} MB.")
    print(f"Where no fork is made (the browser, or a second thread running): token worker {worker['peak MB']:.0f} MB, "
          f"personal-data worker {pii_peak['peak MB']:.0f} MB beside the check process.")


if __name__ == "__main__":
    main()

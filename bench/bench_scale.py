"""Scale bench (issue 13): streaming check/export of a large JSONL file, and Ray 1 vs 2 workers.

    python bench/bench_scale.py make PATH GB        # generate a JSONL file of at least GB gigabytes
    python bench/bench_scale.py peak check FILE ...  # run `python -m validators ...`, print its peak RSS (bytes)
    python bench/bench_scale.py run [--gb 5] [--ray-examples 100000] [--dir /tmp]
    python bench/bench_scale.py flat --gb 0.25 1 2 [--parquet]  # peak memory at each size: must not grow

``run`` prints one table: file size, examples, wall time and peak memory of the streamed
``check`` and ``export``, then the Ray engine's check time with 1 and 2 workers on the
100k-example bench file.  Peak memory is the largest resident size of the command and
every process it started (``ru_maxrss`` of the waited-for children).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from make_data import SYSTEM, sentence  # noqa: E402

PLANTED = (0, 2, 3)  # rows copied again at the very end of the file (exact, near, near)


class Examples:
    """make_data's examples, fast enough for gigabytes: each text is 4-8 (question) or
    8-13 (answer) sentences drawn from a pool of 500,000 of make_data's sentences, so texts
    are distinct (near duplicates only where planted) at a few microseconds an example."""

    def __init__(self, seed: int, pool: int = 500_000) -> None:
        rng = random.Random(seed)
        self.pool = [sentence(rng, rng.randint(6, 18)) for _ in range(pool)]
        self.rng = np.random.default_rng(seed)
        self.block: list[dict[str, object]] = []
        self.at = 0

    def __call__(self, i: int) -> dict[str, object]:
        if not self.block:
            self._fill(i)
        return self.block.pop()

    def _fill(self, i: int, size: int = 10_000) -> None:
        nq, na = self.rng.integers(4, 9, size), self.rng.integers(8, 14, size)
        picks = self.rng.integers(0, len(self.pool), int(nq.sum() + na.sum())).tolist()
        pool, at, out = self.pool, 0, []
        for k in range(size):
            q = " ".join([pool[j] for j in picks[at : at + nq[k]]])
            at += int(nq[k])
            a = " ".join([pool[j] for j in picks[at : at + na[k]]])
            at += int(na[k])
            out.append({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Order NW-{100000 + i + k}: {q}"},
                                     {"role": "assistant", "content": a}]})
        self.block = out[::-1]


def make(path: Path, gigabytes: float, seed: int = 7) -> int:
    """Stream generated examples (2 % exact, 1 % near duplicates, as make_data) to ``path``;
    then the first rows again, far apart from their originals: row 1 exactly, rows 3 and 4
    with one word changed, so the duplicate search must span the whole file."""
    example = Examples(seed)
    recent: deque[dict[str, object]] = deque(maxlen=11)
    first: list[dict[str, object]] = []
    target = int(gigabytes * 1e9)
    n = written = 0
    as_csv = path.suffix == ".csv"  # columns system, question, answer (one row an example)
    line = _csv_line if as_csv else _jsonl_line
    with path.open("w", encoding="utf-8", newline="") as fh:
        if as_csv:
            fh.write("system,question,answer\n")
        while written < target:
            row = example(n)
            if n % 50 == 1:
                row = json.loads(json.dumps(recent[-1]))
            elif n % 100 == 25 and len(recent) > 10:
                row = _altered(recent[-10])
            recent.append(row)
            if n < 4:
                first.append(row)
            text = line(row)
            fh.write(text)
            written += len(text.encode("utf-8"))
            n += 1
        for k, i in enumerate(PLANTED):
            fh.write(line(first[i] if k == 0 else _altered(first[i])))
    return n + len(PLANTED)


def _jsonl_line(row: dict[str, object]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def _csv_line(row: dict[str, object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([m["content"] for m in row["messages"]])  # type: ignore[index,union-attr]
    return buf.getvalue()


def _altered(row: dict[str, object]) -> dict[str, object]:
    row = json.loads(json.dumps(row))
    words = row["messages"][2]["content"].split()  # type: ignore[index]
    words[len(words) // 2] = "altered"
    row["messages"][2]["content"] = " ".join(words)  # type: ignore[index]
    return row


def planted_found(check_json: Path, n: int) -> dict[str, bool]:
    """Were the rows planted at the end found with their originals at the start?  Reads
    only the ``duplicates`` object at the end of ``check --json``'s output."""
    with check_json.open("rb") as fh:
        fh.seek(max(0, check_json.stat().st_size - 256 * 2**20))
        tail = fh.read().decode("utf-8", "replace")
    at = tail.rindex('"duplicates":')
    dups = json.JSONDecoder().raw_decode(tail, tail.index("{", at))[0]
    last = range(n - len(PLANTED) + 1, n + 1)
    def together(a: int, b: int) -> bool:
        return any(a in g and b in g for g in dups["exact"] + dups["near"])
    return {f"exact (row 1 and row {last[0]})": any(1 in g and last[0] in g for g in dups["exact"]),
            f"near (row 3 and row {last[1]})": together(3, last[1]),
            f"near (row 4 and row {last[2]})": together(4, last[2])}


def measure(argv: list[str], stdout: Path | None = None, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``argv``; its wall seconds, CPU seconds (user + sys of it and every process it
    started and waited for), the peak RSS of any one of them (``ru_maxrss``), and the peak
    of all of them together (the process tree's RSS summed, sampled every 0.2 s)."""
    import psutil

    start = time.perf_counter()
    out = stdout.open("wb") if stdout else subprocess.DEVNULL
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, env=env)
    tree_peak = 0
    cpu_seen: dict[int, float] = {}
    top = psutil.Process(proc.pid)
    loads: list[float] = []
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if len(loads) < 100_000:
            loads.append(os.getloadavg()[0])
        with contextlib.suppress(psutil.NoSuchProcess):
            procs = [top, *top.children(recursive=True)]
            tree_peak = max(tree_peak, sum(_rss(p) for p in procs))
            for p in procs:  # processes not waited for by the command (Ray's workers) count too
                cpu_seen[p.pid] = max(cpu_seen.get(p.pid, 0.0), _cpu(p))
        time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if stdout:
        out.close()  # type: ignore[union-attr]
    cpu = usage.ru_utime + usage.ru_stime
    cpu_seen.pop(proc.pid, None)  # the command itself: counted (with what it waited for) in its rusage
    return {"wall": wall, "cpu": _cpu_total(cpu, cpu_seen) if cpu_seen else cpu, "peak_one": usage.ru_maxrss * 1024,
            "peak_all": max(tree_peak, usage.ru_maxrss * 1024), "code": proc.returncode,
            "load_min": min(loads, default=0.0), "load_max": max(loads, default=0.0),
            "load_mean": sum(loads) / len(loads) if loads else 0.0}


def _cpu(p: object) -> float:
    try:
        t = p.cpu_times()  # type: ignore[attr-defined]
        return float(t.user + t.system)
    except Exception:  # noqa: BLE001 - a process that just ended
        return 0.0


def _cpu_total(waited: float, seen: dict[int, float]) -> float:
    """The command's own CPU with what it waited for, or, when more, the sum of every
    process seen in its tree (the last sample of each): the larger is the better lower bound."""
    return max(waited, sum(seen.values()))


def _rss(p: object) -> int:
    try:
        return p.memory_info().rss  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a process that just ended weighs nothing
        return 0


def peak(args: list[str], stdout: Path | None = None) -> dict[str, float]:
    """``measure`` of ``python -m validators ARGS`` (its output to ``stdout``, else dropped)."""
    return measure([sys.executable, "-m", "validators", *args], stdout=stdout)


RAY_RUN = """
import json, sys, time
T0 = time.perf_counter()
import ray
from validators import cli; from validators.streaming import engine_ray
ray.init(num_cpus={workers}, include_dashboard=False, runtime_env=engine_ray.runtime_env(), log_to_driver=False)
started = time.perf_counter()
code = cli.main({args!r})
took = time.perf_counter() - started
with open({split!r}, "w") as fh:  # which worker process checked which piece; the driver's own time
    json.dump({{"pieces": engine_ray.last_split, "command_s": took, "ray_start_s": started - T0}}, fh)
ray.shutdown()
sys.exit(code)
"""


def ray(path: Path, workers: tuple[int, ...] = (1, 2), out_dir: Path = Path("/tmp")) -> dict[str, object]:
    """``check --json`` and ``export`` on this machine, then with ``--engine ray`` on a local
    Ray cluster of 1 and 2 worker CPUs: wall, CPU (every process, Ray's included) and whether
    the output is byte-identical to the single-machine run."""
    res: dict[str, object] = {"file": str(path), "load_before": os.getloadavg()[0], "cores": os.cpu_count()}
    py = [sys.executable]
    # Ray starts its workers 15 steps nicer than the driver (its worker_niceness): on a
    # shared machine they then wait behind everyone else's work and the figure measures
    # the others.  Here they run at the driver's priority, like the single-machine run.
    env = {**os.environ, "RAY_worker_niceness": "0"}
    base_json, base_dir = out_dir / "ray_local.json", out_dir / "ray_local"
    runs: dict[str, object] = {}
    try:
        runs["local check"] = measure([*py, "-m", "validators", "check", str(path), "--json"], stdout=base_json)
        print(f"local check: {runs['local check']}", file=sys.stderr, flush=True)
        runs["local export"] = measure([*py, "-m", "validators", "export", str(path), "--dedupe", "near", "-o", str(base_dir / "train.jsonl")])
        print(f"local export: {runs['local export']}", file=sys.stderr, flush=True)
        for n in workers:
            got_json, got_dir = out_dir / f"ray_{n}.json", out_dir / f"ray_{n}"
            args = ["check", str(path), "--json", "--engine", "ray"]
            split = out_dir / f"ray_split_{n}.json"
            m = measure([*py, "-c", RAY_RUN.format(workers=n, args=args, split=str(split))], stdout=got_json, env=env)
            m["identical"] = got_json.read_bytes() == base_json.read_bytes()
            m.update(_split(split))
            runs[f"ray check, {n} worker(s)"] = m
            print(f"ray check, {n} worker(s): {m}", file=sys.stderr, flush=True)
            args = ["export", str(path), "--dedupe", "near", "--engine", "ray", "-o", str(got_dir / "train.jsonl")]
            m = measure([*py, "-c", RAY_RUN.format(workers=n, args=args, split=str(split))], env=env)
            m["identical"] = _files(got_dir) == _files(base_dir)
            m.update(_split(split))
            runs[f"ray export, {n} worker(s)"] = m
            print(f"ray export, {n} worker(s): {m}", file=sys.stderr, flush=True)
    finally:
        for f in out_dir.glob("ray_*"):
            shutil.rmtree(f) if f.is_dir() else f.unlink()
    res["runs"], res["load_after"] = runs, os.getloadavg()[0]
    return res


def _split(path: Path) -> dict[str, object]:
    """How the pieces were shared: examples and CPU seconds per worker process, Ray's start
    (``ray.init`` and the imports before the command) and the command's own wall seconds."""
    if not path.exists():
        return {}
    got = json.loads(path.read_text())
    per: dict[int, dict[str, float]] = {}
    for p in got["pieces"]:
        w = per.setdefault(p["pid"], {"pieces": 0, "examples": 0, "cpu_s": 0.0})
        w["pieces"] += 1
        w["examples"] += p["examples"]
        w["cpu_s"] += p["cpu_s"]
    return {"workers_seen": sorted(per.values(), key=lambda w: -w["examples"]), "ray_start_s": got["ray_start_s"], "command_s": got["command_s"]}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def ray_table(res: dict[str, object]) -> str:
    rows = [f"{res['file']}; load {res['load_before']:.1f} before, {res.get('load_after', 0):.1f} after, {res['cores']} cores, {time.strftime('%Y-%m-%d %H:%M')}",
            "| run | wall s | of which Ray's start s | CPU s (all processes) | peak MiB (all together) | same output as local | examples (CPU s) per worker process |",
            "|---|---:|---:|---:|---:|---|---|"]
    for what, m in dict(res.get("runs") or {}).items():
        same = {True: "yes", False: "NO"}.get(m.get("identical"), "(baseline)")
        start = f"{m['ray_start_s']:.1f}" if "ray_start_s" in m else ""
        split = ", ".join(f"{w['examples']:,} ({w['cpu_s']:.0f})" for w in m.get("workers_seen", []))
        rows.append(f"| {what} | {m['wall']:.1f} | {start} | {m['cpu']:.1f} | {m['peak_all'] / 2**20:.0f} | {same} | {split} |")
    return "\n".join(rows)


def stream(gb: float, folder: Path, keep: bool = False, given: Path | None = None) -> dict[str, object]:
    """Generate a ``gb`` GB JSONL file, stream ``check --json`` and ``export`` over it,
    confirm the duplicates planted far apart were found, and delete the files (unless ``keep``).
    ``given``: a file ``make`` wrote before (``bench_scale.py make``), used and kept."""
    if given is not None:
        big, made = given, 0.0
        with given.open("rb") as fh:
            n = sum(block.count(b"\n") for block in iter(lambda: fh.read(2**24), b""))
    else:
        free = shutil.disk_usage(folder).free / 1e9
        gb = min(gb, max(0.1, (free - 10) / 4))  # the file, its index, the check output and the export must fit
        big = folder / f"scale_{gb:g}gb.jsonl"
        t = time.perf_counter()
        n = make(big, gb)
        made = time.perf_counter() - t
    out: dict[str, object] = {"file_gb": big.stat().st_size / 1e9, "examples": n, "make_s": made,
                              "load_before": os.getloadavg()[0], "cores": os.cpu_count()}
    report, checked, exported = folder / "scale_report.csv", folder / "scale_check.json", folder / "scale_out.jsonl"
    py = [sys.executable, "-m", "validators"]
    try:
        out["check"] = measure([*py, "check", str(big), "--stream", "--json"], stdout=checked)
        out["planted"] = planted_found(checked, n)
        out["export"] = measure([*py, "export", str(big), "--stream", "-o", str(exported), "--report", str(report)])
        with exported.open("rb") as fh:
            lines = sum(1 for _ in fh)
        with report.open("rb") as fh:
            left = sum(1 for _ in fh) - 1
        out["export_lines"], out["report_rows"] = lines, left
        out["load_after"] = os.getloadavg()[0]
    finally:
        if not keep:
            for f in (checked, exported, report) if given else (big, checked, exported, report):
                f.unlink(missing_ok=True)
    return out


def table(res: dict[str, object]) -> str:
    rows = [f"{res['file_gb']:.2f} GB JSONL, {res['examples']:,} examples (generated in {res['make_s']:.0f} s); "
            f"load {res['load_before']:.1f} before, {res.get('load_after', 0):.1f} after, {res['cores']} cores, {time.strftime('%Y-%m-%d %H:%M')}",
            "| streamed | wall s | CPU s | peak MiB (one process) | peak MiB (all together) | load (1-min, during) | exit |", "|---|---:|---:|---:|---:|---|---:|"]
    for what in ("check", "export"):
        m = res.get(what)
        if isinstance(m, dict):
            rows.append(f"| {what} | {m['wall']:.0f} | {m['cpu']:.0f} | {m['peak_one'] / 2**20:.0f} | {m['peak_all'] / 2**20:.0f} | "
                        f"{m['load_min']:.1f}–{m['load_max']:.1f} (mean {m['load_mean']:.1f}) | {m['code']} |")
    for k, v in dict(res.get("planted") or {}).items():
        rows.append(f"planted duplicate {k}: {'found' if v else 'NOT FOUND'}")
    if "export_lines" in res:
        rows.append(f"export: {res['export_lines']:,} lines written, {res['report_rows']:,} rows in the left-out report")
    return "\n".join(rows)


def flat(sizes: list[float], folder: Path, parquet: bool = False) -> list[dict[str, object]]:
    """Peak memory of the streamed ``check --json`` and ``export`` of a generated file at
    each size (JSONL, or the same rows as Parquet): out of core means the peak does not
    grow with the file (issue 13).  Each file is deleted after its runs."""
    sys.path.insert(0, str(ROOT))
    from validators.reading import parquet_io

    rows: list[dict[str, object]] = []
    for gb in sizes:
        path = folder / f"flat_{gb:g}gb.jsonl"
        n = make(path, gb)
        if parquet:
            pq_path = path.with_suffix(".parquet")
            parquet_io.jsonl_file_to_parquet(path, pq_path)
            path.unlink()
            path = pq_path
        out = folder / f"flat_{gb:g}gb_out"
        py = [sys.executable, "-m", "validators"]
        try:
            row: dict[str, object] = {"gb": gb, "file_bytes": path.stat().st_size, "examples": n, "format": path.suffix[1:]}
            row["check"] = measure([*py, "check", str(path), "--stream", "--json"])
            row["export"] = measure([*py, "export", str(path), "--stream", "-o", str(out / "train.jsonl")])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        finally:
            path.unlink(missing_ok=True)
            shutil.rmtree(out, ignore_errors=True)
    return rows


def flat_table(rows: list[dict[str, object]]) -> str:
    out = [f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}",
           "| file | examples | check: peak MiB | export: peak MiB | check / export CPU s | load (1-min, during) |",
           "|---|---:|---:|---:|---|---|"]
    for r in rows:
        c, e = r["check"], r["export"]
        out.append(f"| {r['gb']:g} GB {r['format']} | {r['examples']:,} | {c['peak_all'] / 2**20:.0f} | {e['peak_all'] / 2**20:.0f} | "  # type: ignore[index]
                   f"{c['cpu']:.0f} / {e['cpu']:.0f} | {min(c['load_min'], e['load_min']):.1f}–{max(c['load_max'], e['load_max']):.1f} |")  # type: ignore[index]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("path", type=Path)
    m.add_argument("gb", type=float)
    k = sub.add_parser("peak", help="wall, CPU seconds, peak memory and load of one `python -m validators` command")
    k.add_argument("--out", type=Path, default=None, help="keep the command's output in this file")
    k.add_argument("args", nargs=argparse.REMAINDER)
    f = sub.add_parser("planted", help="were the planted far-apart duplicates found? (a `check --json` output of a made file)")
    f.add_argument("check_json", type=Path)
    f.add_argument("examples", type=int)
    y = sub.add_parser("ray", help="check and export with --engine ray on 1 and 2 local workers, against the local run")
    y.add_argument("file", type=Path)
    y.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    y.add_argument("--json", action="store_true")
    r = sub.add_parser("stream", help="generate a large JSONL file, stream check and export over it, delete it")
    r.add_argument("--gb", type=float, default=5.0)
    r.add_argument("--dir", type=Path, default=Path("/tmp"))
    r.add_argument("--keep", action="store_true", help="keep the generated file and outputs")
    r.add_argument("--json", action="store_true", help="print the figures as JSON")
    r.add_argument("--file", type=Path, default=None, help="a file `make` wrote before (kept): no new file is generated")
    fl = sub.add_parser("flat", help="peak memory of the streamed check and export at several file sizes")
    fl.add_argument("--gb", type=float, nargs="+", default=[0.25, 1.0, 2.0])
    fl.add_argument("--dir", type=Path, default=Path("/tmp"))
    fl.add_argument("--parquet", action="store_true", help="the same rows as a Parquet file")
    fl.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.cmd == "make":
        print(make(a.path, a.gb))
    elif a.cmd == "peak":
        m = peak(a.args, a.out)
        print(f"wall {m['wall']:.1f} s, CPU {m['cpu']:.1f} s, exit {m['code']}, peak {m['peak_all']} (all together), "
              f"{m['peak_one']} (one process), load {m['load_min']:.1f}–{m['load_max']:.1f} (mean {m['load_mean']:.1f})")
        print(json.dumps(m))
    elif a.cmd == "planted":
        print(json.dumps(planted_found(a.check_json, a.examples)))
    elif a.cmd == "ray":
        res = ray(a.file, tuple(a.workers))
        print(json.dumps(res) if a.json else ray_table(res))
    elif a.cmd == "flat":
        got = flat(a.gb, a.dir, a.parquet)
        print(json.dumps(got) if a.json else flat_table(got))
    elif a.cmd == "stream":
        res = stream(a.gb, a.dir, a.keep, a.file)
        print(json.dumps(res) if a.json else table(res))


if __name__ == "__main__":
    main()

"""``--engine ray``: the streaming check on a Ray cluster, through Ray Data.

The file (a local path, or an object-storage URI that ``pyarrow.fs`` opens: ``s3://``,
``gs://``, ``hdfs://``...) is cut into byte ranges (JSONL) or row groups (Parquet).  Ray
tasks count each range's lines, then run :func:`validators.streaming.stream.analyse` (the very
per-example checks of the in-memory path) on their examples.  Exact duplicates are grouped
by content digest and near-duplicate candidates by MinHash band key with Ray Data's own
``groupby`` (a distributed shuffle); the driver keeps the findings in the same on-disk
index as the streaming path and words them with the same functions, so the answers and
the export are identical to a single-machine run (tests/test_scale_ray.py).

The export's second pass runs on the driver (:func:`validators.streaming.stream_export.export`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..checking import duplicates
from ..counting import open_tokenizers
from ..reading import ingest, parquet_io
from ..reading.readers import InputError, Record
from . import stream
from .stream_index import READ, Index

RANGE_BYTES = 32 * 1024 * 1024  # the most one task reads
MIN_RANGE_BYTES = 1024 * 1024
PIECES_PER_CPU = 4  # a small file is still cut into enough pieces for every worker to get a share

# Who checked what in the last run (piece, worker pid, examples, CPU seconds): the bench
# reads it to show that the work was really split between the workers.
last_split: list[dict[str, Any]] = []


def runtime_env() -> dict[str, Any]:
    """Ship this package to the cluster's workers (Ray uploads it), so they run this code."""
    return {"py_modules": [str(Path(__file__).resolve().parent.parent)]}


open_binary = stream.open_binary


def _size(path: str | Path) -> int:
    with open_binary(path) as fh:
        fh.seek(0, io.SEEK_END)
        return fh.tell()


def _lines_in(path: str, start: int, end: int) -> tuple[int, int]:
    """(first byte of the first line starting in [start, end), number of such lines)."""
    with open_binary(path) as fh:
        first = _line_start(fh, start)
        fh.seek(first)
        count, pos = 0, first
        while pos < end:
            line = fh.readline()
            if not line:
                break
            count += 1
            pos += len(line)
        return first, count


def _line_start(fh: Any, start: int) -> int:
    if start == 0:
        return 0
    fh.seek(start - 1)
    if fh.read(1) == b"\n":
        return start
    return start + len(fh.readline())


def _range_records(path: str, name: str, first: int, count: int, first_line: int, bom: bool) -> tuple[list[Record], stream.Reader]:
    reader = stream.Reader(path, "jsonl")
    reader.name = name
    out = []
    with open_binary(path) as fh:
        fh.seek(first)
        for k in range(count):
            raw = fh.readline()
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if first_line + k == 1 and bom:
                raw = raw[3:]
            out.append(reader._record(first_line + k, raw, bom))
    return out, reader


def _parquet_records(path: str, group: int, first_row: int) -> list[Record]:
    import pyarrow.parquet as pq

    with open_binary(path) as fh:
        table = pq.ParquetFile(fh).read_row_group(group)
        names = table.schema.names
        cols = [parquet_io._column_values(table.column(i).combine_chunks(), table.schema.field(i).type) for i in range(table.num_columns)]
        return [Record(first_row + k, {n: parquet_io._clean(v) for n, v in zip(names, vals) if v is not None})
                for k, vals in enumerate(zip(*cols))]


def _analyse_piece(piece: dict[str, Any]) -> dict[str, Any]:
    """One Ray task: read a range, build its examples with the driver's plan, check them."""
    started = time.process_time()
    plan = pickle.loads(piece["plan"])
    bad = (0, [], "utf-8")
    if plan["fmt"] == "jsonl":
        records, reader = _range_records(piece["path"], plan["name"], piece["first"], piece["count"], piece["first_line"], plan["bom"])
        bad = (reader.n_bad, reader.bad_lines, reader.encoding)
    else:
        records = _parquet_records(piece["path"], piece["group"], piece["first_line"])
    examples = []
    for rec in records:
        ex = ingest.record_example(rec.row, rec, plan["layout"], plan["m"], plan["columns"], plan["default_system"], plan["detection"])
        ex.origin = plan["origin"]
        examples.append(ex)
    info = open_tokenizers.model_info(plan["model"], plan["max_seq_length"])
    facts = [stream.analyse(examples[i : i + stream.CHUNK_EXAMPLES], info, plan["bands"], plan["rows"], plan["names"])
             for i in range(0, len(examples), stream.CHUNK_EXAMPLES)]
    return {"piece": piece["piece"], "facts": pickle.dumps(facts), "bad": pickle.dumps(bad),
            "work": json.dumps({"piece": piece["piece"], "pid": os.getpid(), "node": _node(), "examples": len(examples),
                                "cpu_s": round(time.process_time() - started, 3)})}


def _node() -> str:
    import ray

    try:
        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # noqa: BLE001 - outside a Ray worker (tests call the task directly)
        return ""


# The shuffles group rows by a coarse *part* (a hash of the key modulo SHUFFLE_PARTS), not
# by the key itself: Ray Data's map_groups calls Python once per group, and a group per
# digest or per band bucket (nearly every one of them a single example) made the 100k
# bench file's band shuffle hundreds of thousands of Python calls on one reducer, longer
# than the whole check.  Inside a part the keys are grouped by one NumPy sort.
SHUFFLE_PARTS = 256


def _digests(parts: int) -> Any:
    def make(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        hi, lo, e = [], [], []
        for blob in batch["facts"]:
            for f in pickle.loads(blob):
                for digest, ex in f.texts:
                    hi.append(int.from_bytes(digest[:8], "little", signed=True))
                    lo.append(int.from_bytes(digest[8:16], "little", signed=True))
                    e.append(ex)
        hi_a = np.array(hi, dtype=np.int64)
        return {"part": (hi_a.view(np.uint64) % np.uint64(parts)).astype(np.int64), "hi": hi_a,
                "lo": np.array(lo, dtype=np.int64), "ex": np.array(e, dtype=np.int64)}

    return make


def _runs(keys: list[np.ndarray]) -> np.ndarray:
    """True where a new run of equal keys starts (the rows sorted by those keys)."""
    n = keys[0].size
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = np.logical_or.reduce([k[1:] != k[:-1] for k in keys])
    return new


def _exact_part(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every digest of one part met more than once: its examples in file order."""
    order = np.lexsort((group["ex"], group["lo"], group["hi"]))
    hi, lo, ex = group["hi"][order], group["lo"][order], group["ex"][order]
    starts = np.flatnonzero(_runs([hi, lo])) if ex.size else np.zeros(0, dtype=np.int64)
    ends = np.append(starts[1:], ex.size)
    firsts, members = [], []
    for a, b in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):  # repeated digests only
        firsts.append(int(ex[a]))
        members.append(json.dumps(ex[a:b].tolist()))
    return {"first": np.array(firsts, dtype=np.int64), "members": np.array(members, dtype=object)}


def _bands(repeats: np.ndarray, parts: int) -> Any:
    def make(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        bands, keys, exs = [], [], []
        for blob in batch["facts"]:
            for f in pickle.loads(blob):
                keep = ~np.isin(f.band_ex, repeats)
                for b in range(f.band_keys.shape[0]):
                    bands.append(np.full(int(keep.sum()), b, dtype=np.int64))
                    keys.append(f.band_keys[b][keep])
                    exs.append(f.band_ex[keep])
        def cat(parts_: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts_) if parts_ else np.zeros(0, dtype=np.int64)

        band, key = cat(bands), cat(keys)
        with np.errstate(over="ignore"):
            part = ((key.view(np.uint64) + band.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) % np.uint64(parts)).astype(np.int64)
        return {"part": part, "band": band, "key": key, "ex": cat(exs)}

    return make


def _bucket_pairs(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Within one part: each member of a band bucket with the bucket's first member and
    with its predecessor (as minhash.candidate_pairs pairs them)."""
    if group["ex"].size < 2:
        return {"a": np.zeros(0, dtype=np.int64), "b": np.zeros(0, dtype=np.int64)}
    order = np.lexsort((group["ex"], group["key"], group["band"]))
    band, key, ex = group["band"][order], group["key"][order], group["ex"][order]
    new = _runs([band, key])
    first_at = np.maximum.accumulate(np.where(new, np.arange(ex.size), 0))
    later = np.flatnonzero(~new)  # members after their bucket's first
    return {"a": np.concatenate([ex[first_at[later]], ex[later - 1]]), "b": np.concatenate([ex[later], ex[later]])}


def range_bytes(size: int, cpus: int) -> int:
    """Bytes per task: at most RANGE_BYTES, and small enough that every CPU of the cluster
    gets several pieces (a 134 MB file cut in 32 MiB ranges gave 5 pieces, 3 to one
    worker and 2 to the other); never under MIN_RANGE_BYTES (each task has a fixed cost)."""
    return max(MIN_RANGE_BYTES, min(RANGE_BYTES, -(-size // (PIECES_PER_CPU * max(1, cpus)))))


def _pieces(path: str, fmt: str, plan_blob: bytes, ray: Any) -> list[dict[str, Any]]:
    if fmt == "parquet":
        with open_binary(path) as fh:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(fh).metadata
        out, row = [], 1
        for g in range(meta.num_row_groups):
            out.append({"piece": g, "path": path, "group": g, "first_line": row, "plan": plan_blob})
            row += meta.row_group(g).num_rows
        return out
    size = _size(path)
    step = range_bytes(size, int(ray.cluster_resources().get("CPU", 1)))
    ranges = [(s, min(size, s + step)) for s in range(0, max(size, 1), step)]
    counted = ray.data.from_items([{"start": s, "end": e} for s, e in ranges]).map(
        lambda r: dict(zip(("first", "count"), _lines_in(path, r["start"], r["end"])), start=r["start"])).take_all()
    counted.sort(key=lambda r: r["start"])
    out, line = [], 1
    for i, r in enumerate(counted):
        out.append({"piece": i, "path": path, "first": r["first"], "count": r["count"], "first_line": line, "plan": plan_blob})
        line += r["count"]
    return out


def check(path: str | Path, fmt: str, address: str | None = None, model: str | None = None, epochs: int | None = None,
          price: float | None = None, threshold: float = duplicates.DEFAULT_THRESHOLD, overrides: dict[str, Any] | None = None,
          default_system: str | None = None, max_seq_length: int | None = None) -> stream.StreamResult:
    """The streaming check, its chunks and duplicate grouping run by Ray Data."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("--engine ray needs Ray: pip install -r requirements-scale.txt") from exc
    if not ray.is_initialized():
        ray.init(address=address, runtime_env=runtime_env(), include_dashboard=False, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # the CLI prints results, not Ray's progress
    info = open_tokenizers.model_info(model, max_seq_length)
    text = str(path)
    reader = stream.Reader(text, fmt)
    source, _ = stream.examples(reader, overrides, default_system)  # the plan, from the head of the file
    layout, columns, m = source.layout, source.columns, source.plan  # the head's mapping, not re-resolved
    bands, rows = duplicates.lsh_params(threshold)
    plan = {"fmt": fmt, "name": reader.name, "layout": layout, "m": m, "columns": columns, "default_system": default_system,
            "detection": source.detection, "max_seq_length": max_seq_length,
            "origin": ingest.ORIGIN.get(fmt, "item"), "model": info.name, "bands": bands, "rows": rows,
            "bom": reader.encoding == "utf-8-sig", "names": stream.column_names(source)}
    pieces = _pieces(text, fmt, pickle.dumps(plan), ray)
    analysed = ray.data.from_items(pieces, override_num_blocks=max(1, len(pieces))).map(_analyse_piece).materialize()
    index = Index()
    try:
        tally = stream._Tally()
        n_bad, bad_lines, encoding = 0, [], ("utf-8-sig" if plan["bom"] else "utf-8")
        last_split.clear()
        for row in analysed.iter_rows():
            last_split.append(json.loads(row["work"]))
            for facts in pickle.loads(row["facts"]):
                stream.absorb(index, tally, facts, duplicates_too=False)
            nb, bl, enc = pickle.loads(row["bad"])
            n_bad += nb
            bad_lines += bl
            encoding = enc if nb else encoding
        reader.n_bad, reader.bad_lines, reader.encoding = n_bad, bad_lines[:10], encoding
        if fmt == "jsonl":
            reader.pieces = sum(p["count"] for p in pieces) + 1
            if n_bad > max(1, reader.pieces // 10):
                raise InputError(f"{reader.name} is not UTF-8 on {n_bad} lines. Save it as UTF-8 and check it again.")
        source.encoding = reader.encoding
        index.add_findings(READ, reader.read_findings())
        exact = _exact_groups(analysed)
        repeats = np.array(sorted({i for g in exact for i in g[1:]}), dtype=np.int64)
        near = _near_groups(analysed, repeats, index, threshold)
        return stream.finish(index, tally, source, info, epochs, price, threshold, exact, near)
    except BaseException:
        index.close()
        raise


def _partitions(analysed: Any) -> int:
    """Shuffle partitions: a few per piece of the file, not Ray's default 200 (one actor
    each, too many for a small cluster)."""
    return max(2, min(64, 2 * analysed.count()))


def _exact_groups(analysed: Any) -> list[list[int]]:
    grouped = (analysed.map_batches(_digests(SHUFFLE_PARTS), batch_format="numpy")
               .groupby("part", num_partitions=_partitions(analysed)).map_groups(_exact_part, batch_format="numpy"))
    groups = [json.loads(r["members"]) for r in grouped.take_all()]
    return sorted(groups, key=lambda g: g[0])


def _near_groups(analysed: Any, repeats: np.ndarray, index: Index, threshold: float) -> list[list[int]]:
    pairs = (analysed.map_batches(_bands(repeats, SHUFFLE_PARTS), batch_format="numpy")
             .groupby("part", num_partitions=_partitions(analysed)).map_groups(_bucket_pairs, batch_format="numpy"))
    parts = [(b["a"], b["b"]) for b in pairs.iter_batches(batch_format="numpy") if len(b["a"])]
    if not parts:
        return []
    both = np.unique(np.stack([np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])], axis=1), axis=0)
    return stream.confirm(index, both[:, 0], both[:, 1], threshold)

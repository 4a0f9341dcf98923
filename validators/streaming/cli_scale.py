"""The CLI's large-file faces: streaming (any size, bounded memory), Parquet out, and Ray.

``python -m validators check|export FILE`` streams a JSONL or Parquet file when it is
larger than :data:`validators.streaming.stream.STREAM_ABOVE_BYTES` or when ``--stream`` is given;
``--engine ray`` runs the same checks on a Ray cluster (:mod:`validators.streaming.engine_ray`).
The printed results are the in-memory path's, word for word.
"""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exporting import next_steps
from ..reading import mapping, parquet_io
from ..reading.readers import InputError
from . import stream, stream_export


def add_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by check and export."""
    p.add_argument("--stream", action="store_true", help=f"read a JSONL or Parquet file in chunks with on-disk indexes (automatic above {stream.STREAM_ABOVE_BYTES // 2**20} MiB or {stream.STREAM_ABOVE_EXAMPLES:,} examples)")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="where to run: this machine (default) or a Ray cluster")
    p.add_argument("--ray-address", default=None, metavar="ADDR", help="Ray cluster to join (default: RAY_ADDRESS, else a local Ray)")


def add_export_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output-format", choices=["jsonl", "parquet"], default=None, help="file format of the export (default: from the -o name; .parquet → parquet)")


def output_format(args: argparse.Namespace) -> str:
    return args.output_format or ("parquet" if str(args.output).lower().endswith(".parquet") else "jsonl")


def wanted(args: argparse.Namespace) -> bool:
    """Stream (or use Ray) for this command?  Raises UsageError for a file that cannot be."""
    from ..cli import UsageError

    if args.engine == "ray":
        return True  # a local path or an object-storage URI
    path = Path(args.file)
    try:
        fmt = stream.format_of(path, args.fmt) if path.is_file() else None
    except OSError:
        fmt = None
    if not path.is_file():
        return False  # the normal path words the problem (missing file, folder, pipe)
    if fmt is None:
        if args.stream:
            raise UsageError("--stream reads JSONL, Parquet, CSV or TSV files; convert the file or leave --stream out")
        return False
    if getattr(args, "read_whole", False):
        return False  # the streamed reading found a file only the whole-file reader can read
    if fmt in ("csv", "tsv") and _csv_choices_need_whole(args):
        if args.stream:
            raise UsageError("--header no, --join-lines and --encoding (other than utf-8) need the whole file: leave --stream out")
        return False
    return args.stream or stream.too_large_for_memory(path, fmt)


def _csv_choices_need_whole(args: argparse.Namespace) -> bool:
    enc = getattr(args, "encoding", None)
    return (getattr(args, "header", None) == "no" or bool(getattr(args, "join_lines", False))
            or bool(enc and enc.lower().replace("_", "-") not in ("utf-8", "utf8")))


def _whole(args: argparse.Namespace, why: Exception, command: Any) -> int:
    """A CSV/TSV file the streamed reading cannot read as the whole-file reader does:
    read it whole (said on stderr), as for a small file."""
    print(f"Reading {stream.name_of(args.file)} whole, not in chunks: {why}.", file=sys.stderr)
    args.read_whole = True
    return int(command(args))


def _overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    """--map and --speaker, as cli._load passes them to ingest."""
    overrides: dict[str, Any] = dict(mapping.parse_map_args(args.map))
    chosen_speakers = mapping.parse_speaker_args(getattr(args, "speaker", []))
    if chosen_speakers:
        overrides["speakers"] = chosen_speakers
    return overrides or None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from ..cli import _counting_model

    return {"model": _counting_model(args), "epochs": args.epochs, "price": args.price, "threshold": args.threshold,
            "overrides": _overrides(args), "default_system": args.system, "max_seq_length": getattr(args, "max_seq_length", None)}


def _refuse_reading_flags(args: argparse.Namespace, fmt: str) -> None:
    """The CSV/TSV reading choices do not apply to a streamed JSONL or Parquet file: said
    plainly rather than ignored.  A streamed JSONL file is read as UTF-8 (lines that are not
    are read as Windows-1252 and reported), Parquet stores its own text encoding."""
    from ..cli import UsageError

    what = "JSONL" if fmt == "jsonl" else "Parquet"
    if getattr(args, "header", None) is not None:
        raise UsageError(f"--header applies to CSV/TSV files; a {what} file has no header row. Leave --header out.")
    if getattr(args, "join_lines", False):
        raise UsageError(f"--join-lines applies to CSV/TSV files, not to a {what} file. Leave --join-lines out.")
    enc = getattr(args, "encoding", None)
    if enc and not (fmt == "jsonl" and enc.lower().replace("_", "-") in ("utf-8", "utf8")):
        raise UsageError(f"--encoding is not available for a large or streamed {what} file: it is read as UTF-8. "
                         "Save the file as UTF-8, or check it without --stream if it is small enough.")


def _run_check(args: argparse.Namespace) -> stream.StreamResult:
    from ..cli import UsageError

    if args.epochs is not None and not 1 <= args.epochs <= 50:
        raise UsageError("--epochs must be between 1 and 50")
    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be above 0 and at most 1")
    _check_max_seq_length(args)
    if getattr(args, "targets", None):
        raise UsageError("--targets is not available for a streamed file; check a sample of it without --stream")
    fmt = stream.format_of(args.file, args.fmt)
    if fmt is None or (args.engine == "ray" and fmt not in ("jsonl", "parquet")):
        raise UsageError("--engine ray reads JSONL or Parquet files; convert the file first")
    if fmt in ("jsonl", "parquet"):
        _refuse_reading_flags(args, fmt)
    if args.engine == "ray":
        from . import engine_ray

        result = engine_ray.check(args.file, fmt, address=args.ray_address, **_options(args))
    else:
        header = {"yes": True, "no": False}.get(getattr(args, "header", None) or "")
        try:
            result = stream.check(args.file, fmt, **_options(args), **({"header": header} if fmt in ("csv", "tsv") else {}))
        except stream.Unmapped as unmapped:
            _unmapped(unmapped.source)
    _unmapped(result.source, result)
    return result


def _unmapped(source: stream.Source, result: stream.StreamResult | None = None) -> None:
    """As cli._load: no column mapped is an error whose flags are the mapping editor."""
    problem = source.detection.get("problem")
    if problem:
        from ..cli import map_hint

        if result is not None:
            result.close()
        raise InputError(f"{problem} {map_hint(source.columns)}")


def _check_max_seq_length(args: argparse.Namespace) -> None:
    """cli._check's rules for --max-seq-length."""
    from .. import catalog
    from ..cli import UsageError, _counting_model
    from ..counting import open_tokenizers

    n = getattr(args, "max_seq_length", None)
    if n is None:
        return
    if n < 1:
        raise UsageError("--max-seq-length must be at least 1")
    model = _counting_model(args)
    if not (model and open_tokenizers.is_open(model) and model not in catalog.models()):
        raise UsageError("--max-seq-length applies to an open --base-model (an OpenAI model's limit is fixed)")


def ends_cleanly_on_sigterm(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A streamed run that is terminated (``kill``, a stopped job) ends through the same
    ``finally`` blocks as an error, so its temporary index, gigabytes for a large file, is
    removed; Python's default for SIGTERM ends the process without running them.  (SIGKILL
    cannot be caught: its folder, ``ftprep-stream-*`` in the temporary directory, stays.)"""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        if threading.current_thread() is not threading.main_thread():
            return command(args)  # only the main thread may set a signal handler

        def stop(signum: int, _frame: Any) -> None:
            raise SystemExit(128 + signum)

        before = signal.signal(signal.SIGTERM, stop)
        try:
            return command(args)
        finally:
            signal.signal(signal.SIGTERM, before)

    return run


@ends_cleanly_on_sigterm
def cmd_check(args: argparse.Namespace) -> int:
    from ..cli import human_summary
    from .stream_csv import NotStreamable

    try:
        result = _run_check(args)
    except NotStreamable as why:
        from ..cli import cmd_check as whole

        return _whole(args, why, whole)
    try:
        data = result.to_json()
        data["source"] = result.source.to_json()
        if args.json:
            json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        else:
            print(human_summary(data))
        return 1 if result.n_errors() else 0
    finally:
        result.close()


@ends_cleanly_on_sigterm
def cmd_export(args: argparse.Namespace) -> int:
    from .stream_csv import NotStreamable

    try:
        result = _run_check(args)
    except NotStreamable as why:
        from ..cli import cmd_export as whole

        return _whole(args, why, whole)
    try:
        out = stream_export.export(result, args.file, args.output, args.target, args.validation_split, args.dedupe, args.seed,
                            args.report, output_format(args), _overrides(args), args.system)
        n_errors = result.n_errors()
    finally:
        result.close()
    files = out.files
    print(f"Wrote {out.train} training example(s) to {files['train']}")
    if "validation" in files:
        print(f"Wrote {out.validation} validation example(s) to {files['validation']}")
    print(f"{out.rows_left_out} source row(s) left out, listed in {files['report']}")
    if out.train and not out.problems and not args.quiet:
        step = next_steps.for_export(args.target, files["train"], files.get("validation"), result.model.name, out.kinds, args.base_model)
        print("\nNext step, to start training on this file:\n\n" + step)
    for p in out.problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    if n_errors:
        print(f"{n_errors} error(s) found: those examples were left out (see the report).", file=sys.stderr)
    return 1 if out.problems or n_errors else 0


def to_parquet(out: Any) -> None:
    """The in-memory export's files as Parquet (``-o x.parquet`` / ``--output-format parquet``)."""
    out.train = parquet_io.jsonl_bytes_to_parquet(out.train)
    if out.validation is not None:
        out.validation = parquet_io.jsonl_bytes_to_parquet(out.validation)

"""Command line: ``python -m validators check|export FILE ...``.

Exit codes: 0 no errors, 1 errors found (or the export would be refused), 2 the input
cannot be read or the arguments are wrong.  Problems are printed as plain sentences on
stderr; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import math
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from . import catalog
from .checking import checks, forked, gc_pause, json_text
from .counting import open_tokenizers
from .exporting import export, next_steps, report, targets
from .reading import ingest, mapping
from .reading.readers import InputError
from .streaming import cli_scale


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit with its own text
        raise UsageError(f"{message}. Run 'python -m validators {self.prog.split()[-1]} --help' for usage.")


def _price(text: str) -> float:
    """USD per 1M tokens: a finite number, 0 or more (``nan`` and ``inf`` parse as floats)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of dollars") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a price: give dollars per 1M tokens, 0 or more")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="CSV, TSV, XLSX, JSON or JSONL file")
    p.add_argument("--model", default=None, help=f"model to count tokens and price for (default {catalog.default_model()})")
    p.add_argument("--map", action="append", default=[], metavar="ROLE=COLUMN", help="map a column to a role: system, user, assistant, context, weight, chosen, rejected, conversation, turn, role, content")
    p.add_argument("--speaker", action="append", default=[], metavar="LABEL=ROLE", help="one message per row: what a speaker label is (user, assistant, system, tool, ignore), e.g. --speaker SYSTEM=assistant --speaker USER=user")
    p.add_argument("--encoding", default=None, metavar="NAME", help="text encoding of a CSV/TSV/JSON file, e.g. mac_roman or cp1252 (default: detected from the bytes)")
    p.add_argument("--header", choices=["yes", "no"], default=None,
                   help="CSV/TSV: does the first row hold column names? (default: guessed; 'no' names the columns Column 1, Column 2, ...)")
    p.add_argument("--join-lines", action="store_true",
                   help="CSV/TSV: join lines that a line break outside quotes cut off to the row above (they are reported either way)")
    p.add_argument("--system", default=None, metavar="TEXT", help="default system prompt for examples that have none")
    p.add_argument("--sheet", default=None, help="XLSX sheet (default: the first)")
    p.add_argument("--format", dest="fmt", choices=["csv", "tsv", "xlsx", "json", "jsonl", "parquet"], default=None, help="override the format guessed from the file name")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: OpenAI's auto heuristic)")
    p.add_argument("--price", type=_price, default=None, help="training price in USD per 1M tokens (default: the catalogue's)")
    p.add_argument("--threshold", type=float, default=0.8, help="Jaccard similarity for near duplicates (default 0.8)")
    p.add_argument("--max-seq-length", type=int, default=None, metavar="N",
                   help=f"with an open --base-model: the trainer's max_seq_length, where examples are cut (default {open_tokenizers.DEFAULT_MAX_SEQ_LENGTH}, TRL's)")
    cli_scale.add_flags(p)  # issue 13: --stream, --engine ray


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="python -m validators", description="Check and export chat fine-tuning data.")
    sub = root.add_subparsers(dest="command", parser_class=_Parser)
    c = sub.add_parser("check", help="validate, count tokens, estimate cost, find duplicates")
    _common(c)
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--targets", default=None, help="'all' or a comma list: also check each export target's rules")
    c.add_argument("--base-model", default=None, metavar="MODEL",
                   help="open base model to count with its own tokenizer and chat template (e.g. mistralai/Mistral-7B-Instruct-v0.3, "
                        "meta-llama/Meta-Llama-3-8B-Instruct, or a local tokenizer folder)")
    e = sub.add_parser("export", help="write a JSONL file ready for a fine-tuning job")
    _common(e)
    e.add_argument("--to", dest="target", default=None,
                   help=f"target: {', '.join(targets.FAMILIES)} (default {catalog.default_target()}: OpenAI until its wind-down date)")
    e.add_argument("--layout", default=None, help="layout of the target: trl messages|prompt-completion, autotrain messages|text, unsloth sharegpt|messages, "
                   "together conversational|instruction|preference, bedrock nova|prompt-completion")
    e.add_argument("-o", "--output", required=True, help="output file")
    e.add_argument("--validation-split", type=float, default=0.0, help="fraction for a validation file, e.g. 0.1")
    e.add_argument("--dedupe", choices=export.DEDUPE_MODES, default="none", help="leave out duplicates (keep the first of each group)")
    e.add_argument("--report", default=None, help="where to write the left-out rows (default OUT.left-out.csv)")
    e.add_argument("--report-dir", default=None, metavar="DIR",
                   help="also write the validation report (FILE.validation-report.json) and the findings (FILE.findings.csv) "
                        "into DIR, as the Export page offers them")
    e.add_argument("--seed", type=int, default=0, help="seed of the validation split")
    e.add_argument("--base-model", default=None, help="model named in the printed next step (default: --model for OpenAI/Azure, a small open model otherwise)")
    e.add_argument("--quiet", action="store_true", help="do not print the next step")
    cli_scale.add_export_flags(e)
    # --- submit (issue 4): lives in cli_submit.py ---
    from .submitting import cli_submit

    cli_submit.add_parser(sub, _common)
    return root


def _load(args: argparse.Namespace) -> Any:
    overrides: dict[str, Any] = dict(mapping.parse_map_args(args.map))
    chosen_speakers = mapping.parse_speaker_args(getattr(args, "speaker", []))
    if chosen_speakers:
        overrides["speakers"] = chosen_speakers
    ds = ingest.load_file(args.file, fmt=args.fmt, sheet=args.sheet, mapping=overrides or None, default_system=args.system,
                          encoding=getattr(args, "encoding", None), header={"yes": True, "no": False}.get(args.header or ""),
                          join_lines=args.join_lines)
    problem = ds.detection.get("problem")
    if problem:  # the browser shows the mapping editor; here the flags are the editor
        raise InputError(f"{problem} {map_hint(ds.columns)}")
    return ds


def map_hint(columns: list[str]) -> str:
    """The flags that would map this file, with its own column names."""
    q, a = (columns + ["Question", "Answer"])[:2] if len(columns) >= 2 else ("Question", "Answer")
    return f"Map them, e.g. --map user={q!r} --map assistant={a!r}."


def _counting_model(args: argparse.Namespace) -> str | None:
    """The model whose tokenizer counts: ``--base-model`` when it names an open model.  For
    ``check`` its tokenizer must load (an error otherwise); for ``export``, where the flag
    also names the next step's model, an unavailable tokenizer is said and --model counts."""
    base = getattr(args, "base_model", None)
    if not base or not open_tokenizers.is_open(base) or base in catalog.models():
        return args.model
    if args.command == "check":
        return base
    try:
        open_tokenizers.load(base)
        return base
    except open_tokenizers.OpenTokenizerError as exc:
        print(f"note: {exc} Token counts use {catalog.model(args.model).name}'s encoding instead.", file=sys.stderr)
        return args.model


def _check(args: argparse.Namespace) -> checks.CheckResult:
    if args.epochs is not None and not 1 <= args.epochs <= 50:
        raise UsageError("--epochs must be between 1 and 50")
    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be above 0 and at most 1")
    if args.max_seq_length is not None and args.max_seq_length < 1:
        raise UsageError("--max-seq-length must be at least 1")
    model = _counting_model(args)
    if args.max_seq_length is not None and not (model and open_tokenizers.is_open(model) and model not in catalog.models()):
        raise UsageError("--max-seq-length applies to an open --base-model (an OpenAI model's limit is fixed)")
    ds = _load(args)
    return checks.check_dataset(ds, model=model, epochs=args.epochs, price=args.price, threshold=args.threshold,
                                max_seq_length=args.max_seq_length), ds


def cmd_check(args: argparse.Namespace) -> int:
    if cli_scale.wanted(args):  # large JSONL / Parquet, or --engine ray (issue 13)
        return cli_scale.cmd_check(args)
    # One pause from reading to the answer: between the reading's pause and the check's, the
    # collector would walk every object the reading made (0.1 s at 100k examples, on one core).
    with gc_pause.paused():
        rc = _report_check(args)
        # Every object made while the collector was paused sits in its youngest generation:
        # the first collection after the pause would walk them all (0.13 s at 100,000
        # examples, on one core) though the answer is out.  Frozen, collections skip them
        # (reference counting still frees them).
        gc.freeze()
        return rc


def _report_check(args: argparse.Namespace) -> int:
    result, ds = _check(args)
    data = result.to_json()
    data["source"] = {"file": ds.source_name, "format": ds.source_format, "encoding": ds.encoding, "layout": ds.layout, "mapping": ds.mapping,
                      "confidence": ds.detection.get("confidence"), "reasons": ds.detection.get("reasons", []),
                      "speaker_counts": ds.detection.get("speaker_counts", {})}
    if args.targets:
        from .exporting.matrix import target_matrix

        names = list(targets.TARGETS) if args.targets == "all" else [t.strip() for t in args.targets.split(",")]
        for n in names:
            targets.get(n)
        data["targets"] = target_matrix(result, names)
    if args.json:
        print(json_text.dumps(data))  # json.dumps(data, ensure_ascii=False, indent=1), written by orjson
    else:
        print(human_summary(data))
    _ANSWERED[:] = [(result, ds, data)]  # not freed object by object after the answer: see end()
    return 1 if result.errors else 0


# The answers of the checks this process ran, kept so their objects (every example, record
# and finding: millions at 100,000 examples) are not freed one by one once the answer is
# out (0.1 s on one core); the process ends next (:func:`end`) and the system takes the
# memory back at once.
_ANSWERED: list[Any] = []


def end(rc: int) -> None:
    """Exit with ``rc``.  After a ``check`` that only wrote its answer, without the
    interpreter's teardown (freeing every object of the answer: 0.3 s at 100,000 examples):
    the output is flushed, no other thread runs and nothing was written that a teardown
    would finish.  Otherwise the ordinary exit."""
    if _ANSWERED and threading.active_count() == 1:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
            forked.reap()  # the answer is out: the forked child's exit is waited for, so its CPU time counts as this process's
            os._exit(rc)
    sys.exit(rc)


def mapping_line(source: dict[str, Any]) -> str | None:
    """``  columns: user=Question, assistant=Answer (sure)``: what was read as what, and how sure."""
    m = {k: v for k, v in (source.get("mapping") or {}).items() if k not in ("default_system", "speakers")}
    if not m:
        return None
    speakers = (source.get("mapping") or {}).get("speakers") or {}
    text = ", ".join(f"{k}={v}" for k, v in m.items())
    if speakers:
        text += "; speakers " + ", ".join(f"{k}={v}" for k, v in speakers.items())
    return f"  columns: {text} ({source.get('confidence') or 'chosen'}; change with --map ROLE=COLUMN / --speaker LABEL=ROLE)"


def human_summary(data: dict[str, Any]) -> str:
    t = data["tokens"]
    lines = [
        f"{data['source']['file']}: {data['examples']} examples ({data['source']['format']}, {data['source']['layout']}), model {data['model']}",
        f"  errors: {len(data['errors'])}   warnings: {len(data['warnings'])}",
        f"  tokens ({t['encoding']}): total {t['total']:,}, billed {t['billing']:,}, over the {t['limit']:,} limit: {len(t['over_limit'])}"
        + (f", trained (assistant-only loss) {t['assistant_total']:,}" if t["encoding"].startswith(open_tokenizers.PREFIX) else "")
        + ("; its chat template has no generation markers, so assistant-only loss cannot mask the prompts (every token counted as trained)"
           if t.get("generation_markers") is False else ""),
        f"  epochs {data['epochs']} → {data['charged_tokens']:,} charged tokens ≈ ${data['cost_usd']:.2f}"
        + (" (your own hardware: no price per token; --price compares a hosted service)" if t["encoding"].startswith(open_tokenizers.PREFIX) else ""),
        f"  duplicates: {len(data['duplicates']['exact'])} exact group(s), {len(data['duplicates']['near'])} near group(s)",
    ]
    mapped = mapping_line(data["source"])
    if mapped:
        lines.insert(1, mapped)
    for f in (data["errors"] + data["warnings"])[:50]:
        lines.append(f"  {f['severity'].upper():7} {f['code']}: {f['message']}")
    more = len(data["errors"]) + len(data["warnings"]) - 50
    if more > 0:
        lines.append(f"  … and {more} more (use --json for all)")
    for row in data.get("targets", {}).get("rows", []):
        lines.append(f"  target {row['target']:10} {'PASS' if row['pass'] else 'FAIL'} {'; '.join(row['needs'])}")
        lines.append(f"    training price: {row['price']}")
        if row.get("tokens"):
            lines.append(f"    {row['tokens']}")
    return "\n".join(lines)


def cmd_export(args: argparse.Namespace) -> int:
    args.target = targets.resolve(args.target or catalog.default_target(), args.layout).name
    if not 0 <= args.validation_split < 1:
        raise UsageError("--validation-split must be at least 0 and below 1")
    if cli_scale.wanted(args):  # large JSONL / Parquet, or --engine ray (issue 13)
        if args.report_dir:  # the streamed export keeps no findings list to report from
            raise UsageError("--report-dir needs the whole file in memory; it cannot be used with --stream, --engine ray, "
                             "or a file too large to hold in memory (leave --report-dir out: the left-out report is still written)")
        return cli_scale.cmd_export(args)
    result, ds = _check(args)
    out = export.build(result, args.target, args.validation_split, args.dedupe, args.seed, ds.source_rows)
    if cli_scale.output_format(args) == "parquet":
        cli_scale.to_parquet(out)
    files = export.write(out, args.output, args.report, source=args.file)
    s = out.summary()
    print(f"Wrote {s['train_examples']} training example(s) to {files['train']}")
    if "validation" in files:
        print(f"Wrote {s['validation_examples']} validation example(s) to {files['validation']}")
    print(f"{s['rows_left_out']} source row(s) left out, listed in {files['report']}")
    if args.report_dir:
        name = os.path.basename(args.file)
        written = report.write(args.report_dir, name, report.validation_report(name, ds.source_format, ds.source_rows, [], result, out),
                               report.findings_csv(result))
        print(f"Wrote the validation report to {written['validation_report']} and the findings to {written['findings']}")
    if out.train_examples and not out.problems and not args.quiet:
        step = next_steps.for_export(args.target, files["train"], files.get("validation"), result.model.name,
                                     out.train_examples, args.base_model)
        print("\nNext step, to start training on this file:\n\n" + step)
    for p in out.problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    if result.errors:
        print(f"{len(result.errors)} error(s) found: those examples were left out (see the report).", file=sys.stderr)
    return 1 if out.problems or result.errors else 0


def _quiet_broken_pipe() -> int:
    """``check … | head`` closed the pipe: stop quietly, as Unix tools do (exit 141 = SIGPIPE)."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return 141


def _os_error_text(exc: OSError) -> str:
    where = exc.filename or "a file"
    words = {errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.ENOENT: "no such file or folder",
             errno.EISDIR: "it is a folder, not a file", errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.ENOSPC: "the disk is full", errno.EROFS: "the disk is read-only"}
    return f"{where}: {words.get(exc.errno, exc.strerror or str(exc))}. Check the path and its permissions, then run again."


def _quiet_out_of_memory(unraisable: Any) -> None:
    """When the file does not fit in memory, objects being torn down (a generator, a thread
    pool) fail too and Python prints "Exception ignored in ..." before our one sentence;
    those add nothing for the user.  Anything else is reported as Python would."""
    if isinstance(unraisable.exc_value, MemoryError):
        return
    sys.__unraisablehook__(unraisable)


def main(argv: Sequence[str] | None = None) -> int:
    sys.unraisablehook = _quiet_out_of_memory
    try:
        args = parser().parse_args(argv)
        if args.command is None:
            parser().print_help()
            return 2
        if args.command == "submit":  # issue 4
            from .submitting import cli_submit

            return cli_submit.cmd_submit(args, _check)
        rc = {"check": cmd_check, "export": cmd_export}[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below, not at exit
        return rc
    except (InputError, UsageError, export.ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: the file is too large to process in the memory available.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C); no file was written or changed.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as exc:  # a file or folder the user named: missing, not allowed, a folder
        print(f"error: {_os_error_text(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug must still end in a sentence, not a traceback
        if os.environ.get("FTPREP_DEBUG"):
            raise
        print(f"error: unexpected problem ({type(exc).__name__}: {exc}). Please report it with the file; set FTPREP_DEBUG=1 for details.", file=sys.stderr)
        return 2

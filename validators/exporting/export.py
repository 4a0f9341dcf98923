"""Write the export and the report of what was left out.

Examples with errors are never written as they are: they are left out and listed, one
line per source row, with the reason.  The accounting is checked before anything is
returned: source rows = rows exported + rows reported, always.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import codes
from ..checking.checks import CheckResult
from ..model import Example, Finding, learn_per_object
from ..reading.readers import MAX_FILE_BYTES, MIB
from . import targets as targets_mod
from .csv_safe import to_csv
from .targets.base import is_plain, remembered

DEDUPE_MODES = ("none", "exact", "near")


class AccountingError(AssertionError):
    """A source row is neither exported nor reported: a bug, never silently ignored."""


@dataclass(frozen=True)
class LeftOutKind:
    """One kind of reason for leaving rows out: its code (a finding code or a
    :class:`codes.LeftOut`), the sentence people read without example and row numbers, and how
    many source rows it covers."""

    code: str
    label: str
    rows: int


_DUP_LABEL = "a duplicate of another example"


def _kind(ex: Example, errors: list[Finding] | None) -> tuple[str, str]:
    """(code, label) of why ``ex`` is left out; the label is the first error's own sentence."""
    if ex.dropped:
        code = ex.dropped_code or "dropped"
        return code, _DUP_LABEL if code == codes.LeftOut.DUPLICATE else ex.dropped
    if errors:
        first = errors[0]
        return first.code, (first.text or first.message).split(". ")[0].rstrip(".")
    return "unreadable", ex.problem or "could not be read"


def _group_kinds(kinds: list[tuple[str, str, int]]) -> list[LeftOutKind]:
    counts: Counter[tuple[str, str]] = Counter()
    for code, label, rows in kinds:
        counts[(code, label)] += rows
    return [LeftOutKind(code, label, n) for (code, label), n in counts.most_common()]


class Lines:
    """A JSONL file as the lines it is joined from (each kept by the render cache anyway): the
    bytes are joined only when asked for (a download, a write), never kept.  Why: the Export page
    keeps its last exports, and at 380,000 examples each file joined is another 500 MB."""

    __slots__ = ("head", "lines", "size")

    def __init__(self, head: bytes, lines: list[bytes]) -> None:
        self.head, self.lines = head, lines
        self.size = len(head) + sum(map(len, lines))

    def join(self) -> bytes:
        return b"".join([self.head, *self.lines]) if self.head else b"".join(self.lines)


def _joined(value: bytes | Lines | None) -> bytes | None:
    return value.join() if isinstance(value, Lines) else value


@dataclass
class ExportResult:
    target: str
    _train: bytes | Lines  # ``train``: the training file
    _validation: bytes | Lines | None  # ``validation``: the validation file, or None without a split
    report: bytes  # CSV: row,reason
    train_examples: list[Example]
    validation_examples: list[Example]
    left_out: list[tuple[int, str]]  # (source row, reason)
    problems: list[str] = field(default_factory=list)  # file-level rules of the target not met
    kinds: list[LeftOutKind] = field(default_factory=list)  # the left-out rows grouped by why, most rows first

    @property
    def train(self) -> bytes:
        """The training file's bytes (joined now from its lines when the export was built with a cache)."""
        return _joined(self._train) or b""

    @train.setter
    def train(self, value: bytes) -> None:
        self._train = value

    @property
    def validation(self) -> bytes | None:
        return _joined(self._validation)

    @validation.setter
    def validation(self, value: bytes | None) -> None:
        self._validation = value

    @property
    def train_size(self) -> int:
        """The training file's size in bytes, without joining it."""
        return self._train.size if isinstance(self._train, Lines) else len(self._train)

    @property
    def duplicates_left_out(self) -> int:
        """Source rows left out as duplicates, decided by code (never by the reason's text)."""
        return sum(k.rows for k in self.kinds if k.code == codes.LeftOut.DUPLICATE)

    @property
    def exported_rows(self) -> int:
        return sum(len(e.rows) for e in self.train_examples + self.validation_examples)

    def summary(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "train_examples": len(self.train_examples),
            "validation_examples": len(self.validation_examples),
            "rows_exported": self.exported_rows,
            "rows_left_out": len(self.left_out),
            "problems": self.problems,
        }


def _line_encoder() -> Any:
    """``json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)``'s own C
    encoder, made once: ``json.dumps`` builds an encoder object and a C encoder for every
    call, a fifth of the time of rendering 100,000 short lines.  Same bytes (the one the
    stdlib uses), without the check for circular references: records are parsed JSON, trees."""
    from json.encoder import c_make_encoder, encode_basestring

    if c_make_encoder is None:  # a Python built without the C accelerator
        return None
    enc = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    return c_make_encoder(None, enc.default, encode_basestring, None, enc.key_separator, enc.item_separator, False, False, False)


_ENCODE = _line_encoder()


def dumps_line(obj: Any) -> str:
    """One JSONL line: compact, characters written as themselves (no \\u escapes)."""
    if _ENCODE is None or not isinstance(obj, dict):
        return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    return "".join(_ENCODE(obj, 0))


def apply_dedupe(result: CheckResult, mode: str) -> list[Example]:
    """Mark every non-first member of each duplicate group as left out."""
    if mode not in DEDUPE_MODES:
        raise ValueError(f"dedupe must be one of {DEDUPE_MODES}")
    groups = [] if mode == "none" else result.dupes.exact + (result.dupes.near if mode == "near" else [])
    by_index = {e.index: e for e in result.examples}
    reason: dict[int, str] = {}
    for g in groups:
        first = by_index[g[0]]
        for other in g[1:]:
            reason.setdefault(other, f"duplicate of example {first.index} (row {first.row})")
    dup = codes.LeftOut.DUPLICATE.value
    return [replace(e, dropped=reason[e.index], dropped_code=dup) if e.index in reason and not e.dropped else e for e in result.examples]


def split(examples: list[Example], fraction: float, groups: list[list[int]], seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Deterministic train/validation split; members of a duplicate group stay together."""
    if fraction <= 0 or len(examples) < 2:
        return list(examples), []
    if fraction >= 1:
        raise ValueError("validation split must be below 1")
    present = {e.index for e in examples}
    unit_of: dict[int, int] = {}
    for gid, g in enumerate(groups):
        for i in g:
            if i in present:
                unit_of[i] = gid
    units: dict[object, list[Example]] = {}
    for e in examples:
        units.setdefault(("g", unit_of[e.index]) if e.index in unit_of else ("e", e.index), []).append(e)
    keys = list(units)
    random.Random(seed).shuffle(keys)
    want = max(1, round(len(examples) * fraction))
    val_ids: set[int] = set()
    for k in keys:
        if len(val_ids) >= want:
            break
        if len(val_ids) + len(units[k]) <= want or not val_ids:
            val_ids.update(e.index for e in units[k])
    train = [e for e in examples if e.index not in val_ids]
    val = [e for e in examples if e.index in val_ids]
    return train, val


class RenderCache:
    """Each example's rendered line and each target's file rules, kept between exports.

    Why: on the Export page, choosing another split or duplicate mode (or coming back to a
    target) must not render 100,000 examples again.  A line is reused only while the example
    is the very same object (an edit or a fix makes a new one, so its line is rendered
    afresh); the rules' answer only for the very same list of kept examples.  Only the
    ``targets`` most recently used targets are kept: each holds a line per example.

    Most targets write most examples as the record itself (OpenAI, Azure; TRL, Unsloth's and
    AutoTrain's messages, Together for a plain example: ``Target.line_is_record``): those lines
    are written once, kept apart from any target, and shared by every such target, so a second
    target of 380,000 examples writes only its other lines (seconds less, and no second copy).
    """

    def __init__(self, targets: int = 2) -> None:
        self.targets = targets
        # per target: example number → (the example object rendered, its line); two dicts, not one
        # of tuples, so the lines' dict holds no object the garbage collector has to visit
        self._lines: dict[str, tuple[dict[int, Example], dict[int, bytes]]] = {}
        self._record: tuple[dict[int, Example], dict[int, bytes]] = ({}, {})  # the record's own line, shared
        self._record_lock = threading.Lock()
        self._plain: tuple[dict[int, Example], set[int]] = ({}, set())  # which objects are plain (base.is_plain)
        self._plain_lock = threading.Lock()
        self._rules: dict[str, tuple[list[Example], list[str]]] = {}
        self._tests: dict[str, tuple[dict[Any, Any], threading.Lock]] = {}  # per target: its rules' answers per example
        self._lock = threading.Lock()

    def _for(self, name: str) -> tuple[dict[int, Example], dict[int, bytes]]:
        with self._lock:
            mine = self._lines.pop(name, None) or ({}, {})
            self._lines[name] = mine  # most recently used last
            while len(self._lines) > self.targets:
                old = next(iter(self._lines))
                del self._lines[old]
                self._rules.pop(old, None)
                self._tests.pop(old, None)
            return mine

    def plain(self, examples: list[Example]) -> frozenset[int]:
        """A set that holds the number of each plain example (:func:`base.is_plain`) among these
        very objects and of no other of them (ask it only about these: it may also hold numbers of
        examples not given), each answer kept per object (after an edit only the edited are asked)."""
        with self._plain_lock:
            seen, holds = self._plain
            learn_per_object(examples, seen, holds, is_plain)
            return frozenset(holds)

    def lines(self, examples: list[Example], target: targets_mod.Target) -> list[bytes]:
        """Each example's line, UTF-8 encoded, with its line break: the file is one join (one copy)."""
        if target.line_is_record == "always":
            self._for(target.name)  # the most recently used: its rules are kept, older targets' dropped
            return self._record_lines(examples)
        plain = self.plain(examples) if target.line_is_record == "plain" else frozenset()
        own = [e for e in examples if e.index not in plain]
        shared = self._record_lines([e for e in examples if e.index in plain]) if plain else []
        rendered, lines = self._for(target.name)
        for e in own:
            if rendered.get(e.index) is not e:
                lines[e.index] = (dumps_line(target.render(e)) + "\n").encode("utf-8")
                rendered[e.index] = e
        if not plain:
            return [lines[e.index] for e in examples]
        mine = iter(shared)
        return [next(mine) if e.index in plain else lines[e.index] for e in examples]

    def _record_lines(self, examples: list[Example]) -> list[bytes]:
        """The record's own line of each example (``dumps_line(e.record)``), kept per object."""
        with self._record_lock:
            rendered, lines = self._record
            out: list[bytes] = []
            for e in examples:
                if rendered.get(e.index) is not e:
                    assert e.record is not None
                    lines[e.index] = (dumps_line(e.record) + "\n").encode("utf-8")
                    rendered[e.index] = e
                out.append(lines[e.index])
            return out

    def rules(self, keep: list[Example], target: targets_mod.Target) -> list[str]:
        """The target's file rules; each example's answer to each per-example test is kept
        (``base.remembered``), so after an edit only the edited examples are tested again;
        tests that are False for a plain example ask only the others."""
        hit = self._rules.get(target.name)
        if hit is not None and len(hit[0]) == len(keep) and all(a is b for a, b in zip(hit[0], keep, strict=True)):
            return list(hit[1])
        with self._lock:
            memo, lock = self._tests.setdefault(target.name, ({}, threading.Lock()))
        plain = self.plain(keep)
        with lock, remembered(memo, plain):  # one rules pass per target at a time: the answers it keeps are its own
            problems = target.rules(keep)
        self._rules[target.name] = (list(keep), list(problems))
        return problems


def build(
    result: CheckResult,
    target: str = "openai",
    validation_split: float = 0.0,
    dedupe: str = "none",
    seed: int = 0,
    source_rows: tuple[int, ...] | None = None,
    cache: RenderCache | None = None,
) -> ExportResult:
    """Decide what goes out, render it for ``target``, and account for every source row."""
    tgt = targets_mod.get(target)
    examples = apply_dedupe(result, dedupe)
    errors: dict[int, list[Finding]] = {}
    for f in result.errors:
        if f.example is not None:
            errors.setdefault(f.example, []).append(f)
    keep: list[Example] = []
    left_out: list[tuple[int, str]] = []
    kinds: list[tuple[str, str, int]] = []
    for ex in examples:
        mine = errors.get(ex.index)
        reason = ex.dropped or ("; ".join(f.message for f in mine[:3]) if mine else None)
        if reason is None and ex.record is None:
            reason = ex.problem or "could not be read"
        if reason is None:
            keep.append(ex)
        else:
            left_out.extend((row, reason) for row in ex.rows)
            kinds.append((*_kind(ex, mine), len(ex.rows)))
    groups = result.dupes.exact + result.dupes.near
    train, val = split(keep, validation_split, groups, seed)
    problems = cache.rules(keep, tgt) if cache is not None else tgt.rules(keep)
    if len(train) < tgt.min_examples:
        problems.append(f"{tgt.label} needs at least {tgt.min_examples} training examples; this export has {len(train)}.")
    if tgt.max_examples is not None and len(train) > tgt.max_examples:
        problems.append(f"{tgt.label} takes at most {tgt.max_examples:,} training examples; this export has {len(train):,}. Split the data.")
    if tgt.max_validation_examples is not None and len(val) > tgt.max_validation_examples:
        problems.append(f"{tgt.label} takes at most {tgt.max_validation_examples:,} validation examples; this split has {len(val):,}. Lower the validation split.")
    train_bytes = rendered(train, tgt, cache)
    val_bytes = rendered(val, tgt, cache) if val else None
    limit = min(MAX_FILE_BYTES, tgt.max_file_bytes or MAX_FILE_BYTES)
    size = train_bytes.size if isinstance(train_bytes, Lines) else len(train_bytes)
    if size > limit:
        problems.append(f"The training file is {size / MIB:.0f} MB; {tgt.label}'s limit is {limit / MIB:.0f} MB. Split the data.")
    left_out.sort()
    report = to_csv(["row", "reason"], left_out)
    out = ExportResult(tgt.name, train_bytes, val_bytes, report, train, val, left_out, problems, _group_kinds(kinds))
    account(out, source_rows if source_rows is not None else tuple(r for e in result.examples for r in e.rows))
    return out


def rendered(examples: list[Example], target: targets_mod.Target, cache: RenderCache | None = None) -> bytes | Lines:
    """:func:`render`, but with ``cache`` the file's lines, joined when asked for (:class:`Lines`)."""
    if cache is None:
        return render(examples, target)
    return Lines(("\ufeff" if target.bom else "").encode("utf-8"), cache.lines(examples, target))


def render(examples: list[Example], target: targets_mod.Target, cache: RenderCache | None = None) -> bytes:
    """The JSONL bytes for ``examples``: UTF-8, one object per line; a byte-order mark first only
    for targets whose docs ask for one (Azure OpenAI).  With ``cache``, lines rendered before
    for the same example objects are reused (the same bytes)."""
    bom = ("\ufeff" if target.bom else "").encode("utf-8")
    if cache is not None:
        encoded = cache.lines(examples, target)
        return b"".join([bom, *encoded]) if bom else b"".join(encoded)
    lines = [dumps_line(target.render(e)) for e in examples]
    return bom + ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def account(out: ExportResult, source_rows: tuple[int, ...]) -> None:
    exported = [r for e in out.train_examples + out.validation_examples for r in e.rows]
    reported = [r for r, _ in out.left_out]
    if sorted(exported + reported) != sorted(source_rows):
        missing = sorted(set(source_rows) - set(exported) - set(reported))[:10]
        raise AccountingError(f"rows not accounted for: {missing}")


class ExportError(Exception):
    """The export could not be written; nothing new was left on disk.  The message says why."""


def output_paths(path: str | Path, report_path: str | Path | None, validation: bool) -> dict[str, Path]:
    """Where each file of an export goes: train, validation (``*.validation.jsonl``), report."""
    path = Path(path)
    paths = {"train": path}
    if validation:
        paths["validation"] = path.with_name(path.stem + ".validation" + path.suffix)
    paths["report"] = Path(report_path) if report_path else path.with_name(path.stem + ".left-out.csv")
    return paths


def _same_file(a: Path, b: Path) -> bool:
    """Same file on disk: equal once symbolic links are resolved, or the same inode (hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_paths(paths: dict[str, Path], source: str | Path | None = None) -> None:
    """Refuse outputs that would overwrite the input or each other, or that are folders."""
    names = {"train": "the output file", "validation": "the validation file", "report": "the report"}
    items = list(paths.items())
    for i, (kind, p) in enumerate(items):
        if p.is_dir():
            raise ExportError(f"{names[kind].capitalize()} {p} is a folder. Give a file name, e.g. {p / 'train.jsonl'}.")
        if source is not None and str(source) != "-" and _same_file(p, Path(source)):
            raise ExportError(f"{names[kind].capitalize()} {p} is the input file {source}; writing it would destroy the input. Choose another name.")
        for other_kind, other in items[:i]:
            if _same_file(p, other):
                raise ExportError(f"{names[kind].capitalize()} and {names[other_kind]} would both be {p}. Give them different names.")


def write(out: ExportResult, path: str | Path, report_path: str | Path | None = None,
          source: str | Path | None = None) -> dict[str, str]:
    """Write the train file (and ``*.validation.jsonl``) and the left-out report, all or nothing.

    Each file is written to a temporary file in its target folder and flushed to disk;
    only when every one is complete are they renamed into place, one after the other
    with Ctrl-C held off.  A full disk, a missing permission, a missing folder or Ctrl-C
    while writing leaves nothing new behind (previous files stay as they were) and raises
    :class:`ExportError` saying why.  ``source`` (the input file) is never overwritten.
    """
    paths = output_paths(path, report_path, out.validation is not None)
    check_paths(paths, source)
    data = {"train": out.train, "validation": out.validation or b"", "report": out.report}
    made = _make_folders(paths.values())
    temps: dict[str, str] = {}
    try:
        for kind, p in paths.items():
            temps[kind] = _write_temp(p, data[kind])
        _rename_all(temps, paths)
    except BaseException as exc:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise ExportError(_why(exc)) from exc
        raise
    return {kind: str(p) for kind, p in paths.items()}


def _make_folders(paths: Iterable[Path]) -> list[Path]:
    """Create missing folders of the outputs; return the ones created (removed on failure)."""
    made: list[Path] = []
    for p in paths:
        missing = [d for d in [p.parent, *p.parent.parents] if not d.exists()]
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                for folder in reversed(made):
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                raise ExportError(_why(exc)) from exc
            made.append(d)
    return made


def _write_temp(target: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would make the export private
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _rename_all(temps: dict[str, str], paths: dict[str, Path]) -> None:
    """Rename every temporary file into place with SIGINT/SIGTERM held until all are done."""
    held = {signal.SIGINT, signal.SIGTERM}
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        for kind, p in paths.items():
            os.replace(temps[kind], p)
    finally:
        if main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _why(exc: OSError) -> str:
    """A plain sentence for a failed write."""
    where = exc.filename or "the output folder"
    if isinstance(where, str) and os.path.basename(where).startswith(".") and where.endswith(".part"):
        where = os.path.dirname(where) or "."
    reasons = {
        errno.ENOSPC: f"the disk is full (writing in {where})",
        errno.EDQUOT: f"the disk quota is used up (writing in {where})",
        errno.EFBIG: f"the file is larger than this system allows (writing in {where})",
        errno.EACCES: f"permission denied for {where}",
        errno.EPERM: f"permission denied for {where}",
        errno.EROFS: f"{where} is on a read-only disk",
        errno.ENOENT: f"the folder of {where} does not exist",
        errno.ENOTDIR: f"a part of {where} is a file, not a folder",
        errno.EISDIR: f"{where} is a folder",
    }
    reason = reasons.get(exc.errno, f"{exc.strerror or exc} ({where})")
    return f"The export was not written: {reason}. Nothing new was left on disk; fix that and run the export again."

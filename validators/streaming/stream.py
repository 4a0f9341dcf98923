"""Check and export a JSONL or Parquet file of any size in bounded memory.

The file is read in chunks of examples.  Each chunk goes through the very checks the
in-memory path runs (:func:`per_example`: the format, the semantics, personal data, the
token limit), its tokens are counted, and what the whole-file checks need is written to
an on-disk index (:mod:`validators.streaming.stream_index`): content digests, MinHash band keys,
prompts and replies, system prompts, and every finding with its sort key.  The whole-file
checks (duplicates, conflicting answers, system prompts, counts) then run as SQL over that
index and are worded by the same functions as in memory.  The export
(:mod:`validators.streaming.stream_export`) is a second pass over the file, written line by line.

Memory holds one chunk and whole-file figures, not a number per example: the per-example
token counts and source rows go to files in the index's folder
(:mod:`validators.streaming.stream_columns`), read back a slice at a time.  The findings and the export are the same
as the in-memory path's on any file both can read (tests/test_scale.py checks it).
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np

from .. import catalog
from ..checking import checks, duplicates, minhash, semantic
from ..counting import cost, open_tokenizers, reserved_tokens, tokens
from ..model import Example, Finding
from ..reading import decoding, ingest, parquet_io
from ..reading import mapping as mapping_mod
from ..reading.legacy_encoding import label
from ..reading.readers import _MAGIC, InputError, Record, Records, parse_json
from . import stream_columns
from .stream_columns import Columns, Summary
from .stream_index import CONTENT, DATASET, DUPLICATES, PERSONAL, READ, TOKENS, Index

STREAM_ABOVE_BYTES = 256 * 1024 * 1024  # larger JSONL / Parquet files are streamed by default
# Many small examples cost more memory in one piece than their bytes suggest (2M two-message
# lines, 200 MB: 5.7 GB read whole, 0.4 GB streamed), so their count decides too.
STREAM_ABOVE_EXAMPLES = 500_000
_COUNT_FROM_BYTES = 1024 * 1024  # smaller files cannot hold that many examples (a CSV row "a,b" is 4 bytes)
CHUNK_EXAMPLES = 2000
HEAD_PARSED = 1000
MAX_LINE_BYTES = 64 * 1024 * 1024  # a longer JSONL line is reported, not read into memory  # records read before the layout and the column mapping are decided
STREAMABLE = ("jsonl", "parquet", "csv", "tsv")
# Candidate pairs confirmed at a time: the shingles of a batch's texts are in memory at once
# (about 100 MB for minhash's default 4,000 pairs of ~250-word texts, a budget a 1 % rate of
# near duplicates fills from ~0.5 GB of file; 250 pairs weigh ~6 MB, filled from ~25 MB).
CONFIRM_BATCH = 250
ORIGIN = {**ingest.ORIGIN, "csv": "row", "tsv": "row"}  # what a source number means, by format


def open_binary(path: str | Path) -> Any:
    """A seekable binary file: a local path, or an object-storage URI (``s3://``, ``gs://``,
    ``hdfs://``...) opened with ``pyarrow.fs``."""
    text = str(path)
    if "://" in text and not text.startswith("file://"):
        from pyarrow import fs

        filesystem, inner = fs.FileSystem.from_uri(text)
        return filesystem.open_input_file(inner)
    return open(text.removeprefix("file://"), "rb")  # noqa: SIM115 - the caller closes it


def name_of(path: str | Path) -> str:
    return str(path).rstrip("/").rsplit("/", 1)[-1]


def format_of(path: str | Path, fmt: str | None = None) -> str | None:
    """``jsonl`` or ``parquet`` when the file can be streamed, else None."""
    if fmt:
        return fmt if fmt in STREAMABLE else None
    name = str(path).lower()
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".txt")):
        return "tsv"
    with open_binary(path) as fh:
        head = fh.read(4)
    return "parquet" if parquet_io.is_parquet(name, head) else None


def size_of(path: str | Path, fmt: str) -> int:
    """What the file weighs once read (Parquet is compressed on disk)."""
    return parquet_io.uncompressed_size(open_binary(path)) if fmt == "parquet" else os.path.getsize(path)


def example_count(path: str | Path, fmt: str) -> int:
    """Rows of a Parquet file (from its footer), or lines of a JSONL file (counted in 16 MB
    blocks, without parsing); 0 for a file too small to matter."""
    if fmt == "parquet":
        return int(parquet_io._open(open_binary(path)).metadata.num_rows)
    if os.path.getsize(path) < _COUNT_FROM_BYTES:
        return 0
    lines = 0
    with open_binary(path) as f:
        for block in iter(lambda: f.read(_COUNT_FROM_BYTES), b""):
            lines += lines_in(block)
    return lines


def lines_in(block: bytes, jumps: int = 2048) -> int:
    """``block.count(b"\\n")``, faster for long lines: ``count`` tests every byte (0.06 s of a
    134 MB file, before the check can start), while ``find`` jumps from line end to line
    end by ``memchr``; a block with more than ``jumps`` lines is counted by ``count``."""
    find = block.find
    n = pos = 0
    while n < jumps:
        pos = find(b"\n", pos) + 1
        if not pos:
            return n
        n += 1
    return block.count(b"\n")


def open_reader(path: str | Path, fmt: str, header: bool | None = None, join_lines: bool = False) -> Any:
    """The chunked reader of this format: :class:`Reader` (JSONL, Parquet) or
    :class:`validators.streaming.stream_csv.CsvReader` (CSV, TSV: raises NotStreamable for a file
    only the whole-file reader can read)."""
    if fmt in ("csv", "tsv"):
        from .stream_csv import CsvReader

        return CsvReader(str(path), fmt, header, join_lines)
    return Reader(path, fmt)


def too_large_for_memory(path: str | Path, fmt: str) -> bool:
    """Stream this file by default: its size or its number of examples says so."""
    return size_of(path, fmt) > STREAM_ABOVE_BYTES or example_count(path, fmt) > STREAM_ABOVE_EXAMPLES


# ---------------------------------------------------------------- reading


class Reader:
    """Batches of records from a JSONL or Parquet file, with what decoding met on the way."""

    def __init__(self, path: str | Path, fmt: str) -> None:
        self.path, self.fmt, self.name = str(path), fmt, name_of(path)
        self.encoding = "utf-8"
        self.bad_lines: list[int] = []  # the first ten lines that were not UTF-8
        self.n_bad = 0
        self.pieces = 0  # newline-separated pieces, as the in-memory reader splits the file

    def batches(self, size: int = CHUNK_EXAMPLES) -> Iterator[list[Record]]:
        if self.fmt == "parquet":
            return parquet_io.iter_records(open_binary(self.path), size)
        return self._jsonl(size)

    def _jsonl(self, size: int) -> Iterator[list[Record]]:
        with open_binary(self.path) as fh:
            bom = self._head(fh)
            batch: list[Record] = []
            self.pieces, self.n_bad, self.bad_lines = 1, 0, []
            no = 0
            while raw := fh.readline(MAX_LINE_BYTES + 1):
                no += 1
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                    self.pieces += 1
                elif len(raw) > MAX_LINE_BYTES:
                    batch.append(self._too_long(fh, no, raw))
                    continue
                if no == 1 and bom:
                    raw = raw[len(codecs.BOM_UTF8):]
                batch.append(self._record(no, raw, bom))
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        if self.n_bad > max(1, self.pieces // 10):
            raise InputError(f"{self.name} is not UTF-8 on {self.n_bad} lines. Save it as UTF-8 and check it again.")

    def _too_long(self, fh: Any, no: int, start: bytes) -> Record:
        """A line longer than any example can be: reported, and skipped to its end, so one
        huge line never has to fit in memory."""
        if b"\x00" in start:
            self._record(no, start, False)  # raises the NUL-byte sentence
        while (more := fh.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
            pass
        self.pieces += 1 if more.endswith(b"\n") else 0
        text = start[:2000].decode("utf-8", "replace")
        return Record(no, error=f"the line is longer than {MAX_LINE_BYTES // 2**20} MB, more than any training example can be; split it", raw=text)

    def _head(self, fh: Any) -> bool:
        head = fh.read(65536)
        if not head.strip() and not fh.read(1):
            raise InputError(f"{self.name} is empty. Choose a file that holds a header row and at least one example.")
        fh.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(head):
            raise InputError(f"{self.name} is UTF-16 text. Save it as UTF-8 to check a file this large.")
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise InputError(f"{self.name} is {what}, not a text file. Upload CSV, TSV, XLSX, JSON or JSONL.")
        if head.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
            return True
        return False

    def _record(self, no: int, raw: bytes, bom: bool) -> Record:
        if b"\x00" in raw:
            raise InputError(f"{self.name} contains a NUL byte on line {no}, so it is binary, not text. Save it as UTF-8 text and try again.")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if bom:
                raise InputError(f"{self.name} starts with a utf-8-sig byte-order mark but is not valid utf-8-sig: {exc.reason} on line {no}.") from exc
            line = self._fallback(no, raw)
        line = line.rstrip("\r")
        if not line.strip():
            return Record(no, error="blank line", raw="")
        try:
            return Record(no, parse_json(line))
        except ValueError as exc:
            return Record(no, error=str(exc), raw=line[:2000])

    def _fallback(self, no: int, raw: bytes) -> str:
        """A line that is not UTF-8 is read as Windows-1252, as the in-memory reader does."""
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise InputError(f"{self.name}, line {no} is neither UTF-8 nor Windows-1252. Save the file as UTF-8 and try again.") from exc
        self.encoding = "cp1252"
        self.n_bad += 1
        if len(self.bad_lines) < 10:
            self.bad_lines.append(no)
        return text

    def read_findings(self) -> list[Finding]:
        """The file-level warnings ingest.load_bytes gives, in its order."""
        out = []
        if self.n_bad:  # a JSON Lines record is one line, so example n is line n
            bad = [Example(no, (no,), None, origin="line") for no in self.bad_lines]
            where = decoding._where(LazyList(lambda: iter(bad), self.n_bad), [], Records([]))
            text = (f"{self.name}: the file is UTF-8 except {where}, read as {label(self.encoding)}. "
                    "Check the accents there, or save the whole file again as UTF-8.")
            out.append(Finding("warning", "mixed_encoding", text, example=bad[0].index, row=bad[0].row))
        if self.encoding == "utf-8-sig":
            out.append(Finding("warning", "byte_order_mark", f"{self.name} starts with a UTF-8 byte-order mark. Nothing to fix: each export writes what its service asks for "
                                                                  "(Azure OpenAI with a byte-order mark, as Microsoft's docs say; the others without one, "
                                                                  "which Together's file check requires)."))
        return out


def _looks_utf16(head: bytes) -> bool:
    sample = head[:8192]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return any(z.count(0) >= 0.6 * len(z) and o.count(0) <= 0.02 * len(o) for z, o in ((odd, even), (even, odd)))


@dataclass
class Source:
    """What the CLI reports about the input (``source`` in ``check --json``), and the plan
    the head of the file gave (``ingest.plan``), which every later chunk follows."""

    file: str
    format: str
    encoding: str
    layout: str
    mapping: dict[str, Any]
    columns: list[str] = field(default_factory=list)  # the columns the mapping chose from (table layout)
    detection: dict[str, Any] = field(default_factory=dict)  # how sure the mapping is, why, what stops it
    plan: mapping_mod.Mapping | None = None  # the head's mapping object (table layout)

    @property
    def confidence(self) -> str | None:
        return self.detection.get("confidence")

    @property
    def reasons(self) -> list[str]:
        return self.detection.get("reasons", [])

    @property
    def speaker_counts(self) -> dict[str, int]:
        return self.detection.get("speaker_counts", {})

    def to_json(self) -> dict[str, Any]:
        """``source`` as cli.cmd_check writes it for the in-memory path."""
        return {"file": self.file, "format": self.format, "encoding": self.encoding, "layout": self.layout, "mapping": self.mapping,
                "confidence": self.confidence, "reasons": self.reasons, "speaker_counts": self.speaker_counts}


def examples(reader: Reader, overrides: dict[str, Any] | None, default_system: str | None,
             size: int = CHUNK_EXAMPLES) -> tuple[Source, Iterator[list[Example]]]:
    """The file's examples in chunks, numbered and mapped exactly as ``ingest`` does: the
    layout and the mapping are ``ingest.plan``'s answer on the head of the file, and every
    record, head or not, becomes an example through ``ingest.record_example``.  A CSV/TSV
    file: :func:`validators.streaming.stream_csv.examples`."""
    if not isinstance(reader, Reader):
        from . import stream_csv

        return stream_csv.examples(reader, overrides, default_system, size)
    batches = reader.batches(size)
    head: list[Record] = []
    parsed = 0
    for batch in batches:
        head += batch
        parsed += sum(r.error is None for r in batch)
        if parsed >= HEAD_PARSED or len(head) >= 50 * size:
            break
    if not head:
        raise InputError(f"{reader.name} holds no readable examples.")
    readable = [r for r in head if r.error is None]
    if not readable:
        ingest.from_records(Records(head), reader.name, reader.fmt, overrides, default_system)  # raises its sentence
    layout, m, columns, detection = ingest.plan(readable, overrides, default_system)
    origin = ingest.ORIGIN.get(reader.fmt, "item")

    def every() -> Iterator[Example]:
        for i, rec in enumerate(chain(head, chain.from_iterable(batches)), start=1):
            ex = ingest.record_example(i, rec, layout, m, columns, default_system, detection)
            ex.origin = origin
            yield ex

    def chunks() -> Iterator[list[Example]]:
        it = every()
        while chunk := list(islice(it, size)):
            yield chunk

    shown = m.to_dict() if m else ({"default_system": default_system} if default_system else {})
    return Source(reader.name, reader.fmt, reader.encoding, layout, shown, columns, detection, m), chunks()


# ---------------------------------------------------------------- the checks


def column_names(source: Source) -> dict[str, str]:
    """The user's own columns, for findings on table examples (as checks.check_dataset)."""
    return semantic.column_names(source.mapping) if source.layout == "table" else {}


def per_example(chunk: list[Example], counts: tokens.TokenCounts, info: catalog.ModelInfo,
                names: dict[str, str] | None = None) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """checks.run's per-example checks on one chunk, through the same ``checks.ExampleChecks``:
    (format + semantics, personal data, token findings); ``counts``: the chunk's own token
    counts; ``names``: the user's columns (semantic.column_names).  The one place the
    streaming path calls them."""
    ec = checks.ExampleChecks(chunk, names)
    return ec.content(), ec.personal(), ec.token_findings(counts, range(len(chunk)), info)


def _duplicate_findings(members: list[Example], kind: str, group: list[int]) -> list[Finding]:
    make = getattr(checks, "duplicate_findings", None) or checks._duplicate_findings
    groups = duplicates.DuplicateGroups(exact=[group] if kind == "exact" else [], near=[group] if kind == "near" else [])
    return make(members, groups)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class LazyList(list):  # noqa: FURB189 - json's encoder only streams real list instances
    """A list whose items are produced on demand (``json.dump`` streams it, ``len`` is known),
    so millions of findings never sit in memory at once."""

    def __init__(self, produce: Callable[[], Iterator[Any]], length: int) -> None:
        super().__init__()
        self._produce, self._length = produce, length

    def __iter__(self) -> Iterator[Any]:
        return self._produce()

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            return list(islice(iter(self), item.start, item.stop, item.step))
        return next(islice(iter(self), item, None))

    def __add__(self, other: Any) -> LazyList:  # type: ignore[override]
        return LazyList(lambda: chain(iter(self), iter(other)), len(self) + len(other))


@dataclass
class StreamResult:
    """What :func:`check` found; findings stay in the index until they are read."""

    index: Index
    source: Source
    model: catalog.ModelInfo
    summary: Summary  # the per-example numbers' whole-file figures (they stay in index.columns)
    exact: list[list[int]]
    near: list[list[int]]
    estimate: cost.Estimate
    options: dict[str, Any] = field(default_factory=dict)
    token_extras: dict[str, Any] = field(default_factory=dict)  # _token_extras

    @property
    def n(self) -> int:
        return self.summary.n

    @property
    def columns(self) -> Columns:
        return self.index.columns

    def n_errors(self) -> int:
        return self.index.count("SELECT count(*) FROM findings WHERE sev = 0")

    def n_error_examples(self) -> int:
        return self.index.count("SELECT count(DISTINCT ex) FROM findings WHERE sev = 0 AND ex > 0")

    def stand_in(self, i: int) -> Example:
        return Example(i, (self.columns.row_of(i),), None, origin=ORIGIN.get(self.source.format, "item"))

    def _findings(self, sev: int) -> LazyList:
        n = self.index.count("SELECT count(*) FROM findings WHERE sev = ?", (sev,))
        return LazyList(lambda: self.index.findings("WHERE sev = ?", (sev,)), n)

    def to_json(self) -> dict[str, Any]:
        """The same object as ``CheckResult.to_json`` (lists produced while being written,
        read from the per-example files a slice at a time)."""
        limit, summary = self.model.limit, self.summary
        per = LazyList(lambda: stream_columns.per_example(self.columns), self.n)
        over = LazyList(lambda: stream_columns.over_limit(self.columns, limit), summary.over_limit)
        return {
            "examples": self.n,
            "usable_examples": int(self.n - self.n_error_examples()),
            "model": self.model.name,
            "errors": self._findings(0),
            "warnings": self._findings(1),
            "tokens": {
                "encoding": self.model.encoding,
                "per_example": per,
                "total": summary.total,
                "assistant_total": summary.assistant,
                "billing": self.estimate.billing_tokens,
                "limit": limit,
                "over_limit": over,
                "stats": summary.stats(),
                **self.token_extras,
            },
            "epochs": self.estimate.epochs,
            "charged_tokens": self.estimate.charged_tokens,
            "price_per_million": self.estimate.price_per_million,
            "cost_usd": round(self.estimate.cost_usd, 4),
            "duplicates": {"exact": self.exact, "near": self.near},
        }

    def close(self) -> None:
        self.index.close()


class Unmapped(Exception):
    """No column is mapped to a role (``source.detection["problem"]`` says why): the file
    is not checked until the user maps them."""

    def __init__(self, source: Source) -> None:
        super().__init__(source.detection.get("problem"))
        self.source = source


@dataclass
class _Tally:
    """Whole-file counters (the per-example numbers go to ``Index.columns``, on disk)."""

    n_sft: int = 0
    n_with_system: int = 0
    control: list[Control | None] | None = None
    images: int | None = None
    problems: list[int] = field(default_factory=list)


def check(path: str | Path, fmt: str, model: str | None = None, epochs: int | None = None, price: float | None = None,
          threshold: float = duplicates.DEFAULT_THRESHOLD, overrides: dict[str, Any] | None = None,
          default_system: str | None = None, progress: Callable[[int], None] | None = None,
          max_seq_length: int | None = None, header: bool | None = None) -> StreamResult:
    """Check the file chunk by chunk; see the module docstring.  ``model`` may name an open
    base model (then ``max_seq_length`` is the limit), as for checks.run; ``header``: a
    CSV/TSV file's first row holds column names (None: guessed, as readers.read_delimited)."""
    info = open_tokenizers.model_info(model, max_seq_length)
    reader = open_reader(path, fmt, header)
    source, chunks = examples(reader, overrides, default_system)
    if source.detection.get("problem"):
        raise Unmapped(source)  # nothing to check until the columns are mapped
    index = Index()
    try:
        tally = _Tally()
        bands, rows_per_band = duplicates.lsh_params(threshold)
        names = column_names(source)
        for chunk in chunks:
            absorb(index, tally, analyse(chunk, info, bands, rows_per_band, names))
            if progress:
                progress(chunk[-1].index)
        index.add_findings(READ, reader.read_findings())
        result = finish(index, tally, source, info, epochs, price, threshold, index.exact_groups())
        result.options["header"] = header
        return result
    except BaseException:
        index.close()
        raise


def _token_extras(info: catalog.ModelInfo, tally: _Tally, summary: Summary) -> dict[str, Any]:
    """CheckResult._open_json's token facts: control strings per destination, images not
    counted; for an open model, its tokenizer and what is trained."""
    out: dict[str, Any] = {"control_tokens_by_target": control_json(info, tally.control or [])}
    if tally.images is not None:
        out["images_not_counted"] = tally.images
    if info.encoding.startswith(open_tokenizers.PREFIX):
        tok = open_tokenizers.load(info.name)
        out.update(tokenizer=tok.source, generation_markers=tok.markers, max_seq_length=info.limit,
                   trained_total=summary.assistant, not_counted=sorted(tally.problems))
    return out


def finish(index: Index, tally: _Tally, source: Source, info: catalog.ModelInfo, epochs: int | None, price: float | None,
           threshold: float, exact: list[list[int]], near: list[list[int]] | None = None) -> StreamResult:
    """The whole-file part of the check, once every chunk is in the index: near duplicates
    (unless the engine found them), file-level findings, duplicate findings."""
    summary = stream_columns.summarise(index.columns, info.limit)
    near = _near_groups(index, exact, threshold) if near is None else near
    est = cost.estimate_from(summary.counted, summary.billing, info.training if price is None else price, epochs)
    result = StreamResult(index, source, info, summary, exact, near, est, {"epochs": epochs, "price": price, "threshold": threshold},
                          _token_extras(info, tally, summary))
    _dataset_findings(result, tally)
    _add_duplicate_findings(result)
    index.db.execute("CREATE INDEX findings_order ON findings (sev, ex, mi, stage, seq)")
    index.commit()
    return result


@dataclass
class Control:
    """One destination's control strings met so far (reserved_tokens.by_target, summed)."""

    found: set[str] = field(default_factory=set)
    numbers: list[int] = field(default_factory=list)  # the first 50 examples holding one
    n: int = 0

    def add(self, other: Control) -> None:
        self.found |= other.found
        self.numbers = sorted(self.numbers + other.numbers)[:50]
        self.n += other.n


def control_facts(chunk: list[Example], info: catalog.ModelInfo) -> list[Control | None]:
    """reserved_tokens.scan of one chunk for every destination (None: no list applies)."""
    out: list[Control | None] = []
    for _targets, _whose, toks in reserved_tokens.target_sets(info):
        if toks is None:
            out.append(None)
            continue
        found, numbers = reserved_tokens.scan(chunk, toks)
        out.append(Control(set(found), numbers[:50], len(numbers)))
    return out


def control_json(info: catalog.ModelInfo, control: list[Control | None]) -> list[dict[str, Any]]:
    """``control_tokens_by_target`` worded as reserved_tokens.by_target words it."""
    rows = []
    for (targets_, whose, _toks), c in zip(reserved_tokens.target_sets(info), control):
        if c is None:
            rows.append({"targets": targets_, "control strings of": whose, "found": "", "examples": None})
            continue
        found = sorted(c.found)
        rows.append({"targets": targets_, "control strings of": whose, "found": ", ".join(found[:8]) + (" …" if len(found) > 8 else ""),
                     "examples": c.n, "example numbers": c.numbers[:50]})
    return rows


@dataclass
class Facts:
    """What one chunk contributes to the whole-file checks (plain data, so a Ray task can
    compute it on another machine and send it back)."""

    findings: list[tuple[int, list[Finding]]]  # (stage, findings)
    total: np.ndarray
    assistant: np.ndarray
    counted: np.ndarray
    rows: np.ndarray
    n_sft: int
    n_with_system: int
    systems: list[tuple[bytes]]
    nosystem: list[tuple[int, int]]
    prompts: list[tuple[bytes, bytes, int, int]]
    texts: list[tuple[bytes, int]]
    band_ex: np.ndarray  # examples with a signature
    band_keys: np.ndarray  # (bands, len(band_ex)) int64 LSH keys
    compared: list[tuple[int, str]]  # (example, normalised text) of the examples with shingles
    control: list[Control | None] = field(default_factory=list)  # per destination (reserved_tokens.target_sets)
    images: int | None = None  # images whose tokens are unknown, in usable examples (None: not tracked)
    problems: list[int] = field(default_factory=list)  # examples the chat template refused


def analyse(chunk: list[Example], info: catalog.ModelInfo, bands: int, rows: int, names: dict[str, str] | None = None) -> Facts:
    """Every per-example check of one chunk, and its share of the whole-file indexes."""
    counts = tokens.count(chunk, info.encoding)
    content, personal, limits = per_example(chunk, counts, info, names)
    live = [e for e in chunk if e.record is not None and not e.dropped]
    pr = semantic.prompt_replies(live)
    systems, nosystem, prompts = [], [], []
    n_sft = n_with = 0
    for e in live:
        if e.kind != "sft":
            continue
        n_sft += 1
        s = semantic.system_of(e)
        if s is None:
            nosystem.append((e.index, e.row))
        else:
            n_with += 1
            systems.append((_digest(semantic.normalise(s)),))
        prompt, reply = pr[e.index]
        if prompt:
            prompts.append((_digest(prompt), _digest(reply), e.index, e.row))
    texts = [duplicates.comparable_text(e, pr.get(e.index)) for e in live]
    compared = [(e.index, t) for e, t in zip(live, texts) if t]
    ids = np.array([i for i, _ in compared], dtype=np.int64)
    keys = np.zeros((bands, 0), dtype=np.int64)
    if compared:
        s = minhash.all_signatures([t for _, t in compared], duplicates.NUM_PERM, duplicates.SHINGLE_WORDS)
        shingled = s.any(axis=1)  # under five words: no shingle, never a candidate (minhash.near_duplicates)
        ids, s = ids[shingled], s[shingled]
        compared = [c for c, ok in zip(compared, shingled.tolist()) if ok]
        keys = band_keys(s, bands, rows)
    images = None if counts.images_uncounted is None else int(counts.images_uncounted[checks.usable_mask(chunk)].sum())
    return Facts([(CONTENT, content), (PERSONAL, personal), (TOKENS, limits)], counts.total, counts.assistant, counts.counted,
                 np.fromiter((e.row for e in chunk), dtype=np.int64, count=len(chunk)), n_sft, n_with, systems, nosystem, prompts,
                 [(_digest(t), e.index) for e, t in zip(live, texts)], ids, keys, compared,
                 control_facts(chunk, info), images, sorted(counts.problems))


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """LSH band keys of each signature, as minhash.candidate_pairs makes them: (bands, n)."""
    out = np.empty((bands, len(sig)), dtype=np.int64)
    for band in range(bands):
        part = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
        with np.errstate(over="ignore"):
            key = np.zeros(len(sig), dtype=np.uint64)
            for j in range(rows):
                key = key * minhash.Q + part[:, j]
        out[band] = key.view(np.int64)
    return out


def absorb(index: Index, tally: _Tally, facts: Facts, duplicates_too: bool = True) -> None:
    """Write one chunk's facts to the index (``duplicates_too=False``: the engine groups the
    digests and band keys itself)."""
    for stage, found in facts.findings:
        index.add_findings(stage, found)
    index.columns.append(facts.total, facts.assistant, facts.counted, facts.rows)
    tally.n_sft += facts.n_sft
    tally.n_with_system += facts.n_with_system
    if tally.control is None:
        tally.control = facts.control
    else:
        for mine, theirs in zip(tally.control, facts.control):
            if mine is not None and theirs is not None:
                mine.add(theirs)
    if facts.images is not None:
        tally.images = (tally.images or 0) + facts.images
    tally.problems += facts.problems
    index.db.executemany("INSERT INTO systems VALUES (?)", facts.systems)
    index.db.executemany("INSERT INTO nosystem VALUES (?,?)", facts.nosystem)
    index.db.executemany("INSERT INTO prompts VALUES (?,?,?,?)", facts.prompts)
    if duplicates_too:
        index.db.executemany("INSERT INTO texts VALUES (?,?)", facts.texts)
        index.add_bands(facts.band_ex, facts.band_keys)
    index.db.executemany("INSERT INTO fulltext VALUES (?,?)", facts.compared)
    index.commit()


def _near_groups(index: Index, exact: list[list[int]], threshold: float) -> list[list[int]]:
    """Candidate pairs from the band index, confirmed and grouped by :func:`confirm`."""
    repeats = {i for g in exact for i in g[1:]}
    parts = list(index.candidate_pairs(repeats))
    if not parts:
        return []
    return confirm(index, np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts]), threshold)


def confirm(index: Index, a: np.ndarray, b: np.ndarray, threshold: float) -> list[list[int]]:
    """minhash.near_duplicates' second half on candidate pairs (a < b, example numbers):
    exact Jaccard of the texts (read back from the index), groups around a representative,
    the rescue of texts left alone.  The texts are read as each batch of pairs needs them,
    never all candidates' at once (they grew with the file: a 1 % near-duplicate rate is
    70,000 texts at 5 GB)."""
    if not a.size:
        return []
    nodes = np.unique(np.concatenate([a, b]))
    texts = _Texts(index, nodes)
    ca, cb = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
    k = duplicates.SHINGLE_WORDS
    sims = minhash.exact_jaccard(texts, ca, cb, k, batch=CONFIRM_BATCH)
    ok = sims >= threshold
    ca, cb, sims = ca[ok], cb[ok], sims[ok]
    found, kept = minhash.representative_groups(ca, cb, sims)
    minhash._rescue(texts, ca, cb, found, kept, threshold, k)
    groups: dict[int, list[int]] = {}
    for member, rep in found.items():
        groups.setdefault(rep, [rep]).append(member)
    return sorted(sorted(int(nodes[i]) for i in g) for g in groups.values())


class _Texts:
    """The normalised text of ``nodes[i]``, read from the index when asked for (the
    sequence minhash.exact_jaccard indexes)."""

    def __init__(self, index: Index, nodes: np.ndarray) -> None:
        self.db, self.nodes = index.db, nodes

    def __len__(self) -> int:
        return int(self.nodes.size)

    def __getitem__(self, i: int) -> str:
        row = self.db.execute("SELECT text FROM fulltext WHERE ex = ?", (int(self.nodes[i]),)).fetchone()
        if row is None:
            raise AssertionError("a candidate's text is missing from the index")
        return str(row[0])


def _dataset_findings(result: StreamResult, tally: _Tally) -> None:
    """semantic.check_dataset's findings, from the counts in the index."""
    index = result.index
    out = semantic.count_findings(result.summary.counted)
    distinct = index.count("SELECT count(DISTINCT digest) FROM systems")
    n_sft, n_with = tally.n_sft, tally.n_with_system
    out += semantic.system_findings(n_sft, n_with, distinct, [])
    index.add_findings(DATASET, out)
    if 0 < n_with < n_sft:  # each example without one gets its own warning
        cur = index.db.execute("SELECT ex FROM nosystem ORDER BY ex")
        while batch := cur.fetchmany(10_000):
            index.add_findings(DATASET, semantic.system_findings(n_sft, n_with, 0, [result.stand_in(i) for (i,) in batch]))
    _conflict_findings(result)


def _conflict_findings(result: StreamResult) -> None:
    """Conflicting answers: one prompt, several different replies (semantic.conflict_findings).

    The rows come from :meth:`Index.conflicts`, near-linear in the file's size."""
    cur = result.index.conflicts()
    head: list[Example] = []
    out: list[Finding] = []
    group, replies = None, 0

    def flush() -> None:
        if head and len(head) < 6:  # a group of six or more was written as it came
            out.extend(semantic.conflict_findings(head, replies))

    for first, n, ex in cur:
        if first != group:
            flush()
            head, group, replies = [], first, n
        member = result.stand_in(ex)
        if len(head) < 6:
            head.append(member)
            if len(head) == 6:
                out.extend(semantic.conflict_findings(head, replies))
        else:
            out.append(semantic.conflict_findings([*head, member], replies)[-1])
        if len(out) >= 10_000:
            result.index.add_findings(DATASET, out)
            out = []
    flush()
    result.index.add_findings(DATASET, out)


def _add_duplicate_findings(result: StreamResult) -> None:
    for kind, groups in (("exact", result.exact), ("near", result.near)):
        for g in groups:
            result.index.add_findings(DUPLICATES, _duplicate_findings([result.stand_in(i) for i in g], kind, g))

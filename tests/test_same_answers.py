"""Speed work must not change a single answer.

A fixed, varied set of files (tests/same_answers_data.py, plus every JSON and JSON Lines
file of tests/bad_inputs) is checked and exported; every finding (severity, code, example,
row, message index, key, message), every token count, the duplicate groups and the bytes
of each export are compared with tests/golden/same_answers.json, which was computed with
the code as it was before the speed work.  Regenerate it only for an intended change of
answers:  python tests/test_same_answers.py --write
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import same_answers_data  # noqa: E402

from validators.checking import checks, fixes, pii  # noqa: E402
from validators.exporting import export  # noqa: E402
from validators.reading import ingest  # noqa: E402
from validators.reading.readers import InputError  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden" / "same_answers.json"
BAD = Path(__file__).resolve().parent / "bad_inputs"
TARGETS = ("openai", "trl", "together", "azure")


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def answers(path: Path) -> dict[str, Any]:
    """Everything `check` and `export` say about one file."""
    try:
        ds = ingest.load_file(path)
    except InputError as exc:
        return {"input_error": str(exc)}
    result = checks.check_dataset(ds)
    data = result.to_json()
    data["layout"] = ds.layout
    out: dict[str, Any] = {"check": data, "export": {}}
    for target in TARGETS:
        for dedupe in ("none", "exact"):
            try:
                built = export.build(result, target, 0.1, dedupe, 0, ds.source_rows)
            except InputError as exc:  # a target that cannot take this layout
                out["export"][f"{target}/{dedupe}"] = {"error": str(exc)}
                continue
            out["export"][f"{target}/{dedupe}"] = {"train": _sha(built.train), "validation": _sha(built.validation),
                                                   "report": _sha(built.report), "problems": built.problems}
    redacted = pii.redact_pii(result.examples)
    out["redact"] = {"changed": redacted.changed, "summary": redacted.summary,
                     "records": _sha(json.dumps([e.record for e in redacted.examples], sort_keys=True).encode("utf-8", "surrogatepass"))}
    repaired = fixes.fix_mojibake(result.examples)
    out["repair"] = {"changed": repaired.changed, "records": _sha(json.dumps([e.record for e in repaired.examples], sort_keys=True).encode("utf-8", "surrogatepass"))}
    return out


def files(folder: Path) -> dict[str, Path]:
    made = same_answers_data.write_all(folder)
    bad = {f"bad/{p.name}": p for p in sorted(BAD.iterdir()) if p.suffix in (".json", ".jsonl")}
    return {**made, **bad}


def all_answers(folder: Path) -> dict[str, Any]:
    return {name: answers(path) for name, path in files(folder).items()}


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return json.loads(json.dumps(all_answers(tmp_path_factory.mktemp("same"))))


def test_golden_covers_every_kind_of_finding() -> None:
    assert len(NAMES) > 20
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    codes = {f["code"] for a in golden.values() if "check" in a for f in a["check"]["errors"] + a["check"]["warnings"]}
    for code in ("pii_email", "pii_phone", "pii_card", "pii_iban", "secret_api_key", "secret_private_key", "mojibake",
                 "control_characters", "exact_duplicate", "near_duplicate", "conflicting_answers", "unreadable",
                 "undeclared_tool", "dpo_same_outputs", "empty_content", "surrounding_whitespace"):
        assert code in codes, code


NAMES = sorted(json.loads(GOLDEN.read_text(encoding="utf-8"))) if GOLDEN.exists() else []


@pytest.mark.parametrize("name", NAMES)
def test_same_answers(current: dict[str, Any], name: str) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[name]
    now = current[name]
    if "check" in golden:
        g, n = golden["check"], now["check"]
        assert n["errors"] == g["errors"]
        assert n["warnings"] == g["warnings"]
        assert n["tokens"] == g["tokens"]
        assert n["duplicates"] == g["duplicates"]
    assert now == golden


def test_sieve_changes_no_personal_data_finding(tmp_path: Path) -> None:
    """The varied file is below the size where the RE2 sieve starts; force it on."""
    examples = ingest.load_file(same_answers_data.write_all(tmp_path)["sft"]).examples
    full = [f.to_dict() for f in pii.check(examples)]
    old = pii.PREFILTER_MIN_CHARS
    pii.PREFILTER_MIN_CHARS = 0
    try:
        assert [f.to_dict() for f in pii.check(examples)] == full
    finally:
        pii.PREFILTER_MIN_CHARS = old
    assert len(full) > 40


if __name__ == "__main__" and "--write" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(all_answers(Path(d)), ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")

"""Real public spreadsheets that nobody here wrote, run through the real CLI with no flags.

Every file in tests/real_files/ comes from a public repository (source, commit, licence and
how it was cut are in tests/real_files/MANIFEST.md and manifest.json).  The expected facts
in manifest.json were counted from the files themselves with pandas/csv/json by
tests/real_files/build_corpus.py, never with this app.  For each file:

* ``check FILE --json`` reads it (exit 0 or 1, never 2) and finds the expected number of
  examples (for long format: the number of distinct conversations);
* the detected mapping is the manifest's (column per role);
* the detected encoding decodes the bytes to the same text as the file's real encoding;
* the layout of JSON files (Alpaca, ShareGPT) is recognised;
* ``export FILE --to trl`` writes one JSONL line per example, and the first line's user and
  assistant texts are the file's first question and answer (by the speaker-label mapping
  for long format; a label mapped to "ignore" never becomes a message);
* mojibake is flagged on each affected example; Excel's ``_x000D_`` never reaches the export;
* no digit run in a real customer-support extract is reported as a payment card.
"""

from __future__ import annotations

import csv
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from validators.checking import pii

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "real_files"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["files"]
CHAT = [e for e in MANIFEST if e["layout"] != "pii"]
PII = [e for e in MANIFEST if e["layout"] == "pii"]


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["file"] for e in entries]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "validators", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@functools.cache
def checked(name: str, *flags: str) -> tuple[int, dict[str, Any] | None, str]:
    """Exit code, parsed JSON (None when the file was refused) and stderr of ``check FILE --json``."""
    out = cli("check", str(CORPUS / name), "--json", *flags)
    try:
        data = json.loads(out.stdout) if out.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return out.returncode, data, out.stderr


@functools.cache
def exported(name: str, workdir: str) -> tuple[int, list[dict[str, Any]], str]:
    """Exit code, the exported JSONL lines and stderr of ``export FILE --to trl`` (chat messages).

    TRL rather than OpenAI because OpenAI refuses files under 10 examples, and some real
    files here (ABCD's sample) hold 3 conversations; the messages are the same shape.
    """
    target = Path(workdir) / (name + ".jsonl")
    out = cli("export", str(CORPUS / name), "--to", "trl", "-o", str(target), "--quiet")
    lines = [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines() if x.strip()] if target.exists() else []
    return out.returncode, lines, out.stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("real_exports"))


def norm(text: str) -> str:
    """Compare texts as a user reads them: line ends unified, outer blanks ignored."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def loaded(e: dict[str, Any], *flags: str) -> dict[str, Any]:
    rc, data, err = checked(e["file"], *flags)
    assert rc in (0, 1) and data is not None, f"{e['file']} was refused (exit {rc}): {err.strip()[:300]}"
    return data


def role_texts(example: dict[str, Any], role: str) -> list[str]:
    return [norm(m["content"]) for m in example["messages"] if m.get("role") == role and isinstance(m.get("content"), str)]


@pytest.mark.parametrize("e", CHAT, ids=ids(CHAT))
def test_check_with_no_flags_counts_the_examples(e: dict[str, Any]) -> None:
    data = loaded(e)
    assert data["examples"] == e["examples"], f"{e['file']}: {data['examples']} examples, the file has {e['examples']} ({e['layout']})"


JSONS = [e for e in CHAT if e["format"] in ("json", "jsonl")]


@pytest.mark.parametrize("e", JSONS, ids=ids(JSONS))
def test_json_layout_is_recognised(e: dict[str, Any]) -> None:
    assert loaded(e)["source"]["layout"] == e["layout"]


MAPPED = [e for e in CHAT if e.get("mapping")]
EXTRA_ROLES = ("system", "context", "conversation", "turn", "role", "content", "weight", "chosen", "rejected")


@pytest.mark.parametrize("e", MAPPED, ids=ids(MAPPED))
def test_detected_mapping_is_the_right_one(e: dict[str, Any]) -> None:
    got = loaded(e)["source"]["mapping"]
    for role, want in e["mapping"].items():
        allowed = want if isinstance(want, list) else [want]
        assert got.get(role) in allowed, f"{e['file']}: {role} mapped to {got.get(role)!r}, expected {' or '.join(allowed)} (whole mapping {got})"
    if e.get("pairs"):
        assert [got.get("user"), got.get("assistant")] in e["pairs"], f"{e['file']}: question and answer columns from different pairs: {got}"
    unwanted = set(EXTRA_ROLES) & (set(got) - set(e["mapping"]))  # e.g. a constant column glued on as context, an 'order' column as turn
    assert not unwanted, f"{e['file']}: column(s) {[got[r] for r in unwanted]} used as {sorted(unwanted)} (whole mapping {got})"


ENCODED = [e for e in CHAT if e["format"] in ("csv", "tsv") and e.get("encoding")]


@pytest.mark.parametrize("e", ENCODED, ids=ids(ENCODED))
def test_detected_encoding_reads_the_real_text(e: dict[str, Any]) -> None:
    """Encoding detection on its own: the manifest's columns are given, so a mapping miss cannot hide it."""
    flags = [f"--map={role}={cols[0] if isinstance(cols, list) else cols}" for role, cols in (e.get("mapping") or {}).items()]
    reported = loaded(e, *flags)["source"]["encoding"]
    raw = (CORPUS / e["file"]).read_bytes()
    truth = raw.decode(e["encoding"]).lstrip("\ufeff")
    try:
        seen = raw.decode(reported).lstrip("\ufeff")
    except (LookupError, UnicodeDecodeError) as exc:
        pytest.fail(f"{e['file']}: reported encoding {reported!r} cannot read the file ({exc})")
    wrong = [(a, b) for a, b in zip(truth, seen) if a != b][:3]
    assert seen == truth, f"{e['file']}: read as {reported}, the file is {e['encoding']}; first differences {wrong}"


@pytest.mark.parametrize("e", CHAT, ids=ids(CHAT))
def test_export_writes_every_example_and_the_first_is_the_files_first_row(e: dict[str, Any], workdir: str) -> None:
    rc, lines, err = exported(e["file"], workdir)
    assert rc in (0, 1) and lines, f"{e['file']}: export wrote nothing (exit {rc}): {err.strip()[:300]}"
    want = e.get("exported", e["examples"])  # fewer only where the manifest says why (exported_why)
    assert len(lines) == want, f"{e['file']}: exported {len(lines)} lines, want {want}: {err.strip()[:300]}"
    first = lines[0]
    users, assistants = role_texts(first, "user"), role_texts(first, "assistant")
    candidates = [e["first"]] + e.get("first_alternatives", [])
    if e.get("match") == "contains":  # long format / Alpaca: the text is one of (or inside) the messages
        ok = any(any(norm(c["user"]) in u for u in users) and any(norm(c["assistant"]) in a for a in assistants) for c in candidates)
    else:
        ok = any(users[:1] == [norm(c["user"])] and assistants[:1] == [norm(c["assistant"])] for c in candidates)
    assert ok, f"{e['file']}: first example is {first['messages'][:3]!r:.600}; expected user {norm(e['first']['user'])[:80]!r} and assistant {norm(e['first']['assistant'])[:80]!r}"


LONG = [e for e in CHAT if e.get("labels")]


@pytest.mark.parametrize("e", LONG, ids=ids(LONG))
def test_speaker_labels_become_the_right_roles(e: dict[str, Any], workdir: str) -> None:
    """The agent's label (SYSTEM, agent) is the assistant, never a system prompt; 'ignore' rows are no message."""
    _, lines, err = exported(e["file"], workdir)
    assert lines, f"{e['file']}: nothing exported: {err.strip()[:300]}"
    roles = {m["role"] for line in lines for m in line["messages"]}
    assert "system" not in roles or "system" in e["labels"].values(), f"{e['file']}: a speaker label became a system prompt"
    assert {"user", "assistant"} <= roles
    ignored = [label for label, role in e["labels"].items() if role == "ignore"]
    if ignored:
        rows = list(csv.DictReader((CORPUS / e["file"]).open(encoding="utf-8", newline="")))
        spk, txt = e["mapping"]["role"], e["mapping"]["content"]
        hidden = {norm(r[txt]) for r in rows if r[spk] in ignored}
        leaked = [m["content"] for line in lines for m in line["messages"] if norm(str(m["content"])) in hidden]
        assert not leaked, f"{e['file']}: rows labelled {ignored} exported as messages: {leaked[:3]}"


XLSX = [e for e in CHAT if e["format"] == "xlsx"]


@pytest.mark.parametrize("e", XLSX, ids=ids(XLSX))
def test_excel_escapes_never_reach_the_export(e: dict[str, Any], workdir: str) -> None:
    assert e["escapes_in_file"] > 0  # the file really holds Excel's escapes
    _, lines, err = exported(e["file"], workdir)
    assert lines, f"{e['file']}: nothing exported: {err.strip()[:300]}"
    assert not any("_x000D_" in json.dumps(line, ensure_ascii=False) for line in lines), f"{e['file']}: '_x000D_' exported literally"


MOJIBAKE = [e for e in CHAT if e.get("mojibake_examples")]


@pytest.mark.parametrize("e", MOJIBAKE, ids=ids(MOJIBAKE))
def test_mojibake_is_flagged_on_each_affected_example(e: dict[str, Any]) -> None:
    flagged = {w["example"] for w in loaded(e)["warnings"] if "mojibake" in w["code"]}
    assert len(flagged) == e["mojibake_examples"], f"{e['file']}: mojibake flagged on {len(flagged)} examples, {e['mojibake_examples']} have it"


@pytest.mark.parametrize("e", PII, ids=ids(PII))
def test_no_false_payment_card_in_real_support_data(e: dict[str, Any]) -> None:
    rows = list(csv.DictReader((CORPUS / e["file"]).open(encoding=e["encoding"], newline="")))
    texts = [r[c] for r in rows for c in e["text_columns"]]
    assert len(rows) == e["data_rows"] and any(d in t for d in e["luhn_valid_non_cards"] for t in texts)
    cards = [(t[h.start:h.end], t[:60]) for t, hits in zip(texts, pii.scan_many(texts)) for h in hits if h.kind == "card"]
    assert len(cards) == e["card_numbers"], f"{e['file']}: {len(cards)} payment card(s) reported, {e['card_numbers']} real: {cards[:5]}"


def test_manifest_is_complete_and_files_are_small() -> None:
    names = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".tsv", ".xlsx", ".json", ".jsonl") and p.name != "manifest.json"}
    assert names == {e["file"] for e in MANIFEST}
    assert len(MANIFEST) >= 15 and {e["format"] for e in MANIFEST} >= {"csv", "tsv", "xlsx", "json", "jsonl"}
    assert all((CORPUS / n).stat().st_size < 300_000 for n in names) and sum((CORPUS / n).stat().st_size for n in names) < 3_000_000
    for e in MANIFEST:
        assert e["licence"] and e["source"]["repo"] and len(e["source"]["commit"]) == 40 and e["cut"], e["file"]

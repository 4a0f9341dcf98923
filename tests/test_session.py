"""The workspace facade (``validators.session``): typed options, the duplicate choice, and the
validation report and findings CSV that the Export page offers and ``export --report-dir`` writes,
byte for byte the same for the same file and options."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from validators import session as core
from validators.reading import ingest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "validators", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def hostile_jsonl(folder: Path) -> Path:
    """Ten good chats and two whose keys a spreadsheet would run as formulas."""
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"answer number {i} here"}]} for i in range(10)]
    rows.append({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok fine then", '=HYPERLINK("x")': 1}]})
    rows.append({"=cmd()": 1, "messages": [{"role": "user", "content": "hi2"}, {"role": "assistant", "content": "ok fine 2"}]})
    path = folder / "chats.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def page_files(path: Path, target: str, split: float, dedupe: str, reopen: bool) -> tuple[bytes, bytes]:
    """What the Export page offers for download: a workspace made as the Upload page makes it,
    exported through the facade (``ui/state.export_for`` calls ``Session.export``)."""
    data = path.read_bytes()
    ds = ingest.load_bytes(data, path.name)
    wid = core.create_workspace(path.name, data, ds, {"mapping": ds.mapping})
    live = core.open_workspace(wid)  # the examples handed over from the upload
    if reopen:
        live = core.open_workspace(wid)  # read back from the SQLite store, as after a restart
    assert live is not None
    out = live.export(target, split, dedupe)
    return live.validation_report(out), live.findings_csv()


@pytest.mark.parametrize(("sample", "target", "split", "dedupe", "reopen"), [
    ("support_desk.csv", "openai", 0.2, "near", False),
    ("tool_calls.jsonl", "azure", 0.0, "none", True),
    (None, "trl", 0.1, "exact", True),
])
def test_cli_report_dir_writes_what_the_export_page_offers(
    ftprep_db: Path, tmp_path: Path, sample: str | None, target: str, split: float, dedupe: str, reopen: bool,
) -> None:
    path = SAMPLES / sample if sample else hostile_jsonl(tmp_path)
    report, findings = page_files(path, target, split, dedupe, reopen)
    run = cli("export", str(path), "--to", target, "--validation-split", str(split), "--dedupe", dedupe,
              "-o", str(tmp_path / "out.jsonl"), "--report-dir", str(tmp_path / "reports"), "--quiet")
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    written = tmp_path / "reports"
    stem = path.stem
    assert sorted(p.name for p in written.iterdir()) == sorted([f"{stem}.findings.csv", f"{stem}.validation-report.json"])
    assert (written / f"{stem}.validation-report.json").read_bytes() == report
    assert (written / f"{stem}.findings.csv").read_bytes() == findings
    doc = json.loads(report)
    assert doc["source"]["file"] == path.name and doc["export"]["target"] == target
    assert doc["counts"]["after"]["rows_left_out"] == len(doc["left_out"])
    assert f"validation report to {written / (stem + '.validation-report.json')}" in run.stdout


def test_findings_csv_from_the_cli_is_formula_safe(tmp_path: Path) -> None:
    path = hostile_jsonl(tmp_path)
    run = cli("export", str(path), "-o", str(tmp_path / "out.jsonl"), "--report-dir", str(tmp_path / "r"), "--quiet")
    assert run.returncode == 1, run.stderr  # two examples have keys the API rejects
    rows = list(csv.reader(io.StringIO((tmp_path / "r" / "chats.findings.csv").read_text(encoding="utf-8"), newline="")))
    assert rows[0] == ["severity", "code", "example", "row", "message_index", "key", "message"]
    keys = {r[5] for r in rows[1:] if r[1] == "extra_key"}
    assert keys == {"'=cmd()", "'=HYPERLINK(\"x\")"}  # the user's text, neutralised, not dropped
    assert all(not cell.startswith(TRIGGERS) for row in rows for cell in row)


def test_report_dir_with_a_streamed_export_is_refused_in_words(tmp_path: Path) -> None:
    path = hostile_jsonl(tmp_path)
    run = cli("export", str(path), "--stream", "-o", str(tmp_path / "out.jsonl"), "--report-dir", str(tmp_path / "r"))
    assert run.returncode == 2
    assert "--report-dir needs the whole file in memory" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "out.jsonl").exists()


def test_options_are_typed_with_their_defaults_written_once(ftprep_db: Path) -> None:
    assert core.Options.of(None) == core.Options()
    assert core.Options.of({"threshold": None}).threshold == 0.8 and core.Options.of({"threshold": 0}).threshold == 0.8
    assert core.Options.of({"api_key": "sk-x", "epochs": 4}).to_dict() == {"epochs": 4, "threshold": 0.8}  # unknown keys never kept
    data = (SAMPLES / "support_desk.csv").read_bytes()
    ds = ingest.load_bytes(data, "support_desk.csv")
    wid = core.create_workspace("support_desk.csv", data, ds, {"mapping": ds.mapping, "secret": "x"})
    live = core.open_workspace(wid)
    assert live is not None and live.options.mapping == ds.mapping and live.options.threshold == 0.8
    live.set_options(threshold=0.9, epochs=2)
    again = core.open_workspace(wid)
    assert again is not None and again.options == live.options
    assert (again.options.threshold, again.options.epochs, again.options.model) == (0.9, 2, None)


def test_duplicate_choice_round_trip(ftprep_db: Path) -> None:
    data = (SAMPLES / "support_desk.csv").read_bytes()
    ds = ingest.load_bytes(data, "support_desk.csv")
    live = core.open_workspace(core.create_workspace("support_desk.csv", data, ds, {"mapping": ds.mapping}))
    assert live is not None
    groups = [list(g) for g in live.check(full=True).dupes.exact + live.check(full=True).dupes.near]
    assert groups, "the sample has duplicates"
    assert live.dedupe_default(None)[0] == "none"
    said = live.keep_one_per_group(groups, {0: groups[0][-1]})
    left = live.duplicates_left_out()
    assert left == sum(len(g) - 1 for g in groups) and said.startswith(f"Left out {left} ")
    assert not live.example(groups[0][-1]).dropped and live.example(groups[0][0]).dropped  # the chosen one is kept
    assert live.example(groups[0][0]).dropped_code == core.DUP_CODE
    assert live.dedupe_default(None)[0] == "near" and live.dedupe_default("keep_all")[0] == "none"
    live.keep_all_duplicates()
    assert live.duplicates_left_out() == 0


def test_a_background_first_check_gives_the_same_answer_and_its_bar_moves(ftprep_db: Path) -> None:
    """The Upload page starts a large file's check in the background (``start_check``); a
    page that needs the result waits for it through ``check`` with its bar relayed, and the
    answer is the one a direct check gives on the same examples."""
    data = (SAMPLES / "support_desk.csv").read_bytes()
    ds = ingest.load_bytes(data, "support_desk.csv")
    wid = core.create_workspace("support_desk.csv", data, ds, {"mapping": ds.mapping})
    live = core.open_workspace(wid)
    assert live is not None
    live.start_check()
    live.start_check()  # a second start (another run of the page) does nothing
    seen: list[tuple[float, str]] = []
    res = live.check(progress=lambda f, t: seen.append((f, t)))
    assert not live.checking() and live.check_progress()[0] == 1.0
    assert all(0.0 <= f <= 1.0 and t.endswith(" s") for f, t in seen)  # counts the seconds while it waits
    direct = core.open_workspace(wid)  # read back from the store, checked in this thread
    assert direct is not None and direct is not live
    other = direct.check()
    assert [f.to_dict() for f in res.findings] == [f.to_dict() for f in other.findings]
    assert res.counts.total.tolist() == other.counts.total.tolist()
    assert [e.record for e in live.examples] == [e.record for e in direct.examples]  # what the store holds

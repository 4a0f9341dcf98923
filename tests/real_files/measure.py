"""How many real files map right with no help: ``python tests/real_files/measure.py``.

For every chat file in manifest.json it runs the real CLI exactly as a user would, with no
flags (``check FILE --json`` then ``export FILE --to trl``), and calls the file right only
when all of these hold:

* the file is read (not refused) and the number of examples is the manifest's;
* the detected column per role is the manifest's (where the file has columns to name);
* the detected encoding decodes the bytes to the file's real text;
* the export holds one line per example and its first line's user and assistant texts are
  the file's first question and answer (for long format, by the speaker-label mapping).

It prints one line per file with the reason when it is not right, then the total (the
figure for the README), and the personal-data precision on the support extract.  Exit code
0 always: this is a measurement, the pass/fail gate is tests/test_real_files.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "validators", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def norm(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def mapping_problems(e: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for role, want in (e.get("mapping") or {}).items():
        allowed = want if isinstance(want, list) else [want]
        if got.get(role) not in allowed:
            out.append(f"{role}={got.get(role)!r} (want {'/'.join(allowed)})")
    for role in sorted({"system", "context", "conversation", "turn", "role", "content"} & (set(got) - set(e.get("mapping") or {}))):
        out.append(f"{role}={got[role]!r} (want none)")
    if e.get("pairs") and [got.get("user"), got.get("assistant")] not in e["pairs"]:
        out.append("question and answer from different language pairs")
    return out


def encoding_problem(e: dict[str, Any], reported: str | None) -> str | None:
    if e["format"] not in ("csv", "tsv") or not e.get("encoding"):
        return None
    raw = (HERE / e["file"]).read_bytes()
    try:
        same = raw.decode(reported or "").lstrip("\ufeff") == raw.decode(e["encoding"]).lstrip("\ufeff")
    except (LookupError, UnicodeDecodeError):
        same = False
    return None if same else f"read as {reported}, file is {e['encoding']}"


def first_problem(e: dict[str, Any], first: dict[str, Any]) -> str | None:
    def texts(role: str) -> list[str]:
        return [norm(m["content"]) for m in first["messages"] if m.get("role") == role and isinstance(m.get("content"), str)]

    users, assistants = texts("user"), texts("assistant")
    for c in [e["first"]] + e.get("first_alternatives", []):
        u, a = norm(c["user"]), norm(c["assistant"])
        if e.get("match") == "contains":
            if any(u in x for x in users) and any(a in x for x in assistants):
                return None
        elif users[:1] == [u] and assistants[:1] == [a]:
            return None
    return "first example is not the file's first question and answer"


def evaluate(e: dict[str, Any], tmp: Path) -> list[str]:
    """Why the file does not map right with no help (empty: it does)."""
    check = run("check", str(HERE / e["file"]), "--json")
    try:
        data = json.loads(check.stdout)
    except json.JSONDecodeError:
        return ["refused: " + (check.stderr.strip().splitlines() or ["no output"])[-1][:120]]
    problems = []
    if data["examples"] != e["examples"]:
        problems.append(f"{data['examples']} examples, want {e['examples']}")
    problems += mapping_problems(e, data["source"]["mapping"])
    if (p := encoding_problem(e, data["source"]["encoding"])):
        problems.append(p)
    out = tmp / (e["file"] + ".jsonl")
    run("export", str(HERE / e["file"]), "--to", "trl", "-o", str(out), "--quiet")
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()] if out.exists() else []
    want = e.get("exported", e["examples"])
    if len(lines) != want:
        problems.append(f"export wrote {len(lines)} lines, want {want}")
    elif (p := first_problem(e, lines[0])):
        problems.append(p)
    return problems


def card_precision(e: dict[str, Any]) -> str:
    import csv

    sys.path.insert(0, str(ROOT))
    from validators.checking import pii

    rows = list(csv.DictReader((HERE / e["file"]).open(encoding=e["encoding"], newline="")))
    texts = [r[c] for r in rows for c in e["text_columns"]]
    cards = sum(h.kind == "card" for hits in pii.scan_many(texts) for h in hits)
    return f"{e['file']}: {len(texts)} support messages, {cards} reported as payment card(s), {e['card_numbers']} real"


def main() -> int:
    files = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))["files"]
    chat = [e for e in files if e["layout"] != "pii"]
    right = 0
    with tempfile.TemporaryDirectory() as tmp:
        for e in chat:
            problems = evaluate(e, Path(tmp))
            right += not problems
            print(f"{'RIGHT' if not problems else 'WRONG'}  {e['file']:34} {'; '.join(problems)}")
    print(f"\n{right} of {len(chat)} real files map right with no help.")
    for e in files:
        if e["layout"] == "pii":
            print(card_precision(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())

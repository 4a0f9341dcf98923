"""A generated JSONL file with every kind of finding the whole-file checks make: exact and
near duplicates, conflicting answers, examples without a system prompt, schema and
semantic errors, unreadable and blank lines, personal data, one line not in UTF-8, and
one example over the token limit.  Deterministic, so runs compare byte for byte."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from make_data import generate  # noqa: E402


def lines(n: int, seed: int = 3) -> list[bytes]:
    rows = generate(n, seed)
    rng = random.Random(seed)
    for i in range(5, n, 97):  # conflicting answers: same prompt, other reply
        rows[i] = json.loads(json.dumps(rows[i - 3]))
        rows[i]["messages"][2]["content"] = "A different answer " + str(i)
    for i in range(7, n, 113):  # no system prompt
        rows[i]["messages"] = rows[i]["messages"][1:]
    for i in range(11, n, 131):  # schema error
        rows[i]["messages"][1]["content"] = 42
    for i in range(13, n, 151):  # semantic error: empty reply
        rows[i]["messages"][2]["content"] = " "
    for i in range(17, n, 173):  # personal data
        rows[i]["messages"][1]["content"] += f" Mail me at someone{i}@example.com or call +44 20 7946 {1000 + i % 9000:04d}."
    for i in range(23, n, 89):  # UTF-8 text beyond ASCII, so the file is UTF-8 with one odd line
        if isinstance(rows[i]["messages"][1]["content"], str):
            rows[i]["messages"][1]["content"] += " Caf\u00e9 cr\u00e8me, s'il vous pla\u00eet \u2615"
    for i in range(19, n, 211):  # extra key
        rows[i]["note"] = "internal"
    out = [json.dumps(r, ensure_ascii=False).encode() for r in rows]
    out[30] = b'{"messages": [oops'
    out[31] = b"   "
    out[40] = json.dumps(rows[40], ensure_ascii=False).replace("Ada", "Ad\u00e9").encode("cp1252")  # one cp1252 line
    out[50] = json.dumps({"messages": [{"role": "user", "content": "long " * 40000}, {"role": "assistant", "content": "ok then"}]}).encode()
    rng.shuffle(out[60:80])
    return out


def write(path: Path, n: int) -> Path:
    path.write_bytes(b"\n".join(lines(n)) + b"\n")
    return path

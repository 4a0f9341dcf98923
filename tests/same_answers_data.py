"""A fixed, varied set of files for tests/test_same_answers.py: the generated bench chat
examples plus hand-made cases for every finding (errors, personal data, secrets, mojibake,
tools, vision, duplicates, conflicting answers), a preference (DPO) file and a table.

Everything is derived from fixed seeds, so the files are byte-identical on every run and
the golden answers (tests/golden/same_answers.json) can be compared exactly.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import make_data  # noqa: E402

SYSTEM = make_data.SYSTEM
PII = [
    "Mail me at jane.doe@example.com please.",
    "Call +44 20 7946 0958 or (020) 7946 0958 tomorrow.",
    "My card is 4111 1111 1111 1111, expiry 12/27.",
    "Card 5500-0000-0000-0004 was charged twice.",
    "Pay to GB82 WEST 1234 5698 7654 32 by Friday.",
    "The key sk-proj-abcdefghijklmnopqrstuvwxyz0123 leaked.",
    "AWS AKIAIOSFODNN7EXAMPLE is in the log.",
    "token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ12 and xoxb-1234567890-abcdef",
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz.0123456789",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "Order 113542617735902 shipped on 2024-03-01 for $1,234.56.",
    "Reference 1234 5678 9012 3456 7 and phone 555-123-4567.",
    "Google AIzaSyA1234567890abcdefghijklmnopqrstuv and sk_live_abcdefghijklmnop1234",
    "Ring 0161 496 0000 or +1 (555) 010-9999, mail a.b+c@sub.example.co.uk.",
]
MOJIBAKE = [
    "It doesnâ€™t fit, the cafÃ© said.",
    "Price: Â£20 â€” thatâ€™s all.",
    "ÐŸÑ€Ð¸Ð²ÐµÑ‚, how are you?",
    "Cr√®me br√ªl√©e is on the menu.",
    "Invisible\x02control\x1bcharacters here.",
    "Café and naïve are fine, plain accents.",
    "Ã is a capital A with tilde, alone.",
]


def _msg(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


def _chat(user: str, reply: str, system: str | None = SYSTEM) -> dict[str, Any]:
    msgs = ([_msg("system", system)] if system is not None else []) + [_msg("user", user), _msg("assistant", reply)]
    return {"messages": msgs}


def special(rng: random.Random) -> list[Any]:
    """Hand-made records (or raw lines, as str) that trigger each check."""
    out: list[Any] = []
    for t in PII:
        out.append(_chat(t, "I have noted that, thank you."))
        out.append(_chat("Where is my order?", f"Noted. {t}"))
    for t in MOJIBAKE:
        out.append(_chat(t, "Thanks for letting us know."))
        out.append(_chat("A question about the menu.", t))
    tools = [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}]
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"id\": \"NW-1\"}"}}
    out.append({"messages": [_msg("user", "Where is NW-1?"), {"role": "assistant", "tool_calls": [call]},
                             _msg("tool", "shipped", tool_call_id="call_1"), _msg("assistant", "It has shipped.")], "tools": tools})
    out.append({"messages": [_msg("user", "Where is NW-2?"), {"role": "assistant", "tool_calls": [dict(call, function={"name": "other", "arguments": "{}"})]},
                             _msg("assistant", "Unknown.")], "tools": tools})
    out.append({"messages": [_msg("user", "Where?"), _msg("tool", "x", tool_call_id="nope"), _msg("assistant", "Done.")],
                "tools": [{"type": "function", "function": {"name": "bad name!"}}]})
    out.append({"messages": [_msg("user", [{"type": "text", "text": "What is in this picture? Mail x@y.org"},
                                           {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]),
                             _msg("assistant", "A tent.")]})
    out.append({"messages": [_msg("user", [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]),
                             _msg("assistant", "An image.")]})
    out.append({"messages": [_msg("user", "Hi"), _msg("user", "Hello?"), _msg("assistant", "  Hi there.  ")]})
    out.append({"messages": [_msg("user", "Hi"), _msg("system", SYSTEM), _msg("assistant", "ok")]})
    out.append({"messages": [_msg("user", "Hi"), _msg("assistant", "")]})
    out.append({"messages": [_msg("user", ""), _msg("assistant", "Hello.")]})
    out.append({"messages": [_msg("user", "Hi")]})
    out.append({"messages": [_msg("system", SYSTEM), _msg("user", "Hi"), _msg("assistant", "Hello.", weight=0)]})
    out.append({"messages": [_msg("assistant", "Only me.")]})
    out.append({"messages": [_msg("user", "Hi"), _msg("bot", "Hello.")]})
    out.append({"messages": [{"content": "no role"}, _msg("assistant", "Hello.")]})
    out.append({"messages": [_msg("user", 42), _msg("assistant", "Number.")]})
    out.append({"messages": [_msg("user", "Hi", extra="x"), _msg("assistant", "Hello.")], "extra_top": 1})
    out.append({"messages": "not a list"})
    out.append({"messages": []})
    out.append({"prompt": "Translate cat", "completion": "chat"})
    out.append(_chat("Same question about the tent?", "Answer one.", None))
    out.append(_chat("Same question about the tent?", "Answer two.", None))
    out.append(_chat("Same   QUESTION about the tent?", "answer ONE.", None))
    out.append(_chat("Different system", "Yes.", "You are another bot."))
    out.append("{not json")
    out.append("")
    out.append("[1, 2]")
    out.append('{"messages": [{"role": "user", "content": "dup"}, {"role": "user", "content": "dup"}], "messages": [{"role": "user", "content": "k"}, {"role": "assistant", "content": "v"}]}')
    out.append(_chat("x" * 3000 + " long", "y " * 20000))
    out.append(_chat("Ünïcödé ｆｕｌｌｗｉｄｔｈ text", "ＦＵＬＬ reply ﬁ ligature"))
    out.append(_chat("Ünïcödé full width text", "full reply fi ligature"))
    return out


def sft_lines(n: int = 2500, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    rows: list[Any] = list(make_data.generate(n, seed=seed))
    extra = special(rng)
    for i, item in enumerate(extra):  # spread the special cases through the file
        rows.insert((i * 37) % len(rows), item)
    for j in range(5, len(rows), 211):  # more personal data inside ordinary replies
        r = rows[j]
        if isinstance(r, dict) and isinstance(r.get("messages"), list) and len(r["messages"]) == 3:
            r["messages"][2]["content"] += " " + PII[j % len(PII)]
    return [r if isinstance(r, str) else json.dumps(r, ensure_ascii=rng.random() < 0.5) for r in rows]


def dpo_lines(n: int = 300, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = make_data.sentence(rng, 10)
        good, bad = make_data.paragraph(rng, 120), make_data.paragraph(rng, 80)
        if i % 29 == 3:
            bad = good
        if i % 31 == 4:
            good = ""
        if i % 23 == 1:
            q += " " + PII[i % len(PII)]
        msgs = [{"role": "user", "content": q}] if i % 17 else [{"role": "user", "content": q}, {"role": "assistant", "content": "Hm."}]
        out.append(json.dumps({"input": {"messages": msgs}, "preferred_output": [{"role": "assistant", "content": good}],
                               "non_preferred_output": [{"role": "assistant", "content": bad}]}))
        if i % 50 == 7:
            out.append(out[-1])
    return out


def table_rows(n: int = 400, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    rows = [["question", "answer"]]
    for i in range(n):
        q, a = make_data.sentence(rng, 12), make_data.paragraph(rng, 200)
        if i % 19 == 0:
            a = ""
        if i % 23 == 0:
            a = " " + MOJIBAKE[i % len(MOJIBAKE)] + " "
        if i % 29 == 0:
            q += " " + PII[i % len(PII)]
        rows.append([q, a])
        if i % 37 == 0:
            rows.append([q, a])
    return rows


def write_all(folder: Path) -> dict[str, Path]:
    """Write the three files into ``folder``; returns name → path."""
    paths = {"sft": folder / "same_sft.jsonl", "dpo": folder / "same_dpo.jsonl", "table": folder / "same_table.csv"}
    paths["sft"].write_text("\n".join(sft_lines()) + "\n", encoding="utf-8")
    paths["dpo"].write_text("\n".join(dpo_lines()) + "\n", encoding="utf-8")
    with paths["table"].open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(table_rows())
    return paths

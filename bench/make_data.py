"""Generate N realistic chat examples (~1.2 KB each) as JSONL or CSV, deterministically.

    python bench/make_data.py 100000 /tmp/bench.jsonl
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

WORDS = ["order", "delivery", "parcel", "return", "refund", "tent", "stove", "boots", "jacket", "backpack", "warranty", "size", "colour", "invoice", "payment", "card", "address", "courier", "tracking", "store", "opening", "hours", "discount", "voucher", "account", "password", "email", "phone", "weekend", "morning", "evening", "please", "thanks", "quickly", "broken", "missing", "replace", "repair", "exchange", "waterproof", "lightweight", "sleeping", "bag", "mat", "pole", "zip", "strap", "buckle", "fuel", "canister", "filter", "torch", "battery"]
GLUE = ["the", "a", "my", "your", "our", "it", "is", "was", "will", "can", "could", "would", "should", "and", "but", "or", "so", "because", "when", "if", "then", "with", "for", "to", "of", "in", "on", "at"]
SYSTEM = "You are Ada, the friendly support assistant of Northwind Outdoor Gear. Answer briefly, politely and accurately."


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) if rng.random() < 0.55 else rng.choice(GLUE) for _ in range(n)]
    return " ".join(words).capitalize() + rng.choice([".", "?", "!", "."])


def paragraph(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    while sum(map(len, out)) < chars:
        out.append(sentence(rng, rng.randint(6, 18)))
    return " ".join(out)


def example(rng: random.Random, i: int) -> dict[str, object]:
    user = f"Order NW-{100000 + i}: " + paragraph(rng, rng.randint(250, 450))
    reply = paragraph(rng, rng.randint(500, 800))
    return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}, {"role": "assistant", "content": reply}]}


def generate(n: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = [example(rng, i) for i in range(n)]
    for j in range(0, n, 50):  # ~2% exact duplicates
        if j + 1 < n:
            rows[j + 1] = json.loads(json.dumps(rows[j]))
    for j in range(25, n, 100):  # ~1% near duplicates: one word changed
        src = json.loads(json.dumps(rows[j - 10]))
        text = src["messages"][2]["content"].split()
        text[len(text) // 2] = "altered"
        src["messages"][2]["content"] = " ".join(text)
        rows[j] = src
    return rows


def write(rows: list[dict[str, object]], path: Path) -> None:
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["system", "question", "answer"])
            for r in rows:
                m = r["messages"]
                w.writerow([m[0]["content"], m[1]["content"], m[2]["content"]])
    else:
        with path.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"/tmp/bench_{n}.jsonl")
    write(generate(n), out)
    print(f"wrote {n} examples to {out} ({out.stat().st_size / 1e6:.1f} MB)")

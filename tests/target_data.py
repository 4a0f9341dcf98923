"""Source files for the target tests: the awkward mixes that break Arrow or templates.

Rows with and without ``tools``, two tools with different parameter schemas, weight 0,
text content parts, a named user: the export must load with ``datasets`` exactly as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from validators.cli import main

SYSTEM = {"role": "system", "content": "You are the help desk of a bicycle shop. Be brief."}
ORDER_TOOL = {"type": "function", "function": {"name": "get_order", "description": "Look up an order",
                                               "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
STOCK_TOOL = {"type": "function", "function": {"name": "check_stock", "description": "Units in stock of a part in a shop",
                                               "parameters": {"type": "object", "properties": {"part": {"type": "string"}, "shop": {"type": "integer"}}}}}


def _tool_row(i: int) -> dict[str, Any]:
    if i % 2:
        call, tools, result = {"name": "get_order", "arguments": json.dumps({"order_id": f"B-{i}"})}, [ORDER_TOOL], '{"status": "shipped"}'
        reply = f"Order B-{i} has shipped."
    else:
        call, tools, result = {"name": "check_stock", "arguments": json.dumps({"part": f"chain {i}", "shop": i})}, [STOCK_TOOL, ORDER_TOOL], '{"units": 3}'
        reply = f"Shop {i} has 3 of chain {i}."
    return {"messages": [SYSTEM, {"role": "user", "content": f"Question {i} about my order or a part?"},
                         {"role": "assistant", "content": None, "tool_calls": [{"id": f"call_{i}", "type": "function", "function": call}]},
                         {"role": "tool", "tool_call_id": f"call_{i}", "content": result},
                         {"role": "assistant", "content": reply}], "tools": tools}


def _plain_row(i: int) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": f"Do you repair wheels of size {20 + i}?"},
                                  {"role": "assistant", "content": f"Yes, {20 + i}-inch wheels take two days."}]
    if i % 3 == 0:  # weight 0 on an earlier reply, then a follow-up
        msgs[2]["weight"] = 0
        msgs += [{"role": "user", "content": "And the price?"}, {"role": "assistant", "content": f"{10 + i} euros.", "weight": 1}]
    if i % 4 == 1:  # text parts instead of a string
        msgs[1] = {"role": "user", "name": "Kim", "content": [{"type": "text", "text": f"Wheel size {20 + i}:"}, {"type": "text", "text": "repairable?"}]}
    return {"messages": msgs}


def mixed_rows(n: int = 12) -> list[dict[str, Any]]:
    """``n`` supervised examples, every other one calling a tool."""
    return [_tool_row(i) if i % 2 else _plain_row(i) for i in range(n)]


def plain_rows(n: int = 12) -> list[dict[str, Any]]:
    return [_plain_row(i) for i in range(n)]


def dpo_rows(n: int = 12) -> list[dict[str, Any]]:
    return [{"input": {"messages": [SYSTEM, {"role": "user", "content": f"Can I return a bell after {i} days?"}]},
             "preferred_output": [{"role": "assistant", "content": f"Yes, returns are free within {i + 30} days."}],
             "non_preferred_output": [{"role": "assistant", "content": "No."}]} for i in range(n)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def export(src: Path, target: str, out: Path, layout: str | None = None, *extra: str) -> Path:
    """Run the real CLI export; the file must come out clean (exit 0)."""
    args = ["export", str(src), "--to", target, "-o", str(out), *extra]
    if layout:
        args += ["--layout", layout]
    code = main(args)
    assert code == 0, f"export {target} {layout} exited {code}"
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8-sig").splitlines()]  # Azure files start with a BOM

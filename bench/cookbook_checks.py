"""The OpenAI Cookbook's "chat fine-tuning data prep" checks, as the notebook runs them.

Used only as the yardstick for bench/bench_check.py: load the JSONL, run the format
checks, count tokens per message with cl100k_base, print the distributions and the cost.
(The notebook fetches the BPE file from the internet; we hand it the same verified file.)
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np

from validators.counting.bpe_files import get_encoding

encoding = get_encoding("cl100k_base")


def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


def num_assistant_tokens_from_messages(messages):
    return sum(len(encoding.encode(m["content"])) for m in messages if m["role"] == "assistant")


def format_errors(dataset):
    errors = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            errors["example_missing_assistant_message"] += 1
    return errors


def main(path: str) -> dict[str, object]:
    with open(path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]
    errors = format_errors(dataset)
    n_missing_system = n_missing_user = 0
    convo_lens, assistant_lens = [], []
    for ex in dataset:
        messages = ex["messages"]
        n_missing_system += not any(m["role"] == "system" for m in messages)
        n_missing_user += not any(m["role"] == "user" for m in messages)
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_lens.append(num_assistant_tokens_from_messages(messages))
    stats = {k: (float(np.min(v)), float(np.mean(v)), float(np.quantile(v, 0.9))) for k, v in (("total", convo_lens), ("assistant", assistant_lens))}
    n_epochs = 3
    billing = sum(min(16385, n) for n in convo_lens)
    return {"errors": dict(errors), "tokens": sum(convo_lens), "billing": billing * n_epochs, "stats": stats}


if __name__ == "__main__":
    print(main(sys.argv[1]))

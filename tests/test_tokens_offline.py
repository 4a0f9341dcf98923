"""Token counting: offline, real tiktoken, the Cookbook's convention."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tiktoken_ext.openai_public as openai_public

from validators.counting import bpe_files, tokens
from validators.model import Example

ROOT = Path(__file__).resolve().parent.parent


def test_expected_hashes_come_from_tiktoken_itself():
    url, sha = bpe_files.expected_source("o200k_base")
    assert url.endswith("/o200k_base.tiktoken")
    assert sha in Path(openai_public.__file__).read_text()
    assert hashlib.sha256(bpe_files.bundled_bytes("o200k_base")).hexdigest() == sha


def test_counts_offline_with_empty_cache_fresh_home_and_no_network(tmp_path):
    """A fresh HOME, an empty cache and a socket layer that refuses every connection."""
    script = textwrap.dedent(
        """
        import socket, sys
        def refuse(*a, **k):
            raise RuntimeError("network used")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from validators.counting.bpe_files import get_encoding
        print(get_encoding("cl100k_base").encode_ordinary("Hello world"))
        print(len(get_encoding("o200k_base").encode_ordinary("Bonjour à tous 🙂")))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIKTOKEN", "DATA_GYM"))}
    env.update(HOME=str(tmp_path / "home"), FTPREP_TIKTOKEN_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "[9906, 1917]"
    assert int(lines[1]) > 3


def test_corrupted_cache_file_is_replaced_by_the_verified_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FTPREP_TIKTOKEN_CACHE", str(tmp_path))
    path = bpe_files.seed_cache("cl100k_base")
    path.write_bytes(b"garbage")
    path = bpe_files.seed_cache("cl100k_base")
    _, sha = bpe_files.expected_source("cl100k_base")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha


def test_unknown_encoding_is_a_plain_error():
    with pytest.raises(bpe_files.OfflineTokenizerError, match="supported"):
        bpe_files.expected_source("p99k_base")


def cookbook_count(messages, enc):
    """The Cookbook's num_tokens_from_messages, verbatim in spirit."""
    n = 0
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(enc.encode(value))
            if key == "name":
                n += 1
    return n + 3


def _ex(messages, i=1, **extra):
    return Example(i, (i + 1,), {"messages": messages, **extra})


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_string_messages_match_the_cookbook(encoding):
    enc = bpe_files.get_encoding(encoding)
    msgs = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "alice", "content": "Wie spät ist es? 🕰️"},
        {"role": "assistant", "content": "Es ist 12 Uhr.\nTschüss!"},
    ]
    counts = tokens.count([_ex(msgs)], encoding)
    assert counts.total[0] == cookbook_count(msgs, enc)
    assert counts.assistant[0] == len(enc.encode(msgs[2]["content"]))


def test_non_string_values_are_counted_as_documented():
    enc = bpe_files.get_encoding("o200k_base")
    args = json.dumps({"order_id": "NW-1"})
    msgs = [
        {"role": "user", "content": [{"type": "text", "text": "first part"}, {"type": "text", "text": " second"}]},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": args}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "shipped"},
        {"role": "assistant", "content": "It shipped.", "weight": 1},
    ]
    t = lambda s: len(enc.encode_ordinary(s))  # noqa: E731
    expected = 3 + 4 * 3
    expected += t("user") + t("first part") + t(" second")
    expected += t("assistant") + t("lookup") + t(args)
    expected += t("tool") + t("c1") + t("shipped")
    expected += t("assistant") + t("It shipped.")
    counts = tokens.count([_ex(msgs)], "o200k_base")
    assert counts.total[0] == expected
    assert counts.assistant[0] == t("It shipped.")


def test_special_token_text_is_counted_not_refused():
    counts = tokens.count([_ex([{"role": "user", "content": "a <|endoftext|> b"}, {"role": "assistant", "content": "ok"}])], "cl100k_base")
    assert counts.total[0] > 10


def test_unreadable_examples_count_zero_and_are_flagged_uncounted():
    counts = tokens.count([Example(1, (2,), None, problem="the row is empty"), _ex([{"role": "user", "content": "hi"}], 2)], "cl100k_base")
    assert counts.counted.tolist() == [False, True]
    assert counts.total[0] == 0


def test_stats_are_the_cookbook_distribution():
    s = tokens.stats(np.arange(1, 11))
    assert s["min"] == 1 and s["max"] == 10 and s["mean"] == 5.5
    assert s["p10"] == pytest.approx(1.9) and s["p90"] == pytest.approx(9.1)


def test_worker_process_gives_the_same_counts_as_in_process():
    from validators.counting import token_worker

    texts = ["Hello world", "", "Grüße 🙂 <|endoftext|>", "a" * 5000, "line\nbreak\ttab"]
    enc = bpe_files.get_encoding("o200k_base")
    assert token_worker.lengths_in_subprocess(texts, "o200k_base") == [len(enc.encode_ordinary(t)) for t in texts]

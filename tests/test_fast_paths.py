"""Each fast path of the speed work gives exactly what the plain code it replaced gave.

The plain versions are written out here as the reference; hypothesis feeds both the
awkward inputs (every kind of Unicode whitespace, compatibility characters that NFKC turns
into spaces, combining marks after line breaks, runs of ``@`` and local-part characters).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import unicodedata
from collections.abc import Iterator

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from validators.checking import minhash, pii, semantic

WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
TRICKY = ["\u00a8", "\u00a0", "\u2017", "\ufe49", "\u0301", "\u0308", "\u03a3", "\u03c2", "ß", "ﬁ", "Ａ", "\u200b", "\u180e", "\x85", "é", "İ"]
text = st.text(alphabet=st.one_of(st.sampled_from(WHITESPACE + TRICKY + list("ab .:-")), st.characters()), max_size=60)


def reference_normalise(t: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", t).split()).casefold()


@settings(max_examples=600, deadline=None)
@given(text)
def test_normalise_is_the_plain_normalisation(t: str) -> None:
    assert semantic.normalise(t) == reference_normalise(t)


@settings(max_examples=300, deadline=None)
@given(st.lists(text, max_size=5))
def test_lines_normalised_apart_equal_the_whole(lines: list[str]) -> None:
    assert semantic._normalise_lines(lines) == reference_normalise("\n".join(lines))


def test_every_whitespace_character_is_collapsed() -> None:
    for w in WHITESPACE:
        assert semantic.normalise(f"a{w}b") == reference_normalise(f"a{w}b") == "a b"


email_text = st.lists(st.sampled_from(list("ab1Z.@_-%+ é\x00x") + ["co", "@ex.com", "a" * 30]), max_size=40).map("".join)


@settings(max_examples=1500, deadline=None)
@given(email_text)
def test_emails_from_each_at_sign_equal_the_pattern(t: str) -> None:
    want = [(m.start(), m.end()) for m in pii._EMAIL.finditer(t)]
    assert [(h.start, h.end) for h in pii._emails(t)] == want


def test_long_local_parts() -> None:
    for n in (62, 63, 64, 65, 66):
        t = "x " + "a" * n + "@example.com b@c.org"
        assert [(h.start, h.end) for h in pii._emails(t)] == [(m.start(), m.end()) for m in pii._EMAIL.finditer(t)]


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(max_codepoint=0x9f), st.sampled_from(WHITESPACE + TRICKY)), max_size=30))
def test_control_characters_found_as_by_the_pattern(t: str) -> None:
    from validators.checking import mojibake

    assert mojibake.has_control(t) == bool(mojibake._CONTROL.search(t))


def test_sieve_digit_class_covers_every_python_digit() -> None:
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    digits = [chr(c) for c in range(0x110000) if re.fullmatch(r"\d", chr(c))]
    runs = pa.array([d * 9 for d in digits])
    assert pc.all(pc.match_substring_regex(runs, pii.PREFILTER)).as_py()


PIECES = ["a@b.co", "x@", "@y.org", "sk-" + "a" * 24, "AKIAIOSFODNN7EXAMPLE", "Bearer " + "b" * 25, "4111 1111 1111 1111",
          "+44 20 7946 0958", "GB82 WEST 1234 5698 7654 32", "GB82WEST", "12345678", "123456789", "NW-100123", "٣" * 10,
          "-----BEGIN RSA PRIVATE KEY-----\nAB\n-----END RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", " ", "word", "é", "\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=6).map("".join), min_size=1, max_size=12))
def test_sieved_scan_finds_what_the_full_scan_finds(texts: list[str]) -> None:
    full = pii._split(texts, pii._scan_joined(pii._SEP.join(texts)))
    old = pii.PREFILTER_MIN_CHARS
    pii.PREFILTER_MIN_CHARS = 0
    try:
        assert pii.candidates(texts) is not None
        assert pii.scan_many(texts) == full
        assert pii.scan_many_later(texts)() == full
    finally:
        pii.PREFILTER_MIN_CHARS = old


ROLES = st.sampled_from(["system", "user", "assistant", "tool", "bot", 3, None])
CONTENTS = st.sampled_from(["Hello there.", "ok", "Yes", "", " padded", "tail\n", "caf\u00c3\u00a9 time", "bell\x07", "Ünï", "tab\tinside", "a" * 40])
MESSAGE = st.one_of(st.fixed_dictionaries({"role": ROLES, "content": CONTENTS}),
                    st.fixed_dictionaries({"role": ROLES, "content": CONTENTS, "weight": st.sampled_from([0, 1])}),
                    st.fixed_dictionaries({"content": CONTENTS}), st.just("not a dict"))


@settings(max_examples=1500, deadline=None)
@given(st.lists(MESSAGE, max_size=6), st.booleans())
def test_plain_fast_path_gives_the_full_checks_answer(msgs: list, tools: bool) -> None:
    from validators.model import Example

    record = {"messages": msgs, **({"tools": []} if tools else {})}
    fast = [f.to_dict() for f in semantic.check_example(Example(1, (2,), record))]
    plain = semantic._plainly_fine
    semantic._plainly_fine = lambda _r, _m: False
    try:
        full = [f.to_dict() for f in semantic.check_example(Example(1, (2,), record))]
    finally:
        semantic._plainly_fine = plain
    assert fast == full


CONTROL_PIECES = ["<|eot_id|>", "<|endoftext|>", "<|end", "User:", "USER", ":", "[EOS]", "<image>", "<|reserved_special_token_7|>",
                  "Assistant:", "System", " ", "word", "é", "\n", "<|", "|>", "\x00"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(CONTROL_PIECES), max_size=5).map("".join), min_size=1, max_size=3),
                min_size=1, max_size=8))
def test_sieved_control_token_scan_finds_what_the_full_scan_finds(convos: list[list[str]]) -> None:
    """The RE2 sieve before the control-token scans (large data) changes no row of the
    per-destination table; the table's token lists come without loading the tokenizers."""
    from validators import catalog
    from validators.checking import sieve
    from validators.counting import reserved_tokens
    from validators.model import Example

    examples = [Example(i + 1, (i + 2,), {"messages": [{"role": "user", "content": t} for t in texts]}) for i, texts in enumerate(convos)]
    info = catalog.model(None)
    full = reserved_tokens.by_target(examples, info)
    old = sieve.MIN_CHARS
    sieve.MIN_CHARS = 0
    try:
        assert isinstance(reserved_tokens._Texts(examples, [("User:",)]).picked, list)  # the sieve ran
        assert reserved_tokens.by_target(examples, info) == full
    finally:
        sieve.MIN_CHARS = old


def _reference_control_findings(examples: list, info: object) -> list[tuple[int, int, str]]:
    """The control-token check as it was: every message of every example scanned on its own."""
    from validators.counting import reserved_tokens

    pattern = reserved_tokens._pattern(reserved_tokens.special_tokens(info))
    out = []
    for ex in examples:
        if ex.record is None or ex.dropped:
            continue
        for i, msg in enumerate(reserved_tokens._messages(ex)):
            if isinstance(msg, dict):
                hits = sorted({m.group(0) for t in reserved_tokens.message_texts(msg) for m in pattern.finditer(t)})
                if hits:
                    out.append((ex.index, i + 1, ", ".join(hits[:5])))
    return out


MESSAGE = st.one_of(
    st.lists(st.sampled_from(CONTROL_PIECES), max_size=4).map(lambda p: {"role": "user", "content": "".join(p)}),
    st.lists(st.lists(st.sampled_from(CONTROL_PIECES), max_size=3).map("".join), max_size=3).map(
        lambda parts: {"role": "assistant", "content": [{"type": "text", "text": t} for t in parts]}),
    st.just("not a message"),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(MESSAGE, max_size=4), min_size=1, max_size=8), st.booleans(), st.booleans())
def test_control_token_check_on_gathered_texts_as_message_by_message(convos: list[list], sieved: bool, share: bool) -> None:
    """The per-message control-token findings read from the texts gathered once (and
    sieved for every destination's list) are those of scanning each message: one finding
    per message whose text parts hold a control string, a message repeated in an example
    counted at each place."""
    from validators import catalog
    from validators.checking import sieve
    from validators.counting import reserved_tokens
    from validators.model import Example

    examples = [Example(i + 1, (i + 2,), {"messages": msgs + msgs[:1]}) for i, msgs in enumerate(convos)]
    info = catalog.model(None)
    old = sieve.MIN_CHARS
    sieve.MIN_CHARS = 0 if sieved else old
    try:
        found = reserved_tokens.check(examples, info, reserved_tokens.gather(examples, info) if share else None)
    finally:
        sieve.MIN_CHARS = old
    got = [(f.example, f.message_index, f.message.split(" contains ", 1)[1].split(", which ", 1)[0]) for f in found]
    assert got == _reference_control_findings(examples, info)


def test_control_token_lists_without_loading_the_tokenizers() -> None:
    from validators.counting import bpe_files, open_tokenizers, reserved_tokens

    for name in bpe_files.SUPPORTED:
        assert bpe_files.special_tokens(name) == bpe_files.get_encoding(name).special_tokens_set
    cheap = open_tokenizers._llama3_specials()
    assert len(cheap) == 256 and "<|eot_id|>" in cheap
    assert set(cheap) == set(open_tokenizers._llama3().special_tokens)
    assert reserved_tokens.HOSTED_OPEN_BASE in open_tokenizers.OFFLINE


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(allow_nan=True),
                      st.text(alphabet=st.one_of(st.sampled_from('"\\/\n\t\x00\x7fé\u2028😀'), st.characters()), max_size=8))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.sampled_from(["role", "content", "a", 'q"', "\\"]), inner, max_size=4)),
                          max_leaves=12)


def _strict(line: str) -> object:
    from validators.reading import readers

    try:
        return ("ok", readers.parse_json(line))
    except ValueError as exc:
        return ("error", str(exc))


def _fast(line: str) -> object:
    from validators.reading import readers

    try:
        return ("ok", readers.parse_json_line(line))
    except ValueError as exc:
        return ("error", str(exc))


@settings(max_examples=1500, deadline=None)
@given(JSON_VALUE, st.booleans(), st.sampled_from(["", "dup", "cut", "surrogate", "deep"]))
def test_orjson_line_reading_gives_the_strict_parsers_answer(value: object, ascii_only: bool, damage: str) -> None:
    """Every JSONL line reads to the same value, or the same error, as the strict parser:
    repeated keys, integers past 64 bits, NaN, lone surrogates, escapes, broken lines."""
    import json

    line = json.dumps(value, ensure_ascii=ascii_only)
    if damage == "dup" and line.startswith("{") and line != "{}":
        line = '{"a": 1, ' + line[1:] if '"a"' in line else line[:-1] + ', "q": 1, "q": 2}'
    elif damage == "cut":
        line = line[: len(line) // 2]
    elif damage == "surrogate":
        line = json.dumps([value, "x"], ensure_ascii=True).replace('"x"', '"\\ud800x"')
    elif damage == "deep":
        line = "[" * 70 + line + "]" * 70
    a, b = _fast(line), _strict(line)
    assert repr(a) == repr(b), (line, a, b)  # repr: NaN equals itself there


def test_bpe_ranks_parsed_as_tiktokens_loader_parses_them() -> None:
    import base64

    from validators.counting import bpe_files

    for name in bpe_files.SUPPORTED:
        data = bpe_files.bundled_bytes(name)
        reference = {base64.b64decode(tok): int(rank) for tok, rank in (line.split() for line in data.splitlines() if line)}
        assert list(bpe_files.ranks(data).items()) == list(reference.items())
        assert bpe_files.get_encoding(name)._mergeable_ranks == reference


def test_token_worker_counts_as_in_process() -> None:
    from validators.counting import token_worker
    from validators.counting.bpe_files import get_encoding

    texts = ["hello world", "", "é🙂 x" * 3, "\ud800 lone", "<|endoftext|> as text", "a" * 5000]
    encode = get_encoding("o200k_base").encode_ordinary
    assert token_worker.lengths_in_subprocess(texts, "o200k_base") == [len(encode(t)) for t in texts]
    # Past the writer's batches and the worker's 1 MB reads: a surrogate pair split over two
    # texts, a text larger than one read, empty texts at the edges.
    many = [f"{i} é" if i % 7 else "\ud83d" if i % 2 else "\ude00 x" for i in range(9000)] + ["", "b é " * 400_000, ""]
    assert token_worker.lengths_in_subprocess(many, "o200k_base") == [len(encode(t)) for t in many]


@settings(max_examples=1500, deadline=None)
@given(st.one_of(text, st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80)))
def test_printable_and_controls_as_the_plain_checks(t: str) -> None:
    """The bytes.translate shortcuts for ASCII text answer as isprintable and the regex do."""
    from validators.checking import mojibake

    assert mojibake.printable(t) == t.isprintable()
    assert mojibake.has_control(t) == (mojibake._CONTROL.search(t) is not None)


def test_comparable_parts_join_to_the_comparable_texts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The duplicate search keeps (prompt, reply) pieces instead of joined texts: each joins,
    measures and hashes exactly as the joined comparable text does."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import same_answers_data

    from validators.checking import duplicates, minhash
    from validators.model import Example
    from validators.reading import ingest

    examples: list[Example] = []
    for path in same_answers_data.write_all(tmp_path).values():
        examples += [e for e in ingest.load_file(path).examples if e.record is not None]
    examples.append(Example(len(examples) + 1, (1,), {"messages": ["odd", {"role": "assistant", "content": "x y"}]}))
    examples.append(Example(len(examples) + 1, (1,), {"messages": [{"role": "assistant", "content": "a"}, "odd"]}))
    pr = semantic.prompt_replies(examples)
    for prs in (pr, {}):
        texts = duplicates.Comparable([duplicates.comparable_parts(e, prs.get(e.index)) for e in examples])
        plain = [duplicates.comparable_text(e, prs.get(e.index)) for e in examples]
        assert list(texts) == plain and texts[3:9] == plain[3:9]
        assert list(texts.lengths()) == [len(t) for t in plain]
        assert texts.digests() == [duplicates._digest(t) for t in plain]
        assert [texts.nonempty(i) for i in range(len(plain))] == [bool(t) for t in plain]
        assert list(minhash._chunks(texts)) == list(minhash._chunks(plain))
    assert sum(type(p) is tuple for p in texts.parts) == 0 and sum(type(p) is tuple for p in
                                                                   duplicates.Comparable([duplicates.comparable_parts(e, pr.get(e.index)) for e in examples]).parts) > 2000


CONTROL_PIECES = ["<|im_start|>", "<|endoftext|>", "User:", "Bot:", "<s>", "[INST]", "<|eot_id|>"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES + CONTROL_PIECES), max_size=5).map("".join), min_size=1, max_size=12),
       st.booleans())
def test_shared_sieve_pass_gives_each_pattern_its_own_answer(texts: list[str], other_texts_second: bool) -> None:
    """One RE2 pass over the union (sieve.together), then each pattern on the texts the
    union picked: the same flags as each pattern's own pass, also when the second call
    brings other texts (then it sieves them itself)."""
    from validators import catalog
    from validators.checking import sieve
    from validators.counting import reserved_tokens

    control = reserved_tokens.sieve_pattern(catalog.model(None))
    assert control is not None and sieve.flags(["a <|endoftext|>", "plain"], control).tolist() == [True, False]
    second = texts[::-1] + ["<|im_start|>"] if other_texts_second else list(texts)  # an equal list, not the same object
    with sieve.together([pii.PREFILTER, control]):
        shared_pii = sieve.flags(texts, pii.PREFILTER)
        shared_control = sieve.flags(second, control)
    assert shared_pii is not None and shared_control is not None
    assert shared_pii.tolist() == sieve.flags(texts, pii.PREFILTER).tolist()
    assert shared_control.tolist() == sieve.flags(second, control).tolist()
    assert sieve._together is None  # the block left nothing behind


SPECIALS = ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|", "|>", "endoftext", "<|endoftext", "\ud800"]
token_text = st.lists(st.one_of(st.sampled_from(WHITESPACE[:8] + TRICKY + SPECIALS + list("ab1.'!/\r\n ")), st.characters()), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(token_text, max_size=12), st.sampled_from(["o200k_base", "cl100k_base"]), st.integers(1, 60), st.sampled_from([1, 2]))
def test_joined_token_counts_equal_one_text_at_a_time(texts: list[str], encoding: str, join_chars: int, threads: int) -> None:
    from validators.counting import tokens

    encode = tokens.get_encoding(encoding).encode_ordinary
    old, tokens.JOIN_CHARS = tokens.JOIN_CHARS, join_chars  # small batches: texts split across several calls
    try:
        assert tokens.joined_lengths(texts, encoding, threads) == [len(encode(t)) for t in texts]
    finally:
        tokens.JOIN_CHARS = old
    from validators.counting import token_worker

    if texts:  # the worker's own copy, without NumPy
        assert token_worker._joined_counts(tokens.get_encoding(encoding), texts) == [len(encode(t)) for t in texts]


# The word and shingle hashing as it was before its passes were made in place (minhash.py
# at 8f068af), the reference for the faster one.
def _plain_word_hashes(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each word ``arr[starts[i]:ends[i]]`` over all of its bytes.

    The state starts from the word's length and absorbs one 8-byte block per step (the
    last block masked to the word's end), each block and each step mixed by splitmix64;
    the loop runs over block positions, not words, so it is minhash.WORD_BLOCKS NumPy passes.
    """
    length = (ends - starts).astype(np.int64)
    with np.errstate(over="ignore"):
        h = length.astype(np.uint64) * minhash.Q
    padded = np.concatenate((arr, np.zeros(8, np.uint8)))
    # The little-endian 8 bytes starting at every byte offset, as one uint64 view (stride 1
    # byte): a block is then one gather, about 3 times faster than gathering 8 bytes each.
    windows = np.ndarray(shape=(padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
    blocks = (length + 7) // 8
    long_words = np.flatnonzero(blocks > minhash.WORD_BLOCKS)
    for j in range(min(int(blocks.max(initial=0)), minhash.WORD_BLOCKS)):
        active = np.flatnonzero(blocks > j) if j else None  # in text order: the gathers stay sequential
        at = starts if active is None else starts[active]
        block = windows[at + 8 * j]
        rest = np.minimum((length if active is None else length[active]) - 8 * j, 8)
        with np.errstate(over="ignore"):
            mixed = minhash._mix((block & minhash._BYTE_MASKS[rest]) + np.uint64(j + 1) * minhash.P)
            if active is None:
                h = minhash._mix(h ^ mixed)
            else:
                h[active] = minhash._mix(h[active] ^ mixed)
    if long_words.size:
        data = arr.tobytes()
        h[long_words] = np.array(
            [int.from_bytes(hashlib.blake2b(data[starts[i]:ends[i]], digest_size=8).digest(), "little") for i in long_words.tolist()],
            dtype=np.uint64,
        )
    return h


def _plain_chunk_shingles(chunk: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    # "\n" separates documents, so a newline inside a document becomes a space (a word break).
    blob = ("\n".join(t.replace("\n", " ") for t in chunk) + "\n").encode("utf-8", "surrogatepass")
    arr = np.frombuffer(blob, dtype=np.uint8)
    sep = (arr == 32) | (arr == 10)
    is_start = ~sep & np.concatenate(([True], sep[:-1]))
    is_end = ~sep & np.concatenate((sep[1:], [True]))
    starts = np.flatnonzero(is_start)
    ends = np.flatnonzero(is_end) + 1
    words = _plain_word_hashes(arr, starts, ends)
    newlines = np.flatnonzero(arr == 10)
    # The doc index of each word (the newlines before it), from each document's word count:
    # one search per document, not one per word.
    per_doc = np.diff(np.searchsorted(starts, newlines), prepend=0, append=starts.size)
    doc = np.repeat(np.arange(per_doc.size, dtype=np.int64), per_doc)
    out_doc, out_hash = [], []
    if words.size >= k:
        valid = doc[: words.size - k + 1] == doc[k - 1 :]
        with np.errstate(over="ignore"):
            acc = np.zeros(words.size - k + 1, dtype=np.uint64)
            for j in range(k):
                acc = acc * minhash.Q + words[j : words.size - k + 1 + j]
        out_doc.append(doc[: words.size - k + 1][valid])
        out_hash.append(minhash._mix(acc[valid]))
    if not out_doc:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    return np.concatenate(out_doc).astype(np.int64), np.concatenate(out_hash)


shingle_text = st.lists(st.one_of(st.sampled_from(["a", "b", " ", "  ", "\n", "é", "🙂", "\ud800", "x" * 9, "y" * 17, "z" * 70, "ab" * 40]),
                                  st.characters()), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(shingle_text, min_size=1, max_size=20), st.sampled_from([1, 2, 5]))
def test_in_place_shingle_hashes_equal_the_plain_ones(texts: list[str], k: int) -> None:
    """Words of every length (the masked last block, 8-byte multiples, past 64 bytes),
    empty texts, runs of spaces and newlines inside a text."""
    got = minhash._chunk_shingles(texts, k)
    want = _plain_chunk_shingles(texts, k)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert got[0].dtype == want[0].dtype and got[1].dtype == want[1].dtype


_role = st.sampled_from(["user", "assistant", "bot"])
_content = st.one_of(st.sampled_from(["", "hi"]), st.none(), st.sampled_from([1, [{"type": "text", "text": "x"}]]))
_message = st.one_of(
    st.fixed_dictionaries({"role": _role, "content": _content}),
    st.fixed_dictionaries({"content": _content, "role": _role}),  # the other key order
    st.fixed_dictionaries({"role": _role, "content": _content}, optional={"weight": st.sampled_from([0, 1, 2, "1", None]),
                                                                           "name": st.sampled_from(["bob", "", 3]), "extra": st.just(1)}),
    st.sampled_from(["text", None]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_message, min_size=1, max_size=3), st.lists(st.tuples(st.integers(0, 2), _role, _content), min_size=1, max_size=6),
       st.sampled_from([0, 29, 30, 31]), st.sampled_from([{}, {"tools": []}, {"x": 1}]))
def test_schema_findings_with_the_shape_shortcuts_as_record_by_record(msgs: list, edits: list, pad: int, extra: dict) -> None:
    """The shape keys (shared verdicts) and the short-list shortcut give each record the
    findings jsonschema gives it alone."""
    from validators.checking import schema_check
    from validators.model import Example

    # Records that share most of their shape (so a shared verdict would show if wrong),
    # some around LONG_LIST (32) messages, where the short-list shortcut ends.
    records = []
    for at, role, content in edits:
        edited = [m for m in msgs]
        if type(edited[at % len(edited)]) is dict:
            edited[at % len(edited)] = {"role": role, "content": content}
        records.append({"messages": [{"role": "user", "content": "hi"}] * pad + edited, **extra})
    records.append({"messages": msgs})
    examples = [Example(i, (i,), r) for i, r in enumerate(records, start=1)]
    want = []
    for ex in examples:
        if schema_check._long_lists(ex):
            errors = schema_check._split_errors(ex, {}, schema_check._ItemCache())
        else:
            errors = list(schema_check.validator(ex.kind).iter_errors(ex.record))
        want += schema_check._listed(ex, sorted(errors, key=lambda e: list(map(str, e.absolute_path))))
    assert schema_check.check_schema(examples) == want


_pii_text = st.sampled_from(["", "hi", "mail me at a.b@example.com", "call +44 20 7946 0958 now", "card 4111 1111 1111 1111",
                             "key sk-" + "a" * 24, "plain words"])
_pii_message = st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": _pii_text}),
                         st.fixed_dictionaries({"role": st.just("user"), "content": _pii_text, "name": _pii_text}),
                         st.fixed_dictionaries({"role": st.just("user"), "content": st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _pii_text}), max_size=2)}),
                         st.just("odd"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.lists(_pii_message, max_size=4).map(lambda m: {"messages": m}),
                          st.tuples(_pii_message, _pii_text).map(lambda p: {"input": {"messages": [p[0]]},
                                                                            "preferred_output": [{"role": "assistant", "content": p[1]}],
                                                                            "non_preferred_output": [{"role": "assistant", "content": "no"}]}),
                          st.none()), max_size=8))
def test_personal_data_places_kept_per_example_as_per_text(records: list) -> None:
    """The personal-data scan keeps where each text came from per example (and only for the
    uncommon shapes); every finding names the example, message and key the per-text places
    named."""
    from validators.model import Example

    examples = [Example(i, (i,), r, kind="dpo" if isinstance(r, dict) and "input" in r else "sft") for i, r in enumerate(records, start=1)]
    texts, where = [], []
    for ex in examples:
        if ex.record is None:
            continue
        for index, key, text in pii._places(ex):
            texts.append(text)
            where.append((ex, index, key))
    want = [f for w, found in zip(where, pii.scan_many(texts)) if found for f in pii._findings(*w, found)]
    assert pii.check_later(examples)() == want


def test_signatures_hashed_in_two_threads_equal_one_thread() -> None:
    import random

    rng = random.Random(7)
    words = ["order", "refund", "parcel", "é", "🙂", "x" * 70, "id-12345678"]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 60))) for _ in range(3000)]
    old, minhash.CHUNK_BYTES = minhash.CHUNK_BYTES, 5_000  # many chunks, several in hand at once
    try:
        one, two = minhash.all_signatures(texts), minhash.all_signatures(texts, threads=2)
    finally:
        minhash.CHUNK_BYTES = old
    assert np.array_equal(one, two) and one.any()


def test_exact_jaccard_in_two_threads_equals_one_thread() -> None:
    import random

    rng = random.Random(3)
    texts = [" ".join(rng.choices(["a", "b", "c", "d", "e"], k=rng.randint(0, 30))) for _ in range(400)]
    a = np.array([rng.randrange(400) for _ in range(5000)])
    b = np.array([rng.randrange(400) for _ in range(5000)])
    one = minhash.exact_jaccard(texts, a, b, batch=300)
    assert np.array_equal(one, minhash.exact_jaccard(texts, a, b, batch=300, threads=2)) and one.any()


# ---------------------------------------------------------------- the answer's JSON text (orjson)

_json_text = st.text(alphabet=st.one_of(st.sampled_from([" ", "\n", "\t", "\x00", "\x1b", "\x7f", "\u2028", "\x85", '"', "\\", "é", "\ud800"]),
                                        st.characters()), max_size=12)
_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), _json_text,
                         st.sampled_from([1e16, 1e-7, 1e-5, 0.0001, -0.0, 1e300, 5e-324, 123456789012345680.0, float("nan"), float("inf")]))
_json_value = st.recursive(_json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.one_of(_json_text, st.integers(0, 3)), inner, max_size=4)), max_leaves=25)


def _dumps_or_error(write, value) -> str:
    try:
        return write(value)
    except (TypeError, ValueError) as exc:  # the same refusal either way
        return type(exc).__name__


@settings(max_examples=800, deadline=None)
@given(_json_value)
def test_json_text_is_the_standard_encoders(value) -> None:
    from validators.checking import json_text

    plain = _dumps_or_error(lambda v: json.dumps(v, ensure_ascii=False, indent=1), value)
    assert _dumps_or_error(json_text.dumps, value) == plain


def test_json_text_of_a_check_answer_is_the_standard_encoders() -> None:
    """A real answer (findings with user text quoted, doubled spaces in one of them) both
    ways: the one-pass indent halving and the level-by-level one."""
    from validators.checking import checks, json_text
    from validators.reading import ingest

    rows = [{"messages": [{"role": "user", "content": f"q{i}  spaced" if i == 3 else f"q{i}"}, {"role": "assistant", "content": ""}]} for i in range(6)]
    ds = ingest.load_bytes(("\n".join(json.dumps(r) for r in rows)).encode(), "a.jsonl")
    data = checks.check_dataset(ds).to_json()
    data["extra"] = {"nested": [[{"deep": [1, 2.5, "x  y"]}]]}
    assert json_text._plain(data) is True
    assert json_text.dumps(data) == json.dumps(data, ensure_ascii=False, indent=1)
    data["extra"] = {"nested": [[{"deep": [1, 2.5, "x y"]}]]}
    assert json_text._plain(data) is False
    assert json_text.dumps(data) == json.dumps(data, ensure_ascii=False, indent=1)


# ---------------------------------------------------------------- the line count that decides streaming

@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"\n")), st.integers(0, 6))
def test_lines_found_by_jumps_are_the_lines_counted(block: bytes, jumps: int) -> None:
    from validators.streaming import stream

    assert stream.lines_in(block, jumps) == block.count(b"\n")
    assert stream.lines_in(block) == block.count(b"\n")


def test_example_count_of_a_file_with_short_and_long_lines(tmp_path) -> None:
    from validators.streaming import stream

    data = b"{}\n" * 600_000 + (b"x" * 5000 + b"\n") * 300 + b"tail"  # dense blocks, sparse blocks, no final line break
    (tmp_path / "a.jsonl").write_bytes(data)
    assert stream.example_count(tmp_path / "a.jsonl", "jsonl") == data.count(b"\n") == 600_300


_tok_text = st.sampled_from(["", "hi", "Hello there, friend.", "<|endoftext|>", "ok ok", "é\u0301", "a" * 50])
_tok_message = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant", "tool"]), "content": _tok_text}),
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": _tok_text}, optional={"name": _tok_text, "weight": st.just(1)}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.lists(st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": _tok_text}),
        st.fixed_dictionaries({"type": st.just("image_url"),
                               "image_url": st.fixed_dictionaries({"url": st.just("https://x/y.png"), "detail": st.sampled_from(["low", "high"])})})),
        max_size=3)}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.none(),
                           "tool_calls": st.just([{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])}),
    st.fixed_dictionaries({"role": st.just(3), "content": _tok_text}),
    st.just("not a dict"),
)


def _reference_token_counts(examples: list, encoding: str) -> tuple[list[int], list[int], list[bool], list[int]]:
    """The per-example loop the gathering replaced: every string encoded alone."""
    from validators.counting import image_tokens, tokens

    encode = tokens.get_encoding(encoding).encode_ordinary
    total, assistant, counted, uncounted = [], [], [], []
    for ex in examples:
        t = a = u = 0
        if ex.record is not None:
            t = tokens.PER_EXAMPLE
            for msg in tokens._messages(ex):
                if not isinstance(msg, dict):
                    continue
                t += tokens.PER_MESSAGE
                if isinstance(msg.get("content"), list):
                    known, unknown = image_tokens.message_images(msg["content"])
                    t += known
                    u += unknown
                for key, s, asst in tokens._strings(msg):
                    n = len(encode(s))
                    t += n + (tokens.PER_NAME if key == "name" else 0)
                    a += n if asst else 0
        total.append(t)
        assistant.append(a)
        counted.append(ex.record is not None)
        uncounted.append(u)
    return total, assistant, counted, uncounted


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.lists(_tok_message, max_size=5).map(lambda m: {"messages": m}), st.none()), max_size=8),
       st.sampled_from(["o200k_base", "cl100k_base"]))
def test_gathered_token_counts_equal_the_message_by_message_loop(records: list, encoding: str) -> None:
    """Token counts from the strings numbered as they are gathered (one encoding of each
    distinct string, summed per example by NumPy) equal the plain per-message loop."""
    from validators.counting import tokens
    from validators.model import Example

    examples = [Example(i, (i,), r) for i, r in enumerate(records, start=1)]
    got = tokens.count(examples, encoding, workers=False)
    total, assistant, counted, uncounted = _reference_token_counts(examples, encoding)
    assert got.total.tolist() == total and got.assistant.tolist() == assistant
    assert got.counted.tolist() == counted and got.images_uncounted.tolist() == uncounted
    assert got.total.dtype == got.assistant.dtype == np.int64


@contextlib.contextmanager
def _chunk_chars(chars: int) -> Iterator[None]:
    """``plain_text.CHUNK_CHARS`` set to ``chars`` for the block (hypothesis tests cannot use
    monkeypatch: the fixture would be shared by every generated case)."""
    from validators.checking import plain_text

    old, plain_text.CHUNK_CHARS = plain_text.CHUNK_CHARS, chars
    try:
        yield
    finally:
        plain_text.CHUNK_CHARS = old


_plain_text = st.text(alphabet=st.one_of(st.sampled_from(list("aB .:-  \t\x7f\x1f") + ["É", "ﬁ", "\u00a0"]), st.characters(max_codepoint=0x7F)),
                      max_size=30)


@settings(max_examples=800, deadline=None)
@given(st.lists(_plain_text, max_size=12), st.sampled_from([1, 7, 500_000]))
def test_texts_lowered_together_are_normalised_or_left_to_the_caller(texts: list[str], chunk: int) -> None:
    """Where the joined pass answers, its answer is the normalisation; it answers for every
    plain ASCII text (printable, no doubled or outer space), in chunks of any size."""
    from validators.checking import plain_text

    with _chunk_chars(chunk):
        got = plain_text.lowered_if_plain(texts)
    assert len(got) == len(texts)
    for t, g in zip(texts, got):
        plain = t.isascii() and t.isprintable() and "  " not in t and t.strip(" ") == t
        assert (g is not None) == plain
        if g is not None:
            assert g == reference_normalise(t)


_pr_content = st.one_of(_plain_text, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _plain_text}), max_size=2), st.none())
_pr_message = st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant", "tool", None]), "content": _pr_content}),
                        st.just("odd"))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.lists(_pr_message, max_size=5).map(lambda m: {"messages": m}), st.none()), max_size=8),
       st.sampled_from([1, 500_000]))
def test_prompt_replies_together_equal_one_example_at_a_time(records: list, chunk: int) -> None:
    """The prompts and replies normalised together equal prompt_and_reply, example by example."""
    from validators.model import Example

    examples = [Example(i, (i,), r) for i, r in enumerate(records, start=1)]
    if examples:
        examples[0].dropped = "left out"
    with _chunk_chars(chunk):
        got = semantic.prompt_replies(examples)
    want = {e.index: semantic.prompt_and_reply(e) for e in examples if e.record is not None and not e.dropped}
    assert got == want and list(got) == list(want)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(JSON_VALUE, st.sampled_from(["", "dup", "cut", "surrogate", "deep", "blank", "cr", "junk"])), max_size=6),
       st.booleans())
def test_ascii_jsonl_read_from_its_bytes_as_from_its_text(lines: list, final_newline: bool) -> None:
    """An ASCII JSONL file read line by line from its bytes gives the records (values,
    errors, raw text, blank lines) reading its decoded text gives."""
    import json

    from validators.reading import readers

    texts = []
    for value, damage in lines:
        line = json.dumps(value, ensure_ascii=True)
        if damage == "dup" and line.startswith("{") and line != "{}":
            line = line[:-1] + ', "q": 1, "q": 2}'
        elif damage == "cut":
            line = line[: len(line) // 2]
        elif damage == "surrogate":
            line = json.dumps([value, "x"], ensure_ascii=True).replace('"x"', '"\\ud800x"')
        elif damage == "deep":
            line = "[" * 70 + line + "]" * 70
        elif damage == "blank":
            line = " \t\x1c\x1f\x0b"
        elif damage == "cr":
            line += "\r"
        elif damage == "junk":
            line = "\x1e" + line + " \\\\\"x"
        texts.append(line)
    data = ("\n".join(texts) + ("\n" if final_newline else "")).encode("ascii")
    want = readers.read_jsonl(data.decode("ascii"))
    got = readers.read_jsonl_ascii(data)
    assert repr(got.records) == repr(want.records)  # repr: NaN equals itself there
    content, encoding = readers.read_bytes(data or b"{}", "f.jsonl") if data.strip() else (None, None)
    if content is not None:
        assert repr(content.records) == repr(readers.read_jsonl(data.decode("ascii")).records) and encoding == "utf-8"


_rec_value = st.one_of(
    st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"]), "content": st.sampled_from(["hi", "", "ok"])}),
             max_size=3).map(lambda m: {"messages": m}),
    st.just({"messages": "not a list"}), st.just({"messages": [], "tools": []}), st.just({"question": "q", "answer": "a"}),
    st.just({"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [{"role": "assistant", "content": "a"}],
             "non_preferred_output": [{"role": "assistant", "content": "b"}]}),
    st.just([1, 2]), st.none(), st.just("text"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_rec_value, st.booleans()), min_size=1, max_size=8), st.sampled_from([None, "", "Be brief."]))
def test_plain_chat_records_become_the_examples_record_example_makes(items: list, default_system: str | None) -> None:
    """from_records' shortcut for the common chat record gives every example
    record_example gives it (with the same origin), whatever else the file holds."""
    import copy

    from validators.reading import ingest, readers

    records = readers.Records([readers.Record(i, copy.deepcopy(v)) if ok else readers.Record(i, error="invalid JSON", raw="{")
                               for i, (v, ok) in enumerate(items, start=1)])
    if all(r.error is not None for r in records.records):
        return
    reference = copy.deepcopy(records)
    layout, m, columns, detection = ingest.plan([r for r in reference.records if r.error is None], None, default_system)
    want = []
    for i, rec in enumerate(reference.records, start=1):
        ex = ingest.record_example(i, rec, layout, m, columns, default_system, detection)
        ex.origin = "line"
        want.append(ex)
    assert ingest.from_records(records, "f.jsonl", "jsonl", None, default_system).examples == want


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.lists(MESSAGE, max_size=5).map(lambda m: {"messages": m}), st.none(),
                          st.lists(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]),
                                                          "content": st.sampled_from(["Hello there.", "ok then", "bell\x07 rang", "tab\there", "x\x7f"])}),
                                   min_size=2, max_size=4).map(lambda m: {"messages": m})), max_size=10),
       st.sampled_from([1, 500_000]))
def test_semantic_checks_of_many_examples_as_one_by_one(records: list, chunk: int) -> None:
    """check_examples (control characters of the plainly fine texts found together) gives
    what check_example gives each example, in order."""
    from validators.model import Example

    examples = [Example(i, (i,), r) for i, r in enumerate(records, start=1)]
    if len(examples) > 2:
        examples[1].dropped = "left out"
    with _chunk_chars(chunk):
        got = semantic.check_examples(examples)
    assert got == [f for ex in examples for f in semantic.check_example(ex)]


def _plain_densify(sig: np.ndarray, num_perm: int) -> np.ndarray:
    """One-permutation densification, bin by bin: an empty bin takes the next filled bin's
    value (cyclically) mixed with its distance; a row with no filled bin is all zeros."""
    empty = np.uint64(2**64 - 1)
    out = np.zeros(sig.shape, dtype=np.uint32)
    for r, row in enumerate(sig):
        filled = [j for j in range(num_perm) if row[j] != empty]
        if not filled:
            continue
        for j in range(num_perm):
            p = next(p for p in range(j, j + num_perm) if row[p % num_perm] != empty)
            value = int(row[p % num_perm]) >> 16 & 0xFFFFFFFF
            out[r, j] = value if p == j else value ^ ((p - j) * 0x9E3779B1 & 0xFFFFFFFF)
    return out


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([4, 8, 128]), st.integers(1, 6), st.floats(0, 1), st.integers(0, 2**32))
def test_densified_signatures_equal_bin_by_bin(num_perm: int, n_rows: int, empty_share: float, seed: int) -> None:
    """The vectorised densification (one-byte column numbers where they fit) equals the
    definition, bin by bin, for rows with no, some and every bin empty."""
    rng = np.random.default_rng(seed)
    sig = rng.integers(0, 2**63, (n_rows, num_perm), dtype=np.uint64)
    sig[rng.random((n_rows, num_perm)) < empty_share] = np.uint64(2**64 - 1)
    got = minhash._densify(sig.copy(), np.uint64(2**64 - 1), num_perm)
    assert np.array_equal(got, _plain_densify(sig, num_perm))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.lists(_pii_message, max_size=4).map(lambda m: {"messages": m}),
                          st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]),
                                                          "content": st.sampled_from(["hi", "<|endoftext|> x", "User: y", ""])}),
                                   max_size=3).map(lambda m: {"messages": m}),
                          st.none()), max_size=8), st.booleans())
def test_control_texts_taken_from_the_personal_data_scan_as_gathered_again(records: list, drop_first: bool) -> None:
    """The personal-data scan's texts, handed to the control-token scan when every example
    is the common shape, are the texts, examples and positions it gathers itself, and give
    the same findings and table."""
    from validators import catalog
    from validators.counting import reserved_tokens
    from validators.model import Example

    examples = [Example(i, (i,), r) for i, r in enumerate(records, start=1)]
    if drop_first and examples:
        examples[0].dropped = "left out"
    info = catalog.model(None)
    given = pii.check_later(examples, workers=False).gathered()
    own = reserved_tokens.gather(examples, info)
    if given is not None:
        assert given[0] == own.texts and given[1] == own._examples and given[2] == own._firsts
    taken = reserved_tokens.gather(examples, info, given)
    assert reserved_tokens.check(examples, info, taken) == reserved_tokens.check(examples, info, own)
    assert reserved_tokens.by_target(examples, info, taken) == reserved_tokens.by_target(examples, info, own)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), max_size=30), st.integers(0, 50))
def test_examples_over_the_limit_as_one_by_one(items: list, limit: int) -> None:
    """CheckResult.over_limit (NumPy picks the counts over the limit) equals reading each count."""
    import dataclasses

    from validators import catalog
    from validators.checking import checks, duplicates
    from validators.counting import cost, tokens
    from validators.model import Example

    examples = [Example(i, (i,), {"messages": []}, dropped="left out" if d else None) for i, (_, d) in enumerate(items, start=1)]
    total = np.array([t for t, _ in items], dtype=np.int64)
    counts = tokens.TokenCounts("o200k_base", total, total * 0, total >= 0)
    model = dataclasses.replace(catalog.model(None), limit=limit)
    result = checks.CheckResult(examples, model, [], counts, cost.estimate(total, limit, 1.0), duplicates.DuplicateGroups())
    assert result.over_limit() == [e.index for e, t in zip(examples, total) if not e.dropped and t > limit]

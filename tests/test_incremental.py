"""Incremental equals full: the browser's edit-by-edit check gives what a full check gives
(findings, duplicate groups, the control-token table, other tokenizers' counts).

Above ``validators.session.INCREMENTAL_MIN`` examples an edit re-checks only the examples it changed
(``validators.session.patch``) and refreshes the dataset-wide parts when a page asks.  These tests drive
a real workspace (a real SQLite file) of 6,000 examples with random edits, one-click fixes,
left-outs and undos, then compare the result finding for finding with ``checks.run`` on the
same examples.  Few examples change per run, so each comparison is one full check (~0.3 s).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validators import codes
from validators import session as live_mod
from validators.checking import checks, fixes, pii
from validators.model import Example, Finding
from validators.storing import workspace as store

N = 6_000
assert N > live_mod.INCREMENTAL_MIN
SYSTEM = "You are the help desk of a small shop. Be brief."
# The examples the random edits touch: a few, so edits collide (duplicates, conflicts).
TOUCH = [1, 2, 3, 4, 5, 500, 703, 905, 1007, 2500, 5999, 6000]
REPLIES = [
    "Thanks, that is fixed now.",
    "",  # the reply to train on is empty: an error
    "  padded reply with spaces  ",  # surrounding whitespace
    "Write to jane.doe@example.com and we will sort it out.",  # personal data
    "Call us on +44 20 7946 0958 any weekday.",
    "ok",  # a short reply
    "answer 2 with details about item 2 and the steps to take",  # the same as example 2's reply
]


def base_example(i: int) -> Example:
    """Varied on purpose: personal data, whitespace, duplicates, a missing system prompt."""
    user = f"question {i}: how do I do thing {i}?"
    answer = f"answer {i} with details about item {i} and the steps to take"
    if i % 500 == 0:
        user += f" My address is shopper{i}@example.org."
    if i % 700 == 3:
        answer = f"  {answer}  "
    if i % 900 == 5:
        user, answer = "question 1: how do I do thing 1?", "answer 1 with details about item 1 and the steps to take"
    msgs = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    if i % 1000 != 7:
        msgs.insert(0, {"role": "system", "content": SYSTEM})
    return Example(i, (i + 1,), {"messages": msgs})


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live_mod.Session]:
    """One workspace for the module (creating and fully checking 6,000 examples per
    hypothesis run would dominate); each run undoes its edits at the end."""
    db = tmp_path_factory.mktemp("inc") / "ws.sqlite3"
    old = os.environ.get("FTPREP_DB")
    os.environ["FTPREP_DB"] = str(db)
    try:
        with live_mod.db() as conn:
            ws_id = store.create(conn, "big.csv", b"question,answer\n", [base_example(i) for i in range(1, N + 1)], {"model": "gpt-4o-mini"}, {})
        opened = live_mod.open_workspace(ws_id)
        assert opened is not None
        opened.check()
        yield opened
    finally:
        if old is None:
            os.environ.pop("FTPREP_DB", None)
        else:
            os.environ["FTPREP_DB"] = old


def with_reply(ex: Example, text: str) -> Example:
    msgs = [dict(m) for m in ex.record["messages"]] if ex.record else [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]
    msgs[-1]["content"] = text
    return replace(ex, record={"messages": msgs}, problem=None, raw=None)


def edited(ex: Example, kind: str, arg: int) -> Example:
    """One edit a person could make in the grid (or a left-out / bring-back)."""
    if kind == "reply":
        return with_reply(ex, REPLIES[arg % len(REPLIES)])
    if kind == "copy":  # the whole record of another touched example: an exact duplicate
        return replace(ex, record=base_example(TOUCH[arg % len(TOUCH)]).record, problem=None, raw=None)
    if kind == "extra_key":  # a key the API rejects: a format error
        good = with_reply(ex, "fine")
        return replace(good, record={"messages": [*good.record["messages"][:-1], {**good.record["messages"][-1], "mood": "happy"}]})
    if kind == "no_system":
        good = with_reply(ex, f"reply {arg}")
        return replace(good, record={"messages": [m for m in good.record["messages"] if m["role"] != "system"]})
    if kind == "unreadable":
        return replace(ex, record=None, raw="{not json", problem="invalid JSON: expecting a property name")
    if kind == "drop":
        return replace(ex, dropped="left out by the user")
    return replace(ex, dropped=None, dropped_code=None)  # "restore"


FIXES = {
    "trim": lambda exs: fixes.trim_whitespace(exs),
    "redact": lambda exs: pii.redact_pii(exs),
    "system": lambda exs: fixes.fill_default_system(exs, SYSTEM),
    "drop_empty": lambda exs: fixes.drop_empty_messages(exs),
}
EDIT = st.tuples(st.just("edit"), st.sampled_from(TOUCH), st.sampled_from(["reply", "copy", "extra_key", "no_system", "unreadable", "drop", "restore"]), st.integers(0, 20))
FIX = st.tuples(st.just("fix"), st.sampled_from([*sorted(FIXES), "drop_errors"]))
UNDO = st.tuples(st.just("undo"))
OPS = st.lists(st.one_of(EDIT, EDIT, FIX, UNDO), min_size=1, max_size=6)


def apply_op(live: live_mod.Session, op: tuple[Any, ...]) -> None:
    if op[0] == "edit":
        _, index, kind, arg = op
        live.apply([edited(live.example(index), kind, arg)], f"edit {index}")
    elif op[0] == "fix" and op[1] == "drop_errors":  # "Leave out examples with errors"
        live.apply_fix(fixes.drop_unusable(live.examples, live.check().error_examples()), op[1])
    elif op[0] == "fix":
        live.apply_fix(FIXES[op[1]](live.examples), op[1])
    else:
        live.undo()


def key(f: Finding) -> tuple[Any, ...]:
    return tuple(str(v) for v in f.to_dict().values())


def same_findings(got: list[Finding], want: list[Finding]) -> None:
    """Finding for finding (as a multiset: ties in the report order may differ)."""
    missing = sorted(set(map(key, want)) - set(map(key, got)))
    extra = sorted(set(map(key, got)) - set(map(key, want)))
    assert not missing and not extra, f"missing {missing[:5]}, extra {extra[:5]}"
    assert sorted(map(key, got)) == sorted(map(key, want))


def full_check(live: live_mod.Session) -> checks.CheckResult:
    return checks.run(list(live.examples), model=live.options.model, read_findings=live_mod.findings_from(live.meta))


def per_example(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not codes.is_dataset_wide(f.code)]


def undo_all(live: live_mod.Session) -> None:
    while live.undo() is not None:
        pass


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_incremental_equals_full(live: live_mod.Session, ops: list[tuple[Any, ...]]) -> None:
    try:
        for op in ops:
            apply_op(live, op)
        patched = live.check()  # what the Validate page shows right after the edits
        want = full_check(live)
        same_findings(per_example(patched.findings), per_example(want.findings))  # current at once
        assert patched.counts.total.tolist() == want.counts.total.tolist()
        assert patched.estimate == want.estimate
        refreshed = live.check(full=True)  # what Duplicates and Export show
        same_findings(refreshed.findings, want.findings)
        assert refreshed.dupes.to_dict() == want.dupes.to_dict()
        assert live.exact
        assert live.control_rows(refreshed) == live_mod.control_tokens_by_target(list(live.examples), refreshed.model)
    finally:
        undo_all(live)
    back = live.check(full=True)
    assert live.examples == [base_example(i) for i in range(1, N + 1)]
    same_findings(back.findings, full_check(live).findings)


def test_personal_data_warning_survives_an_edit_at_6000_examples(live: live_mod.Session) -> None:
    """The regression of issue 11: an edit dropped that example's personal-data warning."""
    undo_all(live)
    before = live.check()
    assert [f.code for f in before.findings if f.example == 500] == ["pii_email"]  # from the base data
    try:
        live.apply([with_reply(live.example(500), "Sure, the steps are listed in the help centre.")], "edit 500")
        after = live.check()
        assert not live.exact  # patched, not re-checked whole
        assert [f.code for f in after.findings if f.example == 500] == ["pii_email"], "the user text still holds an e-mail address"
        live.apply([with_reply(live.example(42), "Mail me: jo.bloggs@example.com")], "edit 42")
        found = [f for f in live.check().findings if f.example == 42]
        assert [(f.code, f.message_index, f.key) for f in found] == [("pii_email", 3, "content")]
    finally:
        undo_all(live)
    assert not [f for f in live.check().findings if f.example == 42]


def test_background_refresh_after_an_edit_equals_full(live: live_mod.Session) -> None:
    """The dataset-wide parts and the control-token table, computed in the background right
    after an edit (the Duplicates and Tokens pages then find them ready), are a full check's."""
    undo_all(live)
    live.check(full=True)
    try:
        live.apply([edited(live.example(703), "copy", 1)], "edit 703")  # an exact duplicate of example 2
        live.apply([with_reply(live.example(905), "Mail <|endoftext|> me")], "edit 905")  # a control string
        for name in ("control", "refresh"):
            version, job = live._pending[name]
            assert version == live.version
            job.result(timeout=300)
        assert not live.stale  # the background job handed its answer over
        want = full_check(live)
        got = live.check(full=True)
        same_findings(got.findings, want.findings)
        assert got.dupes.to_dict() == want.dupes.to_dict()
        rows = live.control_rows(got)
        assert rows == live_mod.control_tokens_by_target(list(live.examples), got.model)
        assert any(905 in r.get("example numbers", []) for r in rows)
    finally:
        undo_all(live)


def test_refresh_overtaken_by_a_newer_edit_stops_after_the_duplicate_search(live: live_mod.Session) -> None:
    """A background refresh asks whether it is still wanted once the duplicate search is done:
    when a newer edit came (a fix, then an undo) it stops there and hands back the old result,
    which the caller drops; still wanted, it finishes with a full check's answer."""
    undo_all(live)
    res = live.check(full=True)
    asked: list[bool] = []
    assert live._refresh_dataset_parts(res, None, wanted=lambda: asked.append(False) or False) is res
    assert asked == [False]
    live.apply([edited(live.example(703), "copy", 1)], "edit 703")  # an exact duplicate of example 2
    try:
        live._pending["refresh"][1].result(timeout=300)
        stale = live.result
        got = live._refresh_dataset_parts(stale, None, wanted=lambda: True)
        want = full_check(live)
        same_findings(got.findings, want.findings)
        assert got.dupes.to_dict() == want.dupes.to_dict()
        assert any(703 in g for g in got.dupes.exact)
    finally:
        undo_all(live)


# -- the duplicate search after edits: memoised (DupIndex) equals searching afresh ------------------

WORDS = ["the", "order", "shipped", "late", "and", "the", "parcel", "arrived", "damaged", "so", "please", "send", "a", "new", "one", "soon"]


def near_example(i: int, variant: int) -> Example:
    """Texts built from one sentence with a word or two changed: many near and exact duplicates."""
    words = list(WORDS)
    words[variant % len(words)] = f"word{variant % 7}"
    if variant % 3 == 0:
        words.append(f"extra{variant % 5}")
    msgs = [{"role": "user", "content": " ".join(words)}, {"role": "assistant", "content": f"reply {variant % 4}"}]
    return Example(i, (i + 1,), {"messages": msgs})


NEAR_EDIT = st.tuples(st.integers(0, 59), st.sampled_from(["variant", "reply", "unreadable", "drop", "restore", "no_reply", "short"]),
                      st.integers(0, 40))


@settings(max_examples=30, deadline=None)
@given(seed=st.lists(st.integers(0, 40), min_size=60, max_size=60), rounds=st.lists(st.lists(NEAR_EDIT, max_size=5), min_size=1, max_size=4),
       threshold=st.sampled_from([0.5, 0.7, 0.8, 0.9, 1.0]))
def test_duplicate_index_equals_a_fresh_search(seed: list[int], rounds: list[list[tuple[int, str, int]]], threshold: float) -> None:
    """After each round of edits, :class:`DupIndex` (digests, band keys and similarities kept
    per example object) finds exactly what :func:`duplicates.find` finds from scratch: the
    same exact and near groups and the same similarities, at any threshold."""
    from validators.checking import duplicates, semantic
    from validators.checking.dup_index import DupIndex

    examples = [near_example(i + 1, v) for i, v in enumerate(seed)]
    index = DupIndex()
    for edits in [[], *rounds]:
        for pos, kind, arg in edits:
            ex = examples[pos]
            if kind == "variant":
                examples[pos] = replace(near_example(ex.index, arg), dropped=ex.dropped)
            elif kind == "reply":
                examples[pos] = with_reply(ex, f"reply {arg % 4}")
            elif kind == "unreadable":
                examples[pos] = replace(ex, record=None, raw="{", problem="invalid JSON")
            elif kind == "no_reply":  # no final assistant turn: the other form of comparable text
                examples[pos] = replace(ex, record={"messages": [{"role": "user", "content": " ".join(WORDS[: arg % 12])}]})
            elif kind == "short":  # under five words: no shingle at all
                examples[pos] = with_reply(replace(ex, record={"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}), "ok")
            else:
                examples[pos] = replace(ex, dropped="left out" if kind == "drop" else None)
        pr = semantic.prompt_replies(examples)
        want = duplicates.find(list(examples), threshold, True, None, pr, {})
        got = index.find(list(examples), threshold, pr)
        assert (got.exact, got.near, got.similarity) == (want.exact, want.near, want.similarity)


@settings(max_examples=40, deadline=None)
@given(seed=st.lists(st.integers(0, 40), min_size=40, max_size=40),
       rounds=st.lists(st.lists(st.tuples(st.integers(0, 39), st.integers(0, 40), st.booleans()), min_size=1, max_size=4), min_size=1, max_size=4))
def test_duplicate_index_candidate_pairs_equal_a_fresh_banding(seed: list[int], rounds: list[list[tuple[int, int, bool]]]) -> None:
    """The candidate pairs :class:`DupIndex` takes from its stored per-band key order (new texts
    merged in, buckets ordered by position) are :func:`minhash.pairs_from_keys` of the kept texts'
    band keys, pair for pair: edits give early examples new texts that share buckets with later ones."""
    import numpy as np

    from validators.checking import minhash, semantic
    from validators.checking.dup_index import DupIndex

    examples = [near_example(i + 1, v) for i, v in enumerate(seed)]
    index = DupIndex()
    for edits in [[], *rounds]:
        for pos, variant, fresh in edits:
            made = near_example(examples[pos].index, variant)
            examples[pos] = with_reply(made, f"reply {variant % 4} number {pos}") if fresh else made
        pr = semantic.prompt_replies(examples)
        got = index.find(list(examples), 0.5, pr)
        assert got is not None
        keep = np.flatnonzero(index._code >= 0)
        later = {int(p) for p in index._exact()[1]}
        keep = np.array([p for p in keep.tolist() if p not in later and index._full[p]], dtype=np.int64)
        if keep.size < 2:  # nothing to band: no near search at all
            continue
        codes = index._code[keep]
        shingled = np.flatnonzero(index._any[codes])
        a, b = minhash.pairs_from_keys(index._keys[codes[shingled]])
        want = sorted(zip(shingled[a].tolist(), shingled[b].tolist()))
        x, y = index._pairs(codes)
        assert sorted(zip(x.tolist(), y.tolist())) == want


def test_other_tokenizers_counted_during_an_edit_are_patched_not_thrown_away(live: live_mod.Session) -> None:
    """The other models' token counts run in the background after the first check; an edit
    made meanwhile used to throw the result away, and the Cost page then counted every
    example again while the user waited.  Now the edited examples are counted again and the
    result kept: equal to counting the edited data from scratch."""
    import threading

    from validators.counting import tokens

    undo_all(live)
    live.check()
    gate = threading.Event()
    live_mod._WARMER.submit(gate.wait, 300)  # hold the background queue until the edit is made
    try:
        live._other.clear()
        live._warming.clear()
        live._warm_other_encodings()
        encodings = sorted(live._warming)
        assert encodings, "no other tokenizer to count"
        live.apply([with_reply(live.example(3), "A much longer reply than before, " * 20)], "edit 3")
        gate.set()
        for enc in encodings:
            live._warming[enc].result(timeout=300)
            assert enc in live._other  # kept, not recounted by the page
            assert live._other[enc].total.tolist() == tokens.count(list(live.examples), enc).total.tolist()
    finally:
        gate.set()
        undo_all(live)


# -- the dataset-wide semantic findings after edits: kept per example (SemanticIndex) equals check_dataset --

SYSTEMS = [None, "", "Be brief.", "  be BRIEF.  ", "Be kind.", "Answer in French.", "You sell shoes.", "You sell hats.",
           "You sell socks.", "You sell ties.", "You sell belts."]  # normalised alike: "Be brief." and "  be BRIEF.  "
SEM_EDIT = st.tuples(st.integers(0, 59), st.sampled_from(["system", "prompt", "reply", "unreadable", "drop", "restore", "no_reply", "dpo"]),
                     st.integers(0, 40))


def semantic_example(i: int, system: int, prompt: int, reply: int) -> Example:
    """Few prompts and replies, so the same prompt often gets different answers (a conflict)."""
    msgs = [{"role": "user", "content": f"Where is order {prompt % 6}?"}, {"role": "assistant", "content": f"It left {'today' if reply % 3 else 'TODAY '}{reply % 2}."}]
    text = SYSTEMS[system % len(SYSTEMS)]
    if text is not None:
        msgs.insert(0 if system % 5 else 1, {"role": "system", "content": text})  # now and then not first
    return Example(i, (i + 1,), {"messages": msgs})


@settings(max_examples=60, deadline=None)
@given(seed=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)), min_size=8, max_size=60),
       rounds=st.lists(st.lists(SEM_EDIT, max_size=6), min_size=1, max_size=5))
def test_semantic_index_equals_check_dataset(seed: list[tuple[int, int, int]], rounds: list[list[tuple[int, str, int]]]) -> None:
    """After each round of edits, :class:`SemanticIndex` (what the check needs kept per example
    object, and the groups around it) words exactly :func:`semantic.check_dataset`'s findings,
    in the same order: example counts, missing and too many system prompts, conflicting answers."""
    from validators.checking import semantic
    from validators.checking.semantic_index import SemanticIndex

    examples = [semantic_example(i + 1, *s) for i, s in enumerate(seed)]
    index = SemanticIndex()
    for edits in [[], *rounds]:
        for pos, kind, arg in edits:
            pos %= len(examples)
            ex = examples[pos]
            if kind in ("system", "prompt", "reply"):
                parts = {"system": (arg, 1, 1), "prompt": (2, arg, 1), "reply": (2, 1, arg)}[kind]
                examples[pos] = replace(semantic_example(ex.index, *parts), dropped=ex.dropped)
            elif kind == "unreadable":
                examples[pos] = replace(ex, record=None, raw="{", problem="invalid JSON")
            elif kind == "no_reply":
                examples[pos] = replace(ex, record={"messages": [{"role": "user", "content": "hello"}]})
            elif kind == "dpo":
                examples[pos] = replace(ex, kind="dpo", record={"input": {"messages": [{"role": "user", "content": "q"}]},
                                                                "preferred_output": [{"role": "assistant", "content": "a"}],
                                                                "non_preferred_output": [{"role": "assistant", "content": "b"}]})
            else:
                examples[pos] = replace(ex, dropped="left out" if kind == "drop" else None)
        pr = semantic.prompt_replies(examples)
        want = [f.to_dict() for f in semantic.check_dataset(list(examples), pr)]
        assert [f.to_dict() for f in index.findings(list(examples), pr)] == want
        assert [f.to_dict() for f in index.findings(list(examples))] == want  # without the shared prompt/reply table


def test_a_large_workspace_is_left_out_of_full_collections_until_it_leaves_the_cache(live: live_mod.Session) -> None:
    """After a large workspace's check its objects are frozen (``gc.freeze``: a full collection
    would walk all of them, seconds at 380,000 examples, on whichever click came next); when a
    workspace leaves the memory cache they are handed back, so whatever of it sits in a cycle can go."""
    import gc

    live_mod._WARMER.submit(lambda: None).result()
    assert gc.get_freeze_count() >= N  # the examples at least
    cache = live_mod.SessionCache(max_count=1)
    cache.put(("db", "a"), live)
    cache.put(("db", "b"), live)  # "a" evicted
    assert gc.get_freeze_count() == 0
    live_mod.freeze_heap()
    cache.pop(("db", "b"))
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("stop_at", [1, 2])
def test_duplicate_search_overtaken_stops_between_steps_and_stays_right(stop_at: int) -> None:
    """A refresh overtaken by a newer edit stops inside the duplicate search (after the digests,
    or after the band keys) and returns None; the next search still equals a fresh one."""
    from validators.checking import duplicates, semantic
    from validators.checking.dup_index import DupIndex

    examples = [near_example(i + 1, v) for i, v in enumerate(range(40))]
    index = DupIndex()
    pr = semantic.prompt_replies(examples)
    asked: list[int] = []
    assert index.find(list(examples), 0.7, pr, lambda: asked.append(1) or len(asked) < stop_at) is None
    assert len(asked) == stop_at
    examples[3] = near_example(4, 17)
    pr = semantic.prompt_replies(examples)
    want = duplicates.find(list(examples), 0.7, True, None, pr, {})
    got = index.find(list(examples), 0.7, pr)
    assert got is not None and (got.exact, got.near, got.similarity) == (want.exact, want.near, want.similarity)


def test_normalised_texts_are_not_kept_once_the_memos_hold_them(live: live_mod.Session) -> None:
    """After the warm-up the duplicate and semantic memos know every example, so the table of
    normalised prompts and replies (as large as the data) is emptied; a refresh after an edit
    then works the edited example out from itself and still equals a full check."""
    undo_all(live)
    live_mod._WARMER.submit(lambda: None).result()
    kept = len(live._pr)
    assert kept < 100  # only examples edited (and undone) by the tests before: not the 6,000
    try:
        live.apply([edited(live.example(905), "copy", 3)], "edit 905")
        got = live.check(full=True)
        want = full_check(live)
        same_findings(got.findings, want.findings)
        assert got.dupes.to_dict() == want.dupes.to_dict()
        assert len(live._pr) <= kept + 1  # and the one edited now
    finally:
        undo_all(live)


def test_the_first_check_teaches_the_duplicate_memo_every_example(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser's first check searches duplicates through the session's memo, so the refresh
    after the first edit redoes one example instead of searching every example again (at 512 MB
    the edits of a user quick after the upload waited ~12 s for that search in the background).
    Below the warm-up's size, so only the check itself can have taught the memo; and its groups
    must be exactly those of ``duplicates.find``."""
    from validators.checking import duplicates
    monkeypatch.setenv("FTPREP_DB", str(tmp_path / "ws.sqlite3"))
    examples = [base_example(i) for i in range(1, 901)]
    with live_mod.db() as conn:
        ws_id = store.create(conn, "small.csv", b"question,answer\n", examples, {"model": "gpt-4o-mini"}, {})
    opened = live_mod.open_workspace(ws_id)
    assert opened is not None
    res = opened.check()
    memo = opened._dups
    assert len(opened.examples) < live_mod.INCREMENTAL_MIN
    assert memo._ids.tolist() == [id(e) for e in opened.examples]  # every example known, none left to scan
    assert (memo._code >= 0).sum() == len(opened.examples)
    want = duplicates.find(opened.examples, opened.options.threshold)
    assert res.dupes.exact == want.exact and res.dupes.exact  # the file has exact duplicates
    assert res.dupes.near == want.near

"""The Tokens and Export pages do not wait for background work they only partly need: right
after the check of a large file (or an edit) the control-token table and the export's lines are
still worked out in the background.  Each page shows what is ready at once, says in plain words
what is still being prepared, and fills it in by itself when it is done."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.browser_util import wait_until
from ui import state, views
from validators import session as core

ROOT = Path(__file__).resolve().parent.parent


def opened(sample: str = "support_desk.csv") -> tuple[AppTest, core.Session]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.selectbox(key="sample_pick").set_value(sample)
    at.button(key="sample_go").click().run()
    ws = at.query_params["ws"]
    ws = ws[0] if isinstance(ws, list) else ws
    live = state._registry().get(state.session.cache_key(ws))
    assert live is not None
    live.check()
    return at, live


def test_tokens_page_shows_its_figures_while_the_control_table_is_prepared(ftprep_db: Path) -> None:
    at, live = opened()
    pending: Future[None] = Future()  # the background pass over every text has not finished
    live._control = {}
    live._pending["control"] = (live.version, pending)
    assert live.control_rows_if_ready(live.check()) is None

    at.switch_page("pages/tokens.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert [m.label for m in at.metric][:1] == ["Total tokens"]  # the counts are shown at once
    waiting = [i.value for i in at.info if "Still looking for control tokens" in i.value]
    assert waiting and "fills in by itself" in waiting[0]
    shown = len(at.dataframe)

    pending.set_result(None)  # done (here: nothing kept, so the page makes the table itself)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("Still looking" in i.value for i in at.info)
    assert len(at.dataframe) == shown + 1
    assert "destination" in " ".join(at.dataframe[-1].value.columns).lower() or len(at.dataframe[-1].value) > 0


def test_export_page_says_the_files_are_prepared_then_shows_them(ftprep_db: Path) -> None:
    at, live = opened()
    pending: Future[None] = Future()  # the default target's lines are still rendered in the background
    live._pending["export"] = (live.version, pending)
    assert not live.export_ready("none")

    at.switch_page("pages/export.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="exp_target").value  # the settings are there at once
    assert "Training examples" not in [m.label for m in at.metric]  # no figure before the export is built
    waiting = [i.value for i in at.info if "Preparing the files for" in i.value]
    assert waiting and "appear here by themselves" in waiting[0]

    pending.set_result(None)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("Preparing the files" in i.value for i in at.info)
    shown = {m.label: m.value for m in at.metric}
    assert int(shown["Training examples"].replace(",", "")) > 0 and "Rows left out" in shown


def test_export_leaving_duplicates_out_waits_for_the_refresh_after_edits(ftprep_db: Path) -> None:
    _at, live = opened()
    pending: Future[None] = Future()
    live.stale = True  # an edit left the duplicate groups to refresh, and the refresh still runs
    live._pending["refresh"] = (live.version, pending)
    assert live.export_ready("none")  # keeping duplicates needs no duplicate search
    assert not live.export_ready("near")
    pending.set_result(None)
    assert live.export_ready("near")
    live.stale = False


def test_duplicates_page_says_the_groups_are_searched_again_then_shows_them(ftprep_db: Path) -> None:
    at, live = opened()
    pending: Future[None] = Future()  # the search after an edit still runs in the background
    live.stale = True
    live._pending["refresh"] = (live.version, pending)
    assert not live.groups_ready()

    at.switch_page("pages/duplicates.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="dup_threshold").value  # the setting is there at once
    assert "Exact groups" not in [m.label for m in at.metric]  # no count before the search is done
    waiting = [i.value for i in at.info if "Comparing your" in i.value]
    assert waiting and "appear here by themselves" in waiting[0]

    pending.set_result(None)  # done: the page refreshes the groups itself (here) and shows them
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("Comparing your" in i.value for i in at.info)
    assert "Exact groups" in [m.label for m in at.metric]
    assert not live.stale


# ---------------------------------------------------------------- the warm-up steps aside for pages


def test_over_limit_from_numpy_equals_the_check_results(ftprep_db: Path) -> None:
    """The Tokens page's examples over the limit (``CheckResult.over_limit``: one NumPy
    comparison) are those whose count exceeds the limit, left-out examples excluded."""
    _, live = opened()
    res = live.check()
    totals = sorted(int(t) for t in res.counts.total)
    limit = totals[len(totals) // 2]  # about half the examples are over it
    over = [p for p, t in enumerate(res.counts.total) if t > limit]
    examples = list(res.examples)
    examples[over[0]] = replace(examples[over[0]], dropped="left out by a test", dropped_code="test")
    tight = replace(res, model=replace(res.model, limit=limit), examples=examples)
    assert tight.over_limit() == [examples[p].index for p in over if not examples[p].dropped]
    assert len(tight.over_limit()) == len(over) - 1 and examples[over[0]].index not in tight.over_limit()


def test_warm_up_chunks_wait_while_a_page_is_drawn() -> None:
    """Between two chunks the warm-up waits while a page is drawn, and goes on once it is done."""
    drawn, release, seen = threading.Event(), threading.Event(), []

    def page() -> None:
        with core.PAGES.drawing():
            drawn.set()
            release.wait(60)

    def warm_up() -> None:
        for part in core.chunks(list(range(3)), core.StepAside(60), size=1):  # type: ignore[arg-type]
            seen.extend(part)

    drawing = threading.Thread(target=page)
    drawing.start()
    assert drawn.wait(60) and core.PAGES.busy()
    worker = threading.Thread(target=warm_up)
    worker.start()
    waiters = core.PAGES._idle._waiters  # type: ignore[attr-defined]
    wait_until(lambda: bool(waiters), 60, "the warm-up to wait for the page")
    assert seen == [0]  # one chunk done, then it stepped aside
    release.set()
    drawing.join(60)
    worker.join(60)
    assert seen == [0, 1, 2] and not core.PAGES.busy()


def test_the_warm_up_steps_aside_for_a_few_seconds_in_all() -> None:
    """A page drawn for longer than the warm-up's budget does not hold it back for longer."""
    aside, drawn, release = core.StepAside(0.3), threading.Event(), threading.Event()

    def page() -> None:
        with core.PAGES.drawing():
            drawn.set()
            release.wait(60)

    drawing = threading.Thread(target=page)
    drawing.start()
    try:
        assert drawn.wait(60)
        for _ in core.chunks(list(range(5)), aside, size=1):  # type: ignore[arg-type]
            pass  # a budget of 0.3 s: the first pause spends it, the others do not wait
        assert aside.left <= 0
    finally:
        release.set()
        drawing.join(60)


def test_a_page_waiting_for_background_work_is_not_drawing() -> None:
    """A page that waits for the warm-up (its export, its table) must not hold the warm-up back."""
    with core.PAGES.drawing():
        assert core.PAGES.busy()
        with core.PAGES.waiting():
            assert not core.PAGES.busy()
            core.PAGES.pause(limit=60)  # returns at once: nobody draws
        assert core.PAGES.busy()
        core.PAGES.pause(limit=60)  # a page never waits for itself
    assert not core.PAGES.busy()


def test_the_warm_ups_chunked_answers_equal_one_pass(monkeypatch) -> None:
    """Asked chunk by chunk (the warm-up) or in one pass (a page), the grid's test gives the same numbers."""
    monkeypatch.setattr(core, "CHUNK", 7)
    examples = [core.Example(index=n, rows=(n + 2,), record={"messages": [{"role": "user", "content": "x" * (n % 5)}]}) for n in range(40)]
    test = core.ExampleTest(lambda e: len(e.record["messages"][0]["content"]) > 2)
    assert test.numbers(examples, background=core.StepAside()) == frozenset(n for n in range(40) if n % 5 > 2)
    assert core.ExampleTest(test.test).numbers(examples) == test.numbers(examples)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.sampled_from(["error", "warning"]), st.booleans()), max_size=40),
       st.sets(st.integers(1, 12)), st.booleans())
def test_flagged_examples_are_those_with_findings_errors_first(found, dropped, errors_only) -> None:
    """Validate's list (``views.flagged``, one pass for the errors) equals the rule written out:
    examples with findings, not left out, those with an error first, then in file order."""
    findings = [core.Finding(code="x", severity=sev, message="m", example=n if with_example else None) for n, sev, with_example in found]
    examples = [core.Example(index=n, rows=(n,), record={"messages": []}, dropped="out" if n in dropped else None) for n in range(1, 13)]
    def has_error(n: int) -> bool:
        return any(f.severity == "error" for f in findings if f.example == n)
    want = sorted({f.example for f in findings if f.example is not None and f.example not in dropped and (not errors_only or has_error(f.example))},
                  key=lambda n: (not has_error(n), n))
    assert views.flagged(examples, findings, errors_only) == want


def test_control_scan_chunks_hold_enough_text_for_the_sieve() -> None:
    """Each chunk of the warm-up's control-token scan holds at least the text above which the scan
    sieves (``sieve.MIN_CHARS``): chunked, it costs what one scan of everything costs."""
    from validators.checking import sieve

    long = [core.Example(index=n, rows=(n,), record={"messages": [{"role": "user", "content": "x" * 1000}]}) for n in range(600)]
    size = core.sieve_chunk(long)
    assert size * 1000 >= sieve.MIN_CHARS and size >= core.CHUNK
    assert core.sieve_chunk(long[:1]) == size and core.sieve_chunk([]) >= core.CHUNK

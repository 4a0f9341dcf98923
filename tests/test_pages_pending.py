"""The Tokens and Export pages do not wait for background work they only partly need: right
after the check of a large file (or an edit) the control-token table and the export's lines are
still worked out in the background.  Each page shows what is ready at once, says in plain words
what is still being prepared, and fills it in by itself when it is done."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import state
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

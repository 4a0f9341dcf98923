"""The Cost page does not wait for tokenizers still counting in the background: it shows the
ready models at once, says the others are being counted, and fills them in when they are done."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import state
from validators import catalog

ROOT = Path(__file__).resolve().parent.parent


def test_cost_page_shows_ready_models_while_others_count(ftprep_db: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.selectbox(key="sample_pick").set_value("support_desk.csv")
    at.button(key="sample_go").click().run()
    ws = at.query_params["ws"]
    ws = ws[0] if isinstance(ws, list) else ws
    live = state._registry().get(state.session.cache_key(ws))
    assert live is not None
    active = live.check().counts.encoding
    other = sorted({m.encoding for m in catalog.models().values()} - {active})[0]
    live._other.pop(other, None)
    pending: Future[object] = Future()  # a background count that has not finished
    live._warming[other] = pending
    assert live.counts_if_ready(other) is None
    assert live.counts_if_ready(active) is not None

    at.switch_page("pages/cost.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    slow = {n for n, m in catalog.models().items() if m.encoding == other}
    blank = set(table[table["cost USD"] == "counting…"]["model"])
    assert blank == slow
    assert all(float(v) >= 0 for v in table[~table["model"].isin(slow)]["cost USD"])
    assert any("Still counting the tokens for" in c.value for c in at.caption)

    pending.set_result(None)  # done: the page counts it (or takes the kept counts) and shows every row
    at.run()
    table = at.dataframe[0].value
    assert table["cost USD"].notna().all()
    assert not any("Still counting" in c.value for c in at.caption)

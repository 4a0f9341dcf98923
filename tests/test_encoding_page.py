"""The Upload page's encoding choice: a live preview of the rows it changes, then a re-read."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from validators.reading import decoding, ingest
from validators.storing import workspace as store

ROOT = Path(__file__).resolve().parent.parent
TEXT = "question,answer\n" + "".join(f"Plain question {i}?,Plain answer {i}.\n" for i in range(10)) + "Why doesn’t it ship?,Café orders take longer.\n"


def test_affected_rows_are_grid_rows_read_with_the_choice() -> None:
    data = TEXT.encode("mac_roman")
    assert decoding.affected_rows(data, "f.csv", "csv", "mac_roman") == [(12, "Why doesn’t it ship? | Café orders take longer.")]
    assert decoding.affected_rows(data, "f.csv", "csv", "cp1252") == [(12, "Why doesnÕt it ship? | CafŽ orders take longer.")]


def test_upload_page_previews_and_rereads_with_the_chosen_encoding(ftprep_db: Path) -> None:
    from validators import session as live

    data = TEXT.encode("mac_roman")
    ds = ingest.load_bytes(data, "mac.csv", encoding="cp1252")  # as if detection had got it wrong
    ws = live.create_workspace("mac.csv", data, ds, {"mapping": ds.mapping})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["ws"] = ws
    at.run()
    assert not at.exception
    pick = at.selectbox(key=f"enc_pick_{ws}")
    assert pick.value == "cp1252"
    pick.set_value("mac_roman").run()
    frame = at.dataframe[-1].value if "now" in at.dataframe[-1].value.columns else next(d.value for d in at.dataframe if "now" in d.value.columns)
    assert list(frame["row"]) == [12]
    assert frame["now"][0].startswith("Why doesnÕt") and frame.iloc[0, 2].startswith("Why doesn’t")
    at.button(key="enc_apply").click().run()
    assert not at.exception
    assert any("Re-read mac.csv as Western European (Mac Roman" in s.value for s in at.success)
    stored = store.load(store.connect(), ws)
    assert stored.examples[10].record["messages"][0]["content"] == "Why doesn’t it ship?"
    assert stored.options.get("encoding") == "mac_roman"

"""The Upload page's column mapping through AppTest: a file nobody can map is still a
workspace with the editor right there, user text never becomes markup, and choices apply."""

from __future__ import annotations

from pathlib import Path

from tests.test_pages import all_markup, metrics, new_app
from validators.storing import workspace as store

EVIL = "![x](https://evil.example/p.png) [click](javascript:alert(1)) <b>bold</b>"
ROWS = "".join(f"topic number {i} {EVIL if i == 0 else ''},answer number {i}\n" for i in range(12))  # alike: nothing to infer


def upload(at, name: str, data: bytes):
    at.file_uploader(key="uploader").upload(name, data, "text/csv")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_unmapped_file_becomes_a_workspace_with_the_editor(ftprep_db: Path) -> None:
    at = upload(new_app(), "odd.csv", ("alpha,beta\n" + ROWS).encode())
    ws = at.session_state["ws"]
    assert not at.error or "could not be read" not in at.error[0].value  # never refused
    assert any("not recognised" in t.value for t in at.text)
    assert at.selectbox(key=f"map_user_{ws}_0").value == "" and at.selectbox(key=f"map_assistant_{ws}_0").value == ""
    assert int(metrics(at.sidebar)["Errors"]) >= 12  # every row waits for the mapping
    assert not any(EVIL in m or "evil.example" in m for m in all_markup(at))  # samples are data, never markup
    assert not any("--map" in t.value for t in [*at.text, *at.error, *at.warning, *at.info])
    at.selectbox(key=f"map_user_{ws}_0").set_value("alpha")
    at.selectbox(key=f"map_assistant_{ws}_0").set_value("beta")
    at.run()
    assert any("Example 1, from row 2" in t.value for t in at.text)  # the preview before applying
    at.button(key="map_apply").click().run()
    assert not at.exception and metrics(at.sidebar)["Errors"] == "0"
    ex = store.load(store.connect(), ws).examples
    assert ex[1].record["messages"] == [{"role": "user", "content": "topic number 1 "}, {"role": "assistant", "content": "answer number 1"}]


def test_speaker_labels_edited_on_the_page(ftprep_db: Path) -> None:
    rows = "".join(f"d{i},0,USER,hi {i}\nd{i},1,SYSTEM,hello {i}\n" for i in range(11))
    at = upload(new_app(), "long.csv", ("dialogue_id,turn_idx,participant,utterance\n" + rows).encode())
    ws = at.session_state["ws"]
    assert metrics(at.sidebar)["Errors"] == "0"  # SYSTEM answers the user: read as the assistant
    boxes = {b.key: b for b in at.selectbox if b.key and b.key.startswith("spk_")}
    assert len(boxes) == 2 and {b.value for b in boxes.values()} == {"user", "assistant"}
    system_box = next(b for b in boxes.values() if b.value == "assistant")
    system_box.set_value("system")
    at.run()
    at.button(key="map_apply").click().run()
    assert not at.exception
    first = store.load(store.connect(), ws).examples[0].record["messages"]
    assert [m["role"] for m in first] == ["user", "system"]


REAL = Path(__file__).parent / "real_files"


def test_reading_choices_header_and_cut_off_lines(ftprep_db: Path) -> None:
    """The reader's guesses are shown and can be changed: a headerless real file gets its
    first row back as column names when the user says so; cut-off answer lines are joined."""
    data = (REAL / "aurora_headerless_pt.csv").read_bytes()
    at = upload(new_app(), "aurora_headerless_pt.csv", data)
    ws = at.session_state["ws"]
    before = len(store.load(store.connect(), ws).examples)
    box = at.checkbox(key=f"read_header_{ws}")
    assert box.value is False  # no header row found: the first row is an example
    box.check().run()
    at.button(key="read_apply").click().run()
    assert not at.exception
    after = store.load(store.connect(), ws)
    assert len(after.examples) == before - 1  # the first row became the column names
    assert after.options["reading"] == {"header": True, "join_lines": False}

    at = upload(new_app(), "uepg.csv", (REAL / "uepg_perguntas_semicolon.csv").read_bytes())
    ws = at.session_state["ws"]
    assert len(store.load(store.connect(), ws).examples) == 57
    at.checkbox(key=f"read_join_{ws}").check().run()
    at.button(key="read_apply").click().run()
    assert not at.exception
    joined = store.load(store.connect(), ws).examples
    assert len(joined) == 37 and all(e.record["messages"][-1]["content"].strip() for e in joined)

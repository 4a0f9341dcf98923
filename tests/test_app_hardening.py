"""Issue 12 in the app (AppTest, real SQLite store): two tabs editing one conversation,
numbers too large for a float, database failures, and the per-message editor's role /
add / remove (issue 9)."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_pages import go, new_app
from validators import session as live_mod
from validators.reading import ingest
from validators.storing import workspace as store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def loaded(sample: str) -> AppTest:
    at = new_app()
    at.selectbox(key="sample_pick").set_value(sample)
    at.button(key="sample_go").click().run()
    assert not at.exception
    return at


def messages(ws: str, index: int) -> list[tuple[str, str]]:
    ex = store.load(store.connect(), ws).examples[index - 1]
    return [(m["role"], m["content"]) for m in ex.record["messages"]]


def form_key(ws: str, n: int) -> str:
    return f"mm_{ws}_{n}_{store.version(store.connect(), ws)}"


# ---------------------------------------------------------------- two tabs (item 2)


def test_stale_message_edit_from_another_tab_is_refused(ftprep_db: Path) -> None:
    tab_a = go(loaded("multi_turn.csv"), "validate")
    ws = tab_a.session_state["ws"]
    tab_b = go(new_app(ws), "validate")  # the same workspace in a second tab
    key_b = form_key(ws, 2)
    assert tab_b.text_area(key=f"{key_b}_c4").value == "The little carry bag."
    # Tab A merges consecutive turns: example 2 loses a message, the positions move.
    tab_a.button(key="fix_merge_consecutive").click().run()
    merged = messages(ws, 2)
    assert len(merged) == 5 and merged[4][0] == "assistant"
    # Tab B, still showing six messages, edits message 5 and saves.
    tab_b.text_area(key=f"{key_b}_c4").set_value("The little carry bag, please hurry.")
    tab_b.button(key=f"FormSubmitter:{key_b}-Save this example").click().run()
    assert not tab_b.exception
    assert messages(ws, 2) == merged  # nothing written by position onto the new messages
    warning = tab_b.warning[0].value
    assert "Example 2 was changed in another tab or window" in warning and "not saved" in warning
    assert not [s for s in tab_b.success if "Saved" in s.value]
    assert any("The little carry bag, please hurry." in c.value for c in tab_b.code)  # the unsaved text, to copy
    # The fresh example is shown, and an edit made on it is saved.
    fresh = form_key(ws, 2)
    assert tab_b.text_area(key=f"{fresh}_c4").value == merged[4][1]
    tab_b.text_area(key=f"{fresh}_c3").set_value("It arrived with a part missing: the carry bag.")
    tab_b.button(key=f"FormSubmitter:{fresh}-Save this example").click().run()
    assert "Saved your edit to example 2" in tab_b.success[0].value
    assert messages(ws, 2)[3] == ("user", "It arrived with a part missing: the carry bag.")


def test_stale_grid_edit_from_another_tab_is_refused(ftprep_db: Path) -> None:
    tab_a = go(loaded("support_desk.csv"), "validate")
    ws = tab_a.session_state["ws"]
    tab_b = go(new_app(ws), "validate")
    old_key = tab_b.data_editor[0].key
    assert tab_b.data_editor[0].value["example"][0] == 4
    tab_a.session_state[tab_a.data_editor[0].key] = {"edited_rows": {0: {"assistant": "Yes, to Norway too."}}, "added_rows": [], "deleted_rows": []}
    tab_a.run()
    assert "Saved your edit to example 4" in tab_a.success[0].value
    tab_b.session_state[old_key] = {"edited_rows": {0: {"assistant": "No."}}, "added_rows": [], "deleted_rows": []}
    tab_b.run()
    assert not tab_b.exception
    assert "Example 4 was changed in another tab or window" in tab_b.warning[0].value
    assert messages(ws, 4)[-1] == ("assistant", "Yes, to Norway too.")
    tab_b.radio(key="val_show").set_value("All examples").run()
    assert tab_b.data_editor[0].value.set_index("example").loc[4]["assistant"] == "Yes, to Norway too."  # fresh


# ---------------------------------------------------------------- role, add, remove (issue 9)


def test_change_role_add_and_remove_messages_with_undo(ftprep_db: Path) -> None:
    at = go(loaded("multi_turn.csv"), "validate")
    ws = at.session_state["ws"]
    before = messages(ws, 2)
    key = form_key(ws, 2)
    at.selectbox(key=f"{key}_r4").set_value("assistant")  # the second user turn was really the agent
    at.checkbox(key=f"{key}_x5").check()  # remove the last message
    at.selectbox(key=f"{key}_nr").set_value("user")
    at.text_area(key=f"{key}_nc").set_value("Thanks, got it!")
    at.button(key=f"FormSubmitter:{key}-Save this example").click().run()
    assert not at.exception and "Saved your edit to example 2" in at.success[0].value
    after = messages(ws, 2)
    assert [r for r, _ in after] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert after[4] == ("assistant", before[4][1]) and after[5] == ("user", "Thanks, got it!")
    at.button(key="undo").click().run()
    assert "Undone: Edited example 2" in at.success[0].value
    assert messages(ws, 2) == before


def test_weight_only_on_assistant_messages(ftprep_db: Path) -> None:
    at = go(loaded("multi_turn.csv"), "validate")
    ws = at.session_state["ws"]
    key = form_key(ws, 2)
    at.selectbox(key=f"{key}_w2").set_value("0")
    at.selectbox(key=f"{key}_r2").set_value("user")  # no longer a reply: its weight must go
    at.button(key=f"FormSubmitter:{key}-Save this example").click().run()
    msg = store.load(store.connect(), ws).examples[1].record["messages"][2]
    assert msg["role"] == "user" and "weight" not in msg


# ---------------------------------------------------------------- huge numbers (item 10)


def test_huge_number_row_reported_rest_kept(ftprep_db: Path) -> None:
    lines = [f'{{"messages":[{{"role":"user","content":"Question {i}?"}},{{"role":"assistant","content":"Answer number {i}."}}]}}' for i in range(12)]
    lines[3] = '{"messages":[{"role":"user","content":"Q?"},{"role":"assistant","content":"A long answer.","weight":1e400}]}'
    data = "\n".join(lines).encode()
    ds = ingest.load_bytes(data, "huge.jsonl")
    wid = live_mod.create_workspace("huge.jsonl", data, ds, {"mapping": ds.mapping})  # raised before
    at = go(new_app(wid), "validate")
    shown = {m.label: m.value for m in at.main.metric}
    assert shown["Examples with errors"] == "1"
    assert any("weight" in t.value and "inf" in t.value for t in at.text)
    assert {m.label: m.value for m in at.sidebar.metric}["Examples"] == "12"


# ---------------------------------------------------------------- database problems (item 12)


def _no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def test_database_folder_not_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setenv("FTPREP_DB", str(blocker / "ws.sqlite3"))
    at = new_app()
    at.button(key="sample_go").click().run()
    _no_traceback(at)
    assert "cannot open its workspace database" in at.error[0].value
    assert any("writable folder" in c.value for c in at.caption)


def _close_server_connections() -> None:
    for conn, _ in live_mod._CONNS.values():
        conn.close()  # really closed: SQLite would otherwise reuse the writable file handle
    live_mod._CONNS.clear()
    gc.collect()


def test_database_file_read_only(ftprep_db: Path) -> None:
    at = loaded("support_desk.csv")
    ws = at.session_state["ws"]
    _close_server_connections()  # a restarted server finds the file read-only
    conn = store.connect()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for extra in ("-wal", "-shm"):
        Path(f"{ftprep_db}{extra}").unlink(missing_ok=True)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(ftprep_db)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        again = new_app(ws)  # reading still works (SQLite opens the file read-only)
        _no_traceback(again)
        go(again, "validate").button(key="fix_trim_whitespace").click().run()  # a change cannot be saved
        _no_traceback(again)
        assert "read-only" in again.error[0].value
        assert any("not saved" in c.value for c in again.caption)
    finally:
        subprocess.run(["chattr", "-i", str(ftprep_db)], check=True)
        _close_server_connections()


def test_database_deleted_while_running(ftprep_db: Path) -> None:
    at = go(loaded("support_desk.csv"), "validate")
    for f in ftprep_db.parent.iterdir():
        os.unlink(f)
    at.button(key="fix_trim_whitespace").click().run()
    _no_traceback(at)
    assert "deleted while the app was running" in at.error[0].value
    at.run()  # the next run starts a fresh store and says the workspace is gone, in words
    _no_traceback(at)
    assert "does not exist" in at.warning[0].value


def test_edit_of_an_example_gone_after_rereading_is_refused(ftprep_db: Path) -> None:
    tab_a = go(loaded("multi_turn.csv"), "validate")
    ws = tab_a.session_state["ws"]
    tab_b = go(new_app(ws), "validate")
    key_b = form_key(ws, 5)
    tab_b.text_area(key=f"{key_b}_c1").set_value("A new question")
    # Another tab reads the file again, keeping only the first rows (what a new mapping can do).
    from ui import state

    live = state._registry().get((str(store.db_path().resolve()), ws))
    data = (ROOT / "sample_data" / "multi_turn.csv").read_bytes()
    head = b"\n".join(data.split(b"\n")[:7])
    live_mod.remap(live, ingest.load_bytes(head, "multi_turn.csv"), {})
    assert len(store.load(store.connect(), ws).examples) == 2
    tab_b.button(key=f"FormSubmitter:{key_b}-Save this example").click().run()
    _no_traceback(tab_b)
    assert "The file was read again" in tab_b.warning[0].value
    assert any("A new question" in c.value for c in tab_b.code)
    assert len(store.load(store.connect(), ws).examples) == 2


def test_bulk_fix_on_data_changed_by_another_server_is_refused(ftprep_db: Path) -> None:
    """A second server process on the same database changed the workspace: this server's
    copy is behind, so a one-click fix is refused in words and the page reloads the data."""
    from dataclasses import replace

    at = go(loaded("support_desk.csv"), "validate")
    ws = at.session_state["ws"]
    other = store.connect()  # the other process
    ex = store.load(other, ws).examples[3]
    store.update_examples(other, ws, [replace(ex, dropped="left out elsewhere")], [ex], "Elsewhere")
    at.button(key="fix_trim_whitespace").click().run()
    _no_traceback(at)
    assert "changed elsewhere" in at.warning[0].value
    assert [h["label"] for h in store.history(other, ws)] == ["Elsewhere"]  # nothing written on top
    at.button(key="fix_trim_whitespace").click().run()  # now on the fresh data: it works
    assert "Trim whitespace" in at.success[0].value
    assert store.load(other, ws).examples[3].dropped == "left out elsewhere"

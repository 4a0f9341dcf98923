"""Every page through streamlit.testing.v1.AppTest, against a real workspace database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from validators.exporting import targets
from validators.storing import workspace as store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["upload", "validate", "tokens", "cost", "duplicates", "export"]


def new_app(ws: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if ws:
        at.query_params["ws"] = ws
    return at.run()


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(block) -> dict[str, str]:
    return {m.label: m.value for m in block.metric}


def loaded(sample: str = "support_desk.csv") -> AppTest:
    at = new_app()
    at.selectbox(key="sample_pick").set_value(sample)
    at.button(key="sample_go").click().run()
    assert not at.exception
    return at


def all_markup(at: AppTest) -> list[str]:
    """Every piece of text Streamlit would render as Markdown."""
    out: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [w.label for w in at.button] + [w.label for w in at.selectbox] + [m.label for m in at.metric]
    return out


def test_upload_sample_shows_summary(ftprep_db: Path) -> None:
    at = loaded()
    ws = at.query_params["ws"][0] if isinstance(at.query_params["ws"], list) else at.query_params["ws"]
    assert len(ws) == 22
    side = metrics(at.sidebar)
    assert side["Examples"] == "61" and side["Errors"] == "2" and side["Total tokens"] == "3,111"
    assert side["Duplicates"] == "3"  # 9~10 exact; 5~17, 7~19 near (exact Jaccard of word 5-grams >= 0.8)
    assert side["Est. cost"] == "$0.05"
    assert any("Model: gpt-4.1-mini" in c.value for c in at.sidebar.caption)
    assert len(at.dataframe[-1].value) == 20  # preview of the first rows (after the column overview)
    assert at.selectbox(key=f"map_user_{ws}_0").value == "Question"


def test_upload_real_file_and_a_bad_one(ftprep_db: Path) -> None:
    at = new_app()
    bad = (ROOT / "tests" / "bad_inputs" / "header_only.csv").read_bytes()
    at.file_uploader(key="uploader").upload("header_only.csv", bad, "text/csv")
    at.run()
    assert not at.exception
    assert at.error and "could not be read" in at.error[0].value
    assert any("no data rows" in t.value for t in at.text)
    assert "ws" not in at.query_params
    at.file_uploader(key="uploader").upload("support_desk.csv", (ROOT / "sample_data" / "support_desk.csv").read_bytes(), "text/csv")
    at.run()
    assert not at.exception and metrics(at.sidebar)["Errors"] == "2"


def test_mapping_error_keeps_app_usable(ftprep_db: Path) -> None:
    at = loaded()
    ws = at.session_state["ws"]
    at.selectbox(key=f"map_assistant_{ws}_0").set_value("")
    at.button(key="map_apply").click().run()
    assert not at.exception
    assert "does not work" in at.error[0].value
    assert metrics(at.sidebar)["Errors"] == "2"  # nothing changed
    at.selectbox(key=f"map_assistant_{ws}_0").set_value("Answer")
    at.text_input(key=f"map_sys_{ws}_0").set_value("You are Ada.")
    at.button(key="map_apply").click().run()
    assert not at.exception and metrics(at.sidebar)["Errors"] == "2"
    conn = store.connect()
    assert store.load(conn, ws).examples[0].record["messages"][0] == {"role": "system", "content": "You are Ada."}


def test_every_page_without_workspace_points_to_upload(ftprep_db: Path) -> None:
    at = new_app()
    for page in PAGES[1:]:
        go(at, page)
        assert at.info and "No data yet" in at.info[0].value
    at = new_app("no-such-workspace")
    go(at, "validate")
    assert "does not exist" in at.warning[0].value


def test_validate_edit_lands_and_survives_a_new_session(ftprep_db: Path) -> None:
    at = go(loaded(), "validate")
    ws = at.session_state["ws"]
    assert metrics(at.main)["Errors"] == "2"
    editor = at.data_editor[0]
    frame = editor.value
    assert list(frame.columns) == ["example", "row", "system", "user", "assistant", "issues"]
    assert list(frame["example"][:2]) == [4, 31]  # errors first
    assert frame["row"][0] == 5 and "empty" in frame["issues"][0]
    at.session_state[editor.key] = {"edited_rows": {0: {"assistant": "Yes, we ship to Norway."}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert metrics(at.main)["Errors"] == "1" and "example 4" in at.success[0].value
    # A second edit in the fresh editor (now example 31 is first): every edit lands.
    editor = at.data_editor[0]
    assert editor.value["example"][0] == 31
    at.session_state[editor.key] = {"edited_rows": {0: {"user": "Do you sell gas?", "assistant": "Yes, in every store."}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert metrics(at.main)["Errors"] == "0"
    # A reload is a new session: only the URL carries the workspace.
    again = go(new_app(ws), "validate")
    assert metrics(again.main)["Errors"] == "0"
    at.radio(key="val_show").set_value("All examples").run()
    row5 = at.data_editor[0].value.set_index("example").loc[4]
    assert row5["assistant"] == "Yes, we ship to Norway."
    conn = store.connect()
    ex = store.load(conn, ws).examples
    assert ex[3].record["messages"][-1]["content"] == "Yes, we ship to Norway."
    assert ex[30].record["messages"][0]["content"] == "Do you sell gas?"


def test_server_restart_brings_workspace_back(ftprep_db: Path) -> None:
    at = go(loaded(), "validate")
    ws = at.session_state["ws"]
    at.button(key="fix_trim_whitespace").click().run()
    import streamlit as st

    st.cache_resource.clear()  # what a restart loses
    again = go(new_app(ws), "validate")
    assert metrics(again.sidebar)["Warnings"] == metrics(at.sidebar)["Warnings"]
    again.radio(key="val_show").set_value("All examples").run()
    shown = again.data_editor[0].value.set_index("example").loc[6]
    assert shown["user"] == "Is the Trailblazer 40L backpack waterproof?"
    assert store.load(store.connect(), ws).examples[5].record["messages"][0]["content"] == shown["user"]


def test_bulk_fixes_report_counts_and_undo(ftprep_db: Path) -> None:
    at = go(loaded(), "validate")
    at.button(key="fix_trim_whitespace").click().run()
    assert "Trimmed leading/trailing whitespace in 1 example(s)" in at.success[0].value
    at.button(key="fix_drop_unusable").click().run()
    assert "Left out 2 example(s)" in at.success[0].value
    assert metrics(at.main)["Errors"] == "0" and metrics(at.sidebar)["Examples"] == "59"
    at.button(key="undo").click().run()
    assert "Undone: Leave out examples with errors" in at.success[0].value
    assert metrics(at.main)["Errors"] == "2"
    at.text_input(key="fix_system").set_value("You are Ada.")
    at.button(key="fix_fill_default_system").click().run()
    assert "in 60 example(s)" in at.success[0].value
    for name in ("system_first", "merge_consecutive", "drop_empty_messages", "drop_over_limit", "trim_over_limit"):
        at.button(key=f"fix_{name}").click().run()
        assert not at.exception and "example(s)" in at.success[0].value


def test_redact_personal_data_in_one_click(ftprep_db: Path) -> None:
    at = go(loaded(), "validate")
    pii_rows = [t for t in at.text if "phone number" in t.value or "e-mail" in t.value]
    assert pii_rows, "the sample's personal data is flagged"
    at.button(key="fix_redact_pii").click().run()
    assert "Redacted" in at.success[0].value and "in 0 example(s)" not in at.success[0].value
    assert not [t for t in at.text if "phone number" in t.value or "e-mail address" in t.value]
    at.button(key="undo").click().run()
    assert [t for t in at.text if "phone number" in t.value or "e-mail" in t.value]


def test_multi_turn_message_editor_with_weight(ftprep_db: Path) -> None:
    at = go(loaded("multi_turn.csv"), "validate")
    ws = at.session_state["ws"]
    before = store.load(store.connect(), ws).examples[1]
    v = store.version(store.connect(), ws)
    key = f"mm_{ws}_2_{v}"
    at.text_area(key=f"{key}_c4").set_value("Merged question")
    at.selectbox(key=f"{key}_w2").set_value("0")
    at.button(key=f"FormSubmitter:{key}-Save this example").click().run()
    assert not at.exception, at.exception
    after = store.load(store.connect(), ws).examples[1]
    assert after.record["messages"][4]["content"] == "Merged question"
    assert after.record["messages"][2]["weight"] == 0 and before.record != after.record


def test_tokens_page(ftprep_db: Path) -> None:
    at = go(loaded(), "tokens")
    m = metrics(at.main)
    assert m["Total tokens"] == "3,111" and m["Over the limit"] == "0"
    stats = at.dataframe[0].value
    assert list(stats.columns) == ["fewest", "average", "10% have at most", "90% have at most", "most"]  # no jargon (p10)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    at.selectbox(key="tok_model").set_value("gpt-3.5-turbo-0125").run()
    assert any("cl100k_base" in c.value for c in at.caption)
    assert "gpt-3.5-turbo-0125" in " ".join(c.value for c in at.sidebar.caption)


def test_cost_page(ftprep_db: Path) -> None:
    at = go(loaded(), "cost")
    assert metrics(at.main)["Estimated training cost"] == "$0.05"
    assert "3 epoch(s) × 3,111 billed tokens" in at.code[0].value
    assert len(at.dataframe[0].value) == 8  # every model in the catalogue
    assert metrics(at.main)["Requests to break even"] != "never"
    at.toggle(key="cost_auto").set_value(False).run()
    at.number_input(key="cost_epochs").set_value(10).run()
    assert "10 epoch(s)" in at.code[0].value
    at.number_input(key="cost_price_gpt-4.1-mini-2025-04-14").set_value(100.0).run()
    assert "$100.00" in at.code[0].value


def test_duplicates_page_keep_one_and_keep_all(ftprep_db: Path) -> None:
    at = go(loaded(), "duplicates")
    m = metrics(at.main)
    assert (m["Exact groups"], m["Near groups"], m["Examples now"], m["After keeping one per group"]) == ("1", "2", "61", "58")
    assert any("⟦" in c.value for c in at.code)  # near duplicates show the differing words
    at.button(key="dup_apply").click().run()
    assert metrics(at.main)["Examples now"] == "58" and "Left out 3" in at.success[0].value
    at.radio(key="dup_mode").set_value("Keep all")
    at.button(key="dup_apply").click().run()
    assert metrics(at.main)["Examples now"] == "61"
    at.slider(key="dup_threshold").set_value(0.5).run()
    assert not at.exception


def test_export_page(ftprep_db: Path) -> None:
    at = go(loaded(), "export")
    m = metrics(at.main)
    assert (m["Training examples"], m["Rows left out"]) == ("59", "2")
    labels = [b.label for b in at.get("download_button")]
    assert labels[0].startswith("Download JSONL") and any("Left-out report" in x for x in labels)
    assert any("Validation report" in x for x in labels)
    assert any("left out" in w.value for w in at.warning)
    assert any(p.proto.page.endswith("validate") or "Validate" in p.proto.label for p in at.get("page_link"))
    matrix = at.dataframe[-1].value
    assert "openai" in " ".join(matrix["target"]).lower() and set(matrix["passes"]) <= {"pass", "FAIL"}
    at.slider(key="exp_split").set_value(0.2).run()
    assert metrics(at.main)["Validation examples"] == "12"
    assert any(b.label.startswith("Validation file") for b in at.get("download_button"))
    assert "support_desk.openai.jsonl" in at.code[0].value and "support_desk.openai.validation.jsonl" in at.code[0].value
    at.selectbox(key="exp_target").set_value("azure").run()
    assert not at.exception
    at.selectbox(key="exp_target").set_value("trl").run()
    assert "SFTTrainer" in at.code[0].value and "Qwen/" in at.code[0].value  # the next step names an open model
    at.text_input(key="exp_base_trl").set_value("my-org/my-model").run()
    assert "'my-org/my-model'" in at.code[0].value
    compile(at.code[0].value, "next_step.py", "exec")
    at.number_input(key="exp_preview_n").set_value(2).run()
    lines = [json.loads(c.value) for c in at.code[1:] if c.value.startswith("{")]
    # every target's line but Together's preference layout, which refuses a supervised example (shown as "not exported")
    assert len(lines) == len(targets.TARGETS) - 1 and any("conversations" in line for line in lines) and any("messages" in line for line in lines)
    assert any("contents" in line for line in lines) and any("schemaVersion" in line for line in lines)


def test_user_text_never_becomes_markup(ftprep_db: Path) -> None:
    payload = "![pwn](http://evil.example/x.png) <script>alert(1)</script> [click](javascript:alert(1))"
    rows = ["Question,Answer"] + [f'"{payload} q{i}","{payload} a{i}"' for i in range(12)]
    at = new_app()
    at.file_uploader(key="uploader").upload("[evil](http://x).csv", "\n".join(rows).encode(), "text/csv")
    at.run()
    for page in PAGES:
        go(at, page)
        for text in all_markup(at):
            assert "evil.example" not in text and "<script>" not in text and "javascript:" not in text, (page, text)
        assert all("](http://x)" not in t for t in all_markup(at) if "[evil]" in t), page


def test_new_and_delete_workspace(ftprep_db: Path) -> None:
    at = loaded()
    first = at.session_state["ws"]
    at.button(key="sb_new").click().run()
    assert "ws" not in at.query_params
    at.button(key="sample_go").click().run()
    second = at.session_state["ws"]
    assert second != first
    at.checkbox(key="sb_sure").check().run()
    at.button(key="sb_delete").click().run()
    assert store.load(store.connect(), second) is None and store.load(store.connect(), first) is not None
    assert "ws" not in at.query_params


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders(ftprep_db: Path, page: str) -> None:
    at = go(loaded(), page)
    assert at.title[0].value == page.capitalize()
    assert metrics(at.sidebar)["Errors"] == "2"
    assert at.query_params.get("ws")
    json.dumps(metrics(at.sidebar))


def test_sessions_are_isolated(ftprep_db: Path) -> None:
    """Another browser session sees none of this session's workspaces, and a guessed id opens nothing."""
    alice = loaded()
    alice_ws = alice.session_state["ws"]
    bob = new_app()
    bob.selectbox(key="sample_pick").set_value("multi_turn.csv")
    bob.button(key="sample_go").click().run()
    bob_ws = bob.session_state["ws"]
    assert bob_ws != alice_ws
    assert bob.session_state["my_workspaces"] == [bob_ws]
    side = [str(e.value) for kind in ("text", "caption", "markdown") for e in getattr(bob.sidebar, kind)]
    side += [str(o) for box in bob.sidebar.selectbox for o in box.options]
    assert not [t for t in side if "support_desk" in t or alice_ws in t]  # nothing of Alice's is listed
    assert metrics(bob.sidebar)["Examples"] != metrics(alice.sidebar)["Examples"]
    guess = new_app(alice_ws[:-1] + ("A" if alice_ws[-1] != "A" else "B"))  # one character off
    go(guess, "validate")
    assert any("does not exist" in w.value for w in guess.warning) and not guess.metric
    # Bob's edits never reach Alice's workspace.
    bob.checkbox(key="sb_sure").check().run()
    bob.button(key="sb_delete").click().run()
    assert store.load(store.connect(), alice_ws) is not None and store.load(store.connect(), bob_ws) is None


def test_export_starts_from_the_duplicates_choice(ftprep_db: Path) -> None:
    at = go(loaded(), "export")
    assert at.selectbox(key="exp_dedupe").value == "none"
    at = go(at, "duplicates")
    before = int(metrics(at.main)["Examples now"])
    at.button(key="dup_apply").click().run()  # keep one per group
    left = before - int(metrics(at.main)["Examples now"])
    assert left > 0
    at = go(at, "export")
    assert at.selectbox(key="exp_dedupe").value == "near"
    assert any("As chosen on the Duplicates page" in c.value and f"({left} left out there)" in c.value for c in at.caption)
    matrix = at.dataframe[-1].value
    assert "rows left out" in matrix.columns and not any("left out" in n for n in matrix["needs"])
    at = go(at, "duplicates")
    at.radio(key="dup_mode").set_value("Keep all")
    at.button(key="dup_apply").click().run()
    at = go(at, "export")
    assert at.selectbox(key="exp_dedupe").value == "none"


def test_export_with_no_example_disables_the_download_and_says_why(ftprep_db: Path) -> None:
    from validators import session as live
    from validators.reading import ingest

    data = ("question,answer\n" + "".join(f"Question {i}?,\n" for i in range(12))).encode("utf-8")
    ds = ingest.load_bytes(data, "unanswered.csv")
    at = new_app(live.create_workspace("unanswered.csv", data, ds, {}))
    at = go(at, "export")
    assert metrics(at.main)["Training examples"] == "0"
    button = at.get("download_button")[0]
    assert button.label.startswith("Download JSONL (0 examples)") and button.proto.disabled
    assert any("Nothing to download" in w.value and "12 row(s): answer is empty" in w.value for w in at.warning)


def test_cost_break_even_prices_the_base_model_at_its_own_price(ftprep_db: Path) -> None:
    at = go(loaded(), "cost")
    name = "gpt-4.1-mini-2025-04-14"
    assert at.number_input(key=f"be_in_{name}").value == 0.40 and at.number_input(key=f"be_outp_{name}").value == 1.60
    m = metrics(at.main)
    # 1,500 prompt tokens x $0.40 + 150 output x $1.60 (base) vs 200 x $0.80 + 150 x $3.20 (fine-tuned), per 1M
    assert m["Few-shot, per request"] == "$0.000840" and m["Fine-tuned, per request"] == "$0.000640"
    assert any("(not fine-tuned)" in c.value for c in at.caption)

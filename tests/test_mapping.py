"""Column mapping on real headers: plural, any case, eight languages, content inference,
ID and constant columns, long format with speaker labels, and never refusing a file."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validators import cli
from validators.reading import ingest, mapping
from validators.reading.readers import InputError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def table(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


QA_ROWS = [["How do I reset my password?", "Open Settings and choose Reset password."],
           ["Where is my order?", "The tracking page in your account shows it."],
           ["Do you ship to Norway?", "Yes, within five working days."]]

HEADER_PAIRS = [
    ("Questions", "Answers"), ("QUESTION", "ANSWER"), ("question ", " answer"), ("Question:", "Answer:"),
    ("prompt", "completion"), ("Query", "Response"), ("input", "output"), ("Utterance", "Reply"),
    ("user_message", "bot_response"), ("Customer Question", "Agent Answer"),
    ("pregunta", "respuesta"), ("Preguntas", "Respuestas"), ("question", "réponse"), ("Question", "Réponses"),
    ("Frage", "Antwort"), ("Fragen", "Antworten"), ("pergunta", "resposta"), ("Perguntas", "Respostas"),
    ("问题", "答案"), ("问", "答"), ("提问", "回答"),
    ("سوال", "جواب"), ("سوال", "پاسخ"), ("سؤال", "إجابة"), ("السؤال", "الجواب"),
]


@pytest.mark.parametrize(("q", "a"), HEADER_PAIRS)
def test_headers_in_eight_languages_any_case_and_plural(q: str, a: str) -> None:
    ds = ingest.load_bytes(table([q, a], QA_ROWS), "f.csv")
    assert ds.mapping["user"] == q.strip() and ds.mapping["assistant"] == a.strip()  # the reader trims headers
    assert ds.detection["confidence"] in ("sure", "likely") and ds.detection["problem"] is None
    assert ds.examples[0].record["messages"] == [{"role": "user", "content": QA_ROWS[0][0]}, {"role": "assistant", "content": QA_ROWS[0][1]}]


def _variants(word: str) -> st.SearchStrategy[str]:
    """The same header as people type it: any case, a plural s, spaces or punctuation around."""
    return st.tuples(st.sampled_from([str.lower, str.upper, str.title, lambda x: x]), st.sampled_from(["", "s"]),
                     st.sampled_from(["", " ", "_", ":", " *"]), st.sampled_from(["", " "])).map(
        lambda t: t[3] + t[0](word + t[1]) + t[2])


@SETTINGS
@given(_variants("question"), _variants("answer"), st.booleans())
def test_detection_survives_case_plural_and_punctuation(q: str, a: str, swap: bool) -> None:
    header, rows = ([a, q], [r[::-1] for r in QA_ROWS]) if swap else ([q, a], QA_ROWS)
    m = mapping.detect(header, rows)
    assert (m.user, m.assistant) == (q, a)


def test_content_inference_when_headers_say_nothing() -> None:
    for header, rows in ((["col1", "col2"], QA_ROWS), (["col1", "col2"], [r[::-1] for r in QA_ROWS])):
        sug = mapping.suggest(header, rows)
        question_col = header[0] if rows[0][0].endswith("?") else header[1]
        assert sug.mapping.user == question_col and sug.confidence == "likely"
        assert any("end with “?”" in r for r in sug.reasons)


def test_longer_texts_are_a_guess_and_equal_texts_are_not_mapped() -> None:
    rows = [["reset password", "Go to Settings and choose Reset password, then follow the email."],
            ["opening hours", "We are open from nine to five on every weekday."]]
    sug = mapping.suggest(["a1", "b1"], rows)
    assert (sug.mapping.user, sug.mapping.assistant, sug.confidence) == ("a1", "b1", "guess")
    sug = mapping.suggest(["x", "y"], [["alpha beta", "gamma delta"], ["one two", "three four"]])
    assert sug.confidence == "none" and "No column is mapped" in sug.problem and "--map" not in sug.problem


words = st.text(alphabet="abcdefghij klmnop", min_size=3, max_size=40).filter(lambda s: s.strip())


@SETTINGS
@given(st.lists(st.tuples(words, words), min_size=3, max_size=12), st.permutations(range(4)),
       st.sampled_from(["id", "ID", "row_no", "Ticket ID", "uuid", "#", "code"]))
def test_id_like_and_constant_columns_are_never_text(pairs, order, id_name) -> None:
    cols = [id_name, "category", "col_a", "col_b"]
    rows = [[f"T-{1000 + i}", "support", q + "?", a + " " + a + " " + a] for i, (q, a) in enumerate(pairs)]
    header = [cols[i] for i in order]
    body = [[r[i] for i in order] for r in rows]
    m = mapping.detect(header, body)
    for role in mapping.TEXT_ROLES:
        assert getattr(m, role) not in (id_name, "category"), (role, m)


def test_constant_context_is_never_appended_but_alpaca_input_is() -> None:
    rows = [[f"q{i}?", "customer support", f"answer {i}"] for i in range(5)]
    ds = ingest.load_bytes(table(["instruction", "context", "response"], rows), "f.csv")
    assert "context" not in ds.mapping
    assert ds.examples[0].record["messages"][0] == {"role": "user", "content": "q0?"}
    assert any("same value" in r for r in ds.detection["reasons"])
    ds = ingest.load_bytes(table(["instruction", "input", "output"], [["Translate", "Bonjour", "Hello"], ["Sum", "2+2", "4"]]), "f.csv")
    assert ds.mapping["context"] == "input"
    assert ds.examples[0].record["messages"][0]["content"] == "Translate\n\nBonjour"
    ds = ingest.load_bytes(table(["question", "context", "answer"], [["a?", "x", "b"], ["c?", "y", "d"]]), "f.csv")
    assert "context" not in ds.mapping  # not an instruction layout: not joined


LONG = table(["dialogue_id", "turn_idx", "participant", "utterance"], [
    ["d1", "1", "SYSTEM", "Hello, how can I help?"], ["d1", "0", "USER", "I need help with my order"],
    ["d1", "2", "USER", "It is order 12345"], ["d1", "3", "SYSTEM", "Thanks, it ships tomorrow."],
    ["d2", "0", "USER", "hi"], ["d2", "1", "WHISPER", "supervisor whisper"], ["d2", "2", "SYSTEM", "Hi there"],
])


def test_long_format_system_label_that_answers_is_the_assistant() -> None:
    ds = ingest.load_bytes(LONG, "dialogues.csv")
    assert ds.mapping["conversation"] == "dialogue_id" and ds.mapping["turn"] == "turn_idx"
    assert ds.mapping["role"] == "participant" and ds.mapping["content"] == "utterance"
    assert ds.mapping["speakers"] == {"USER": "user", "SYSTEM": "assistant"}
    assert ds.detection["speaker_counts"] == {"USER": 3, "SYSTEM": 3, "WHISPER": 1}
    assert ds.detection["confidence"] == "guess"  # WHISPER is unknown: the user must say
    first = ds.examples[0].record["messages"]
    assert [m["role"] for m in first] == ["user", "assistant", "user", "assistant"]
    assert first[0]["content"] == "I need help with my order"  # ordered by turn


def test_speaker_choices_and_ignored_rows_are_reported() -> None:
    ds = ingest.load_bytes(LONG, "dialogues.csv", mapping={"speakers": {"WHISPER": "ignore"}})
    assert [m["role"] for m in ds.examples[1].record["messages"]] == ["user", "assistant"]
    note = [f for f in ds.read_findings if f.code == "speaker_ignored"]
    assert note and "WHISPER" in note[0].message and "rows 7" in note[0].message and note[0].row == 7
    assert ds.examples[1].rows == (6, 7, 8)  # the ignored row still belongs to its example


@pytest.mark.parametrize(("agent", "customer"), [("agent", "customer"), ("Support", "Client"), ("客服", "用户"), ("Operator", "Caller"), ("bot", "visitor")])
def test_speaker_names_for_agent_and_customer(agent: str, customer: str) -> None:
    rows = [[f"c{i}", customer, f"question {i}"] for i in range(3)] + [[f"c{i}", agent, f"answer {i}"] for i in range(3)]
    ds = ingest.load_bytes(table(["conversation", "speaker", "text"], rows), "f.csv")
    assert ds.mapping["speakers"] == {customer: "user", agent: "assistant"}
    assert ds.examples[0].record["messages"] == [{"role": "user", "content": "question 0"}, {"role": "assistant", "content": "answer 0"}]


def test_action_rows_are_left_out_and_listed() -> None:
    rows = [["c1", "agent", "Hi!"], ["c1", "customer", "I need a refund"], ["c1", "action", "Account pulled up"], ["c1", "agent", "Done."]]
    ds = ingest.load_bytes(table(["conversation_id", "speaker", "text"], rows), "f.csv")
    assert ds.mapping["speakers"]["action"] == "ignore"
    assert [m["role"] for m in ds.examples[0].record["messages"]] == ["assistant", "user", "assistant"]
    assert any(f.code == "speaker_ignored" and f.row == 4 for f in ds.read_findings)


def test_unknown_labels_that_take_turns_are_read_by_who_opens() -> None:
    rows = [[f"c{i}", "A-side", f"hello {i}"] for i in range(3)] + [[f"c{i}", "B-side", f"reply {i}"] for i in range(3)]
    sug = mapping.suggest(["thread_id", "from", "message"], rows)
    assert sug.mapping.speakers == {"A-side": "user", "B-side": "assistant"} and sug.confidence == "guess"


def test_speaker_labels_found_by_content_when_the_header_is_unusual() -> None:
    rows = [["d1", "user", "hi"], ["d1", "assistant", "hello"], ["d2", "user", "yo"], ["d2", "assistant", "hey"]]
    sug = mapping.suggest(["conversation_id", "kind", "body"], rows)
    assert (sug.mapping.role, sug.mapping.content) == ("kind", "body")


def xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_workbook_without_header_row_keeps_its_first_line_as_row_1() -> None:
    rows = [["Vocês atendem em quais cidades?", "Atendemos em Itajaí e Florianópolis."], ["Quais imóveis?", "Casas e apartamentos de alto padrão."]]
    ds = ingest.load_bytes(xlsx(rows), "faq.xlsx")  # (CSV files: the reader does the same, see csv_quirks)
    assert ds.columns == ["column 1", "column 2"] and [e.rows for e in ds.examples] == [(1,), (2,)]
    assert ds.examples[0].record["messages"][0]["content"] == "Vocês atendem em quais cidades?"
    assert "first row looks like an example" in ds.detection["reasons"][0]
    again = ingest.load_bytes(xlsx(rows), "faq.xlsx", mapping={"user": "column 1", "assistant": "column 2"})
    assert len(again.examples) == 2


def test_questions_and_answers_taking_turns_in_one_column_of_a_workbook() -> None:
    lines = ["Which team won Super Bowl 50?", "Denver Broncos", "Where was it played?", "Santa Clara", "Who sang?", "Lady Gaga", "Who lost?"]
    ds = ingest.load_bytes(xlsx([[x] for x in lines]), "qa.xlsx")
    assert ds.mapping == {"alternating": "column 1"}
    assert [e.rows for e in ds.examples] == [(1, 2), (3, 4), (5, 6), (7,)]
    assert ds.examples[1].record["messages"] == [{"role": "user", "content": "Where was it played?"}, {"role": "assistant", "content": "Santa Clara"}]
    assert ds.examples[3].record is None and "no answer" in ds.examples[3].problem


# ---------------------------------------------------------------- never refuse


cell = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30)


@SETTINGS
@given(st.lists(st.text(alphabet="abcXYZ _-?", min_size=1, max_size=12), min_size=1, max_size=5, unique_by=lambda s: s.strip().lower()),
       st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=15))
def test_a_file_that_parses_is_never_refused_and_keeps_every_row(header, rows) -> None:
    header = [h.strip() or f"c{i}" for i, h in enumerate(header)]
    if len({h.lower() for h in header}) < len(header):
        return
    body = [r[: len(header)] for r in rows]
    data = table(header, body)
    try:
        ds = ingest.load_bytes(data, "f.csv")
    except InputError as err:
        assert "no data rows" in str(err) or "empty" in str(err)  # only files with no rows to keep
        return
    rows_seen = {r for e in ds.examples for r in e.rows}
    assert set(ds.source_rows) <= rows_seen
    if ds.detection["problem"]:
        assert all(e.record is None and e.problem for e in ds.examples)


def test_json_objects_with_unknown_keys_wait_for_a_mapping() -> None:
    data = json.dumps([{"titulo": "a", "cuerpo": "b"}, {"titulo": "c", "cuerpo": "d"}]).encode()
    ds = ingest.load_bytes(data, "x.json")
    assert ds.detection["problem"] and ds.columns == ["titulo", "cuerpo"]
    ds = ingest.load_bytes(data, "x.json", mapping={"user": "titulo", "assistant": "cuerpo"})
    assert ds.examples[1].record["messages"][1]["content"] == "d"


def test_first_example_preview_matches_the_export() -> None:
    content, _ = ingest.read(LONG, "dialogues.csv")
    ex = ingest.first_example(ingest.as_table(content), {"role": "participant", "content": "utterance", "conversation": "dialogue_id",
                                                         "turn": "turn_idx", "speakers": {"SYSTEM": "system"}})
    assert [m["role"] for m in ex.record["messages"]] == ["user", "system", "user", "system"]
    with pytest.raises(InputError, match="assistant"):
        ingest.first_example(ingest.as_table(content), {**dict.fromkeys(mapping.ROLES), "user": "utterance"})  # the page sends every role


# ---------------------------------------------------------------- CLI


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = cli.main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_speaker_flag_and_mapping_with_confidence(tmp_path, capsys) -> None:
    path = tmp_path / "dialogues.csv"
    path.write_bytes(LONG)
    rc, out, _ = run_cli(["check", str(path), "--json", "--speaker", "WHISPER=ignore", "--speaker", "SYSTEM=assistant"], capsys)
    src = json.loads(out)["source"]
    assert src["mapping"]["speakers"] == {"USER": "user", "SYSTEM": "assistant", "WHISPER": "ignore"}
    assert src["confidence"] == "chosen" and src["speaker_counts"]["WHISPER"] == 1
    rc, out, _ = run_cli(["check", str(path), "--json"], capsys)
    assert json.loads(out)["source"]["confidence"] == "guess"


def test_cli_unmapped_file_names_the_flags_with_its_columns(tmp_path, capsys) -> None:
    path = tmp_path / "f.csv"
    path.write_text("x,y\nalpha beta,gamma delta\none two,three four\n", encoding="utf-8")
    rc, _, err = run_cli(["check", str(path)], capsys)
    assert rc == 2 and "No column is mapped" in err and "--map user='x' --map assistant='y'" in err
    rc, out, _ = run_cli(["check", str(path), "--json", "--map", "user=x", "--map", "assistant=y"], capsys)
    assert json.loads(out)["examples"] == 2


@pytest.mark.parametrize(("flag", "why"), [("SYSTEM", "LABEL=ROLE"), ("SYSTEM=boss", "unknown role")])
def test_cli_bad_speaker_flag_is_a_plain_error(tmp_path, capsys, flag, why) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(LONG)
    rc, _, err = run_cli(["check", str(path), "--speaker", flag], capsys)
    assert rc == 2 and why in err and "Traceback" not in err


@SETTINGS
@given(st.sampled_from(["customer", "Customer", "client", "USER", "user", "visitor", "Caller", "human", "用户", "cliente"]),
       st.sampled_from(["agent", "Agent", "bot", "support", "rep", "Operator", "assistant", "客服", "gpt", "asistente"]),
       st.lists(st.tuples(st.booleans(), st.integers(1, 5)), min_size=1, max_size=6))
def test_speaker_names_in_any_case_and_order(user: str, agent: str, convs: list[tuple[bool, int]]) -> None:
    rows = []
    for c, (agent_first, turns) in enumerate(convs):
        for t in range(turns + 1):
            who = (agent if t % 2 == 0 else user) if agent_first else (user if t % 2 == 0 else agent)
            rows.append([f"conv{c}", str(t), who, f"message {c}.{t}"])
    sug = mapping.suggest(["session_id", "turn", "speaker", "message"], rows)
    assert sug.mapping.long_format and sug.mapping.speakers == {user: "user", agent: "assistant"}


def test_a_named_answer_column_left_empty_is_still_the_answer() -> None:
    ds = ingest.load_bytes(table(["question", "answer"], [[f"Q{i}?", ""] for i in range(6)]), "f.csv")
    assert ds.mapping == {"user": "question", "assistant": "answer"}  # each row then says its answer is empty
    assert ds.examples[0].record["messages"][1] == {"role": "assistant", "content": ""}

"""Legacy code pages Excel writes, detected from the bytes, and the user's own choice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from validators.reading import ingest, legacy_encoding, readers

TEXTS = {
    "en": "question,answer\nWhy doesn’t my order arrive?,“We’re sorry” — it ships in 3–5 days. Café orders take longer.\nCan I return it?,Yes: you’ve 30 days; it’s free.\n",
    "fr": "question,réponse\nOù est ma commande ?,Elle arrive bientôt ; désolé pour le délai. Ça coûte cher. Très bien, à bientôt.\n",
    "de": "Frage,Antwort\nWo ist meine Bestellung?,Sie kommt in Kürze. Größe und Übergröße sind verfügbar; schöne Grüße.\n",
    "es": "pregunta,respuesta\n¿Dónde está mi pedido?,Llegará mañana; lo sentimos. ¡Gracias por su paciencia!\n¿Puedo pagar en efectivo?,Sí, también con tarjeta. Año nuevo.\n",
    "pt": "pergunta,resposta\nOnde está meu pedido?,Chegará amanhã; não se preocupe. Informações e condições.\nPosso pagar na entrega?,Sim, também com cartão. Ações e opções.\n",
    "pl": "pytanie,odpowiedź\nGdzie jest moje zamówienie?,Przyjdzie jutro; przepraszamy za opóźnienie. Dziękujemy.\nCzy mogę zwrócić towar?,Tak, w ciągu 30 dni. Źle? Żółć gęślą jaźń.\n",
    "cs": "otázka,odpověď\nKde je moje objednávka?,Přijde zítra; omlouváme se za zpoždění. Děkujeme.\n",
    "ru": "вопрос,ответ\nГде мой заказ?,Он придёт завтра; извините за задержку. Спасибо.\nМожно вернуть товар?,Да, в течение 30 дней. Съешь же ещё этих мягких французских булок.\n",
    "el": "ερώτηση,απάντηση\nΠού είναι η παραγγελία μου;,Θα φτάσει αύριο· λυπούμαστε για την καθυστέρηση.\nΜπορώ να επιστρέψω;,Ναι, μέσα σε 30 ημέρες. Ευχαριστούμε.\n",
    "ja": "質問,回答\n注文はどこですか？,明日届きます。遅れて申し訳ありません。\n返品できますか？,はい、30日以内なら可能です。ありがとうございます。\n",
    "zh": "问题,答案\n我的订单在哪里？,明天到达。很抱歉耽误了您的时间。\n可以退货吗？,可以，三十天内免费退货。谢谢您的耐心。\n",
    "zht": "問題,答案\n我的訂單在哪裡？,明天到達。很抱歉耽誤了您的時間。\n可以退貨嗎？,可以，三十天內免費退貨。謝謝您的耐心。\n",
}
CASES = [
    ("en", "cp1252"), ("en", "mac_roman"), ("fr", "cp1252"), ("fr", "mac_roman"), ("fr", "cp850"),
    ("de", "cp1252"), ("de", "mac_roman"), ("de", "cp850"), ("es", "cp1252"), ("es", "mac_roman"), ("es", "cp850"),
    ("pt", "cp1252"), ("pt", "mac_roman"), ("pt", "cp850"), ("pl", "cp1250"), ("cs", "cp1250"), ("ru", "cp1251"),
    ("ru", "mac_cyrillic"), ("el", "cp1253"), ("ja", "cp932"), ("zh", "gb18030"), ("zht", "big5"),
    ("en", "utf-16"), ("ru", "utf-16"), ("en", "utf-16-le"),
]


@pytest.mark.parametrize(("lang", "codec"), CASES)
def test_excel_code_pages_are_read_exactly(lang: str, codec: str) -> None:
    content, used = readers.read_bytes(TEXTS[lang].encode(codec), "export.csv")
    assert isinstance(content, readers.Table)
    assert "\n".join(",".join(cells) for _, cells in content.rows) == "\n".join(TEXTS[lang].splitlines()[1:])


def test_mac_excel_export_is_not_read_as_windows() -> None:
    """Issue 9: a Mac Roman CSV became ``doesnÕt`` in the export."""
    rows = "".join(f"Why doesn’t order {i} arrive?,We’re sorry; it’s on its way.\n" for i in range(300))
    ds = ingest.load_bytes(("question,answer\n" + rows).encode("mac_roman"), "mac.csv")
    assert ds.encoding == "mac_roman"
    assert ds.examples[0].record["messages"][0]["content"] == "Why doesn’t order 0 arrive?"


def test_implausible_characters_score_higher() -> None:
    assert legacy_encoding.penalty("doesn’t we’re café naïve 25°C") == 0
    assert legacy_encoding.penalty("doesnÕt") > 0  # a capital inside a word
    assert legacy_encoding.penalty("na•ve") > 0  # a symbol inside a word
    assert legacy_encoding.penalty("Ïðéóôïò") > 0  # Greek read as Latin: a run of accented letters
    assert legacy_encoding.penalty("明日届きます。遅れて") == 0  # CJK punctuation between ideographs is normal


def test_the_users_choice_overrides_detection() -> None:
    data = TEXTS["en"].encode("mac_roman")
    content, used = readers.read_bytes(data, "f.csv", encoding="cp1252")
    assert used == "cp1252" and "doesnÕt" in content.rows[0][1][0]
    ds = ingest.load_bytes(data, "f.csv", encoding="MacRoman")
    assert ds.encoding == "mac-roman"
    assert ds.examples[0].record["messages"][0]["content"] == "Why doesn’t my order arrive?"


def test_a_choice_that_does_not_fit_says_where() -> None:
    with pytest.raises(readers.InputError, match="line 2 of the file"):
        readers.read_bytes(TEXTS["de"].encode("cp1252"), "f.csv", encoding="utf-8")
    with pytest.raises(readers.InputError, match="not a text encoding"):
        readers.read_bytes(b"a,b\n1,2\n", "f.csv", encoding="klingon")


def test_every_offered_choice_is_a_real_codec() -> None:
    for codec, text in legacy_encoding.CHOICES:
        assert readers.codec_name(codec) and text
    assert legacy_encoding.label("mac-roman").startswith("Western European (Mac Roman")


_CELL = st.text(st.characters(codec="cp1252", exclude_characters='\r\n",\x00'), min_size=1, max_size=20).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=5), st.sampled_from(["cp1252", "mac_roman", "utf-16", "utf-8"]))
def test_a_chosen_encoding_reads_back_exactly(rows: list[tuple[str, str]], codec: str) -> None:
    text = "q,a\n" + "".join(f"{q.strip()},{a.strip()}\n" for q, a in rows)
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return
    content, _ = readers.read_bytes(data, "f.csv", encoding=codec)
    assert [tuple(c) for _, c in content.rows] == [(q.strip(), a.strip()) for q, a in rows]


def test_mixed_encoding_names_examples_and_rows_not_file_lines() -> None:
    good = 'question,answer\n"Two\nline question?",Fine\n' + "".join(f"q{i}?,a{i}\n" for i in range(3)) + "Ça va ?,Oui\n"
    data = good.encode("utf-8") + "Crème brûlée?,Très bon\n".encode("cp1252")
    ds = ingest.load_bytes(data, "mixed.csv")
    f = next(f for f in ds.read_findings if f.code == "mixed_encoding")
    # file line 8 is spreadsheet row 7, example 6
    assert (f.example, f.row) == (6, 7)
    assert "example(s) 6 (row 7)" in f.message and "line" not in f.message
    assert ds.examples[5].record["messages"][0]["content"] == "Crème brûlée?"
    assert ds.examples[4].record["messages"][0]["content"] == "Ça va ?"


def test_detected_legacy_encoding_points_at_the_examples_to_check() -> None:
    rows = "".join(f"plain question {i}?,plain answer {i}\n" for i in range(8)) + "Où est le café ?,À droite.\n"
    ds = ingest.load_bytes(("question,answer\n" + rows).encode("mac_roman"), "mac.csv")
    f = next(f for f in ds.read_findings if f.code == "encoding_detected")
    assert (f.example, f.row) == (9, 10) and "Mac Roman" in f.message and "9 (row 10)" in f.message
    chosen = ingest.load_bytes(("question,answer\n" + rows).encode("mac_roman"), "mac.csv", encoding="mac_roman")
    assert not [f for f in chosen.read_findings if f.code == "encoding_detected"]


_MULTI = st.text(st.sampled_from("ab \n"), min_size=1, max_size=8).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_MULTI, _MULTI), min_size=1, max_size=8))
def test_every_file_line_maps_to_the_grid_row_it_belongs_to(rows: list[tuple[str, str]]) -> None:
    import csv
    import io

    from validators.reading import decoding

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["q", "a"])
    owner = [1]  # file line -> spreadsheet row, counted while writing
    for n, (q, a) in enumerate(rows, start=2):
        writer.writerow([q, a])
        owner += [n] * (f'"{q}"'.count("\n") + f'"{a}"'.count("\n") + 1)
    content, _ = readers.read_bytes(buf.getvalue().encode(), "f.csv")
    lines = list(range(1, len(owner) + 1))
    assert [decoding._rows_of_lines(content, [line])[0] for line in lines] == owner


_WESTERN_ROWS = [r for lang in ("en", "fr", "de", "es", "pt") for r in TEXTS[lang].splitlines()[1:]]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(_WESTERN_ROWS), min_size=1, max_size=4), st.sampled_from(["cp1252", "mac_roman", "cp850"]))
def test_any_mix_of_real_western_rows_is_read_exactly(rows: list[str], codec: str) -> None:
    text = "q,a\n" + "\n".join(rows) + "\n"
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return  # cp850 has no € or curly quotes
    assert readers.decode_lines(data, "f.csv")[0] == text

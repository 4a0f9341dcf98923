"""Rebuild tests/real_files/ from the public repositories named in manifest.json.

Why this exists: every file in the corpus is a real public file that somebody else made,
cut to a few rows (and, where the manifest says so, converted to a legacy encoding, to
mojibake or to an Excel workbook).  This script is the exact record of how each file was
cut or converted, and it computes the EXPECTED facts of manifest.json (row counts, number
of conversations, first question and answer) with pandas / csv / json -- never with the
app under test -- so the expectations are independent of the code they check.

It reads the sources from local git snapshots (``git show COMMIT:PATH``) under
``$CORPUS_MIRRORS`` (default /work/.mirror/<owner>+<name>/repo).  It is not run by the
tests; the committed files and manifest.json are the test data.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
MIRRORS = Path(os.environ.get("CORPUS_MIRRORS", "/work/.mirror"))


def source(repo: str, commit: str, path: str) -> bytes:
    """The exact bytes of PATH at COMMIT in the snapshot of REPO."""
    git_dir = MIRRORS / repo.replace("/", "+") / "repo"
    return subprocess.run(["git", "-C", str(git_dir), "show", f"{commit}:{path}"], check=True, capture_output=True).stdout


def cut_csv(text: str, n: int, delimiter: str = ",", skip: int = 0, keep: list[str] | None = None) -> str:
    """Header + data rows skip..skip+n, re-written with Python's csv writer (QUOTE_MINIMAL, LF)."""
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header, body = rows[0], rows[1 + skip: 1 + skip + n]
    if keep:
        idx = [header.index(k) for k in keep]
        header, body = [header[i] for i in idx], [[r[i] for i in idx] for r in body]
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(body)
    return out.getvalue()


def mojibake(text: str) -> str:
    """What a UTF-8 file looks like after one cp1252 round trip: '’' -> 'â€™'."""
    return "".join(ch.encode("utf-8").decode("cp1252", errors="strict") if ord(ch) > 127 else ch for ch in text)


def table_facts(data: bytes, encoding: str, sep: str, header: bool = True) -> tuple[int, list[str]]:
    """Data rows and the first data row's cells, counted by pandas."""
    df = pd.read_csv(io.BytesIO(data), encoding=encoding, sep=sep, dtype=str, keep_default_na=False, header=0 if header else None)
    return len(df), [str(x) for x in df.iloc[0].tolist()]


def write(name: str, data: bytes) -> bytes:
    (HERE / name).write_bytes(data)
    return data


def xlsx_from_rows(name: str, header: list[str], rows: list[list[str]]) -> bytes:
    """An .xlsx whose shared strings hold line breaks the way Excel for Windows stores them.

    Excel writes a carriage return inside a cell as the escape ``_x000D_`` (OOXML ST_Xstring),
    so a cell typed or pasted with Windows line ends is stored as ``..._x000D_\\n...``.
    openpyxl writes strings verbatim, so writing the escape literally reproduces Excel's bytes.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "FAQ"
    ws.append(header)
    for r in rows:
        ws.append([c.replace("\r\n", "\n").replace("\n", "_x000D_\n") for c in r])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        assert any(b"_x000D_" in z.read(n) for n in z.namelist() if n.endswith(".xml"))
    return write(name, buf.getvalue())


def entry(name: str, fmt: str, repo: str, path: str, commit: str, licence: str, cut: str, **facts: Any) -> dict[str, Any]:
    return {"file": name, "format": fmt, "source": {"repo": repo, "path": path, "commit": commit,
            "url": f"https://github.com/{repo}/blob/{commit}/{path}"}, "licence": licence, "cut": cut, **facts}


BOT = ("microsoft/BotBuilder-Samples", "48b68ef0ab4eadfcae21dc1726a0d7d18a50fe5f",
       "experimental/csharp_dotnetcore/qnamaker-activelearning-bot/CognitiveModels/ActiveLearningSampleFAQ.tsv")
INFOBASE = ("TBS-EACPD/infobase", "fa1309d9310c403b1b0f190ca5a828880c2692eb", "data/faq.csv")
COVID = ("deepset-ai/COVID-QA", "fb2eb5e249618457e5359806601086c635c8eb8f", "data/faqs/faq_covidbert.csv")
COVID_AR = ("deepset-ai/COVID-QA", "fb2eb5e249618457e5359806601086c635c8eb8f", "data/faqs/MT_ar_faq_covidbert.csv")
LLF = ("hiyouga/LLaMA-Factory", "ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30")
FASTCHAT = ("lm-sys/FastChat", "0e6d3e4beaab66f4d3f93db72541a4abab8af28d", "data/dummy_conversation.json")
MEDGPT = ("shibing624/MedicalGPT", "2f1008cfa49cbba69ff6f138c3b5e2fb0646bdc7", "data/sft/sharegpt_zh_1K_format.jsonl")
SGD = ("google-research-datasets/dstc8-schema-guided-dialogue", "e852981ae34990f4358979625854259302feaa78", "train/dialogues_001.json")
ABCD = ("asappresearch/abcd", "6b8700ce67c6b37b062dd7a60abc76d7ef832a97", "data/abcd_sample.json")
MIT, APACHE, CCBYSA = "MIT", "Apache-2.0", "CC-BY-SA-4.0"


def qna_tsv() -> dict[str, Any]:
    repo, commit, path = BOT
    data = write("qna_maker_surface.tsv", b"".join(source(repo, commit, path).splitlines(keepends=True)[:21]))
    rows, first = table_facts(data, "utf-8", "\t")
    return entry("qna_maker_surface.tsv", "tsv", repo, path, commit, MIT, "first 21 lines (header + 20 rows), bytes unchanged: head -n 21",
                 encoding="utf-8", layout="table", data_rows=rows, examples=rows, mapping={"user": "Question", "assistant": "Answer"},
                 first={"user": first[0], "assistant": first[1]}, covers=["QnA Maker TSV (Question/Answer/Source/Metadata)", "literal \\n escapes in answers"])


def infobase(name: str, encoding: str) -> dict[str, Any]:
    repo, commit, path = INFOBASE
    text = source(repo, commit, path).decode("utf-8")
    data = write(name, text.encode(encoding))
    rows, first = table_facts(data, encoding, ",")
    conv = "whole file, bytes unchanged" if encoding == "utf-8" else f"whole file, re-encoded: Path(out).write_bytes(src.decode('utf-8').encode('{encoding}')) (the repository's file is UTF-8; a Mac Excel 'CSV' export writes Mac Roman like this)"
    return entry(name, "csv", repo, path, commit, MIT, conv, encoding=encoding, layout="table", data_rows=rows, examples=rows,
                 mapping={"user": ["q_en", "q_fr"], "assistant": ["a_en", "a_fr"]}, pairs=[["q_en", "a_en"], ["q_fr", "a_fr"]],
                 first={"user": first[1], "assistant": first[3]}, first_alternatives=[{"user": first[2], "assistant": first[4]}],
                 covers=["bilingual English/French FAQ (q_en,q_fr,a_en,a_fr)", "an id column that must not be used as text", "multi-line HTML answers"]
                 + ([f"legacy encoding {encoding}"] if encoding != "utf-8" else []))


def covid(name: str, skip: int, n: int, transform: str) -> dict[str, Any]:
    repo, commit, path = COVID
    text = cut_csv(source(repo, commit, path).decode("utf-8"), n, skip=skip)
    how = f"header + data rows {skip + 1}..{skip + n}, re-written with csv.writer"
    covers = ["FAQ export with 10 metadata columns (answer_html, link, source, category, country, lang, last_update...)"]
    enc = "utf-8"
    if transform == "mojibake":
        text, how = mojibake(text), how + "; then every non-ASCII character c replaced by c.encode('utf-8').decode('cp1252') (what a UTF-8 file looks like after one wrong cp1252 round trip: ’ -> â€™)"
        covers = covers + ["mojibake inside a UTF-8 file (â€™, â€“, â€œ)"]
    elif transform == "cp1252":
        enc, how = "cp1252", how + "; then encoded to cp1252 (Windows Excel 'CSV' export), characters cp1252 lacks replaced by '?'"
        covers = covers + ["legacy encoding cp1252 (’ is byte 0x92)"]
    elif transform == "headerless":
        rows = list(csv.reader(io.StringIO(text)))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([["col1", "col2"]] + [[r[0], r[1]] for r in rows[1:]])
        text, how = out.getvalue(), how + "; kept only question and answer, header replaced by col1,col2"
        covers = ["meaningless headers col1,col2: only content tells which is the question"]
    data = write(name, text.encode(enc, errors="replace"))
    rows, first = table_facts(data, enc, ",")
    user, assistant = ("col1", "col2") if transform == "headerless" else ("question", "answer")
    return entry(name, "csv", repo, path, commit, APACHE, how, encoding=enc, layout="table", data_rows=rows, examples=rows,
                 mapping={"user": user, "assistant": assistant}, first={"user": first[0], "assistant": first[1]}, covers=covers,
                 **({"mojibake_examples": mojibake_examples(data)} if transform == "mojibake" else {}))


def mojibake_examples(data: bytes) -> int:
    """Rows whose question or answer holds cp1252 mojibake of UTF-8 ('â€' or 'Â' sequences)."""
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    return int((df.question + df.answer).str.contains("â€|Â", regex=True).sum())


def covid_arabic() -> dict[str, Any]:
    repo, commit, path = COVID_AR
    data = write("covid_faq_arabic_mt.csv", cut_csv(source(repo, commit, path).decode("utf-8"), 20).encode("utf-8"))
    rows, first = table_facts(data, "utf-8", ",")
    return entry("covid_faq_arabic_mt.csv", "csv", repo, path, commit, APACHE, "header + first 20 data rows, re-written with csv.writer",
                 encoding="utf-8", layout="table", data_rows=rows, examples=rows,
                 mapping={"user": ["question", "question_ar"], "assistant": ["answer", "answer_ar"]}, pairs=[["question", "answer"], ["question_ar", "answer_ar"]],
                 first={"user": first[1], "assistant": first[2]}, first_alternatives=[{"user": first[13], "assistant": first[14]}],
                 covers=["Arabic machine translation next to the English original (question_ar/answer_ar)", "unnamed pandas index column first"])


def alpaca(lang: str, n: int) -> dict[str, Any]:
    repo, commit = LLF
    path = f"data/alpaca_{lang}_demo.json"
    items = json.loads(source(repo, commit, path))[:n]
    name = f"alpaca_{lang}_llamafactory.json"
    write(name, (json.dumps(items, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    f = items[0]
    return entry(name, "json", repo, path, commit, APACHE + " (repository licence; LLaMA-Factory's demo data)",
                 f"first {n} records: json.dump(json.load(src)[:{n}], ensure_ascii=False, indent=2)", encoding="utf-8", layout="alpaca",
                 data_rows=len(items), examples=len(items), mapping=None, keys={"user": "instruction", "context": "input", "assistant": "output"},
                 first={"user": f["instruction"], "assistant": f["output"]}, match="contains",
                 covers=[f"Alpaca JSON ({'English' if lang == 'en' else 'Chinese'})", "empty 'input' on most records"])


def sharegpt_fastchat(n: int) -> dict[str, Any]:
    repo, commit, path = FASTCHAT
    items = json.loads(source(repo, commit, path))[:n]
    write("sharegpt_en_fastchat.json", (json.dumps(items, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    c = items[0]["conversations"]
    return entry("sharegpt_en_fastchat.json", "json", repo, path, commit, APACHE, f"first {n} conversations: json.dump(json.load(src)[:{n}], ensure_ascii=False, indent=2)",
                 encoding="utf-8", layout="sharegpt", data_rows=len(items), examples=len(items), mapping=None,
                 first={"user": c[0]["value"], "assistant": c[1]["value"]}, covers=["ShareGPT JSON, English, multi-turn (from: human/gpt)"])


def sharegpt_medical(n: int) -> dict[str, Any]:
    repo, commit, path = MEDGPT
    data = write("sharegpt_zh_medicalgpt.jsonl", b"".join(source(repo, commit, path).splitlines(keepends=True)[:n]))
    items = [json.loads(x) for x in data.decode("utf-8").splitlines() if x.strip()]
    c = items[0]["conversations"]
    return entry("sharegpt_zh_medicalgpt.jsonl", "jsonl", repo, path, commit, APACHE, f"first {n} lines, bytes unchanged: head -n {n}",
                 encoding="utf-8", layout="sharegpt", data_rows=len(items), examples=len(items), mapping=None,
                 first={"user": c[0]["value"], "assistant": c[1]["value"]}, covers=["ShareGPT JSONL, Chinese (with some Russian), multi-turn"])


def long_csv(name: str, header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return write(name, out.getvalue().encode("utf-8"))


def first_pair(rows: list[list[str]], conv: int, spk: int, txt: int, labels: dict[str, str]) -> dict[str, str]:
    """First user text and first assistant text of the first conversation, by the label mapping."""
    conv0 = [r for r in rows if r[conv] == rows[0][conv]]
    user = next(r[txt] for r in conv0 if labels[r[spk]] == "user")
    return {"user": user, "assistant": next(r[txt] for r in conv0 if labels[r[spk]] == "assistant")}


def sgd(n: int) -> dict[str, Any]:
    repo, commit, path = SGD
    dialogues = json.loads(source(repo, commit, path))[:n]
    rows = [[d["dialogue_id"], str(i), t["speaker"], t["utterance"]] for d in dialogues for i, t in enumerate(d["turns"])]
    data = long_csv("sgd_long_system_user.csv", ["dialogue_id", "turn_idx", "participant", "utterance"], rows)
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    labels = {"USER": "user", "SYSTEM": "assistant"}
    return entry("sgd_long_system_user.csv", "csv", repo, path, commit, CCBYSA,
                 f"first {n} dialogues of the JSON flattened to one row per turn: [[d['dialogue_id'], i, t['speaker'], t['utterance']] for d in dialogues[:{n}] for i, t in enumerate(d['turns'])]",
                 encoding="utf-8", layout="long", data_rows=len(df), examples=int(df.dialogue_id.nunique()),
                 mapping={"conversation": "dialogue_id", "turn": "turn_idx", "role": "participant", "content": "utterance"},
                 labels=labels, label_counts=df.participant.value_counts().to_dict(), first=first_pair(rows, 0, 2, 3, labels), match="contains",
                 covers=["long format, one message per row", "speaker labels SYSTEM/USER where SYSTEM is the agent (assistant), not a system prompt"])


def abcd() -> dict[str, Any]:
    repo, commit, path = ABCD
    convos = json.loads(source(repo, commit, path))
    rows = [[str(c["convo_id"]), speaker, text] for c in convos for speaker, text in c["original"]]
    data = long_csv("abcd_long_agent_customer.csv", ["conversation_id", "speaker", "text"], rows)
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    labels = {"customer": "user", "agent": "assistant", "action": "ignore"}
    return entry("abcd_long_agent_customer.csv", "csv", repo, path, commit, MIT,
                 "all 3 conversations of the sample flattened to one row per message: [[c['convo_id'], speaker, text] for c in convos for speaker, text in c['original']]",
                 encoding="utf-8", layout="long", data_rows=len(df), examples=int(df.conversation_id.nunique()),
                 mapping={"conversation": "conversation_id", "role": "speaker", "content": "text"}, labels=labels,
                 label_counts=df.speaker.value_counts().to_dict(), first=first_pair(rows, 0, 1, 2, labels), match="contains",
                 covers=["long format with agent/customer labels and no turn column", "'action' rows (agent tool actions) that are not messages",
                         "help-desk transcript: conversations open with the agent, consecutive agent messages", "customer names, e-mails, order ids"])


def excel() -> dict[str, Any]:
    repo, commit, path = INFOBASE
    df = pd.read_csv(io.BytesIO(source(repo, commit, path)), dtype=str, keep_default_na=False)
    data = xlsx_from_rows("infobase_faq_excel.xlsx", ["id", "Questions", "Answers"], df[["id", "q_en", "a_en"]].values.tolist())
    back = pd.read_excel(io.BytesIO(data), dtype=str)
    return entry("infobase_faq_excel.xlsx", "xlsx", repo, path, commit, MIT,
                 "columns id,q_en,a_en written to sheet 'FAQ' with openpyxl under the headers id,Questions,Answers; each line break in a cell stored as Excel for Windows stores CR LF: '_x000D_' + LF",
                 encoding=None, layout="table", data_rows=len(back), examples=len(back), mapping={"user": "Questions", "assistant": "Answers"},
                 first={"user": df.q_en[0], "assistant": df.a_en[0]}, escapes_in_file=int(back.Answers.str.count("_x000D_").sum()),
                 covers=["Excel workbook", "plural headers Questions/Answers (given in the conversion: the source columns are q_en/a_en)", "Excel's _x000D_ escapes inside cells"])


AIEDWARD = ("aiedward/QuestionAnswering_DeepLearning", "6289cdbeee1932c4ddeda27eb6bc3c4964a3cd4f", "data/preguntasyrespuestas.csv")
UEPG = ("Gabriel-Becher/Chat-Bot-Academico", "b3fa352f4390c916b2d59334ef40c1dc16e296cb", "perguntas.csv")
AURORA = ("Souza404/aurora-prime", "c430a962a96d4ccd751895d0d53e5e1af8b7243b", "perguntas_respostas.csv")
TWCS = ("divya-gh/conversational-ai-analyst", "4edb1063da75d575cedf6bd81437286618d340b5", "data/twcs_small.csv")


def alternating() -> dict[str, Any]:
    repo, commit, path = AIEDWARD
    data = write("squad_alternating_rows.csv", source(repo, commit, path))
    lines = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return entry("squad_alternating_rows.csv", "csv", repo, path, commit, APACHE, "whole file, bytes unchanged (CRLF line ends)",
                 encoding="utf-8", layout="alternating", data_rows=len(lines), examples=len(lines) // 2, mapping=None,
                 first={"user": lines[0][0], "assistant": lines[1][0]},
                 covers=["no header, ONE column: questions on odd lines, answers on even lines", "SQuAD questions with short answers"])


def uepg() -> dict[str, Any]:
    repo, commit, path = UEPG
    data = write("uepg_perguntas_semicolon.csv", source(repo, commit, path))
    rows, first = table_facts(data, "utf-8", ";")
    df = pd.read_csv(io.BytesIO(data), sep=";", dtype=str, keep_default_na=False)
    answered = int((df["referencia"].str.strip() != "").sum())
    return entry("uepg_perguntas_semicolon.csv", "csv", repo, path, commit, APACHE, "whole file, bytes unchanged",
                 encoding="utf-8", layout="table", data_rows=rows, examples=rows, exported=answered,
                 exported_why=("rows with an empty referencia are lines of the answer above, broken without quotes: they have no "
                               "answer of their own, so they are reported (wrapped_lines names them), not exported, unless the user "
                               "asks to join wrapped lines"),
                 mapping={"user": "pergunta", "assistant": "referencia"},
                 first={"user": first[0], "assistant": first[1]},
                 covers=["Portuguese headers pergunta;referencia (answer column not named 'answer' in any language)", "semicolon separator",
                         "a cell made of several quoted phrases separated by commas"])


def aurora() -> dict[str, Any]:
    repo, commit, path = AURORA
    data = write("aurora_headerless_pt.csv", source(repo, commit, path))
    rows, first = table_facts(data, "utf-8", ",", header=False)
    return entry("aurora_headerless_pt.csv", "csv", repo, path, commit, MIT, "whole file, bytes unchanged",
                 encoding="utf-8", layout="table", data_rows=rows, examples=rows, mapping=None, headerless=True,
                 first={"user": first[0], "assistant": first[1]},
                 covers=["no header row at all: the first line is a question and its answer", "Portuguese real-estate FAQ"])


def twcs() -> dict[str, Any]:
    repo, commit, path = TWCS
    src = list(csv.reader(io.StringIO(source(repo, commit, path).decode("utf-8"))))
    digits = re.compile(r"\d[\d \-]{7,}\d")
    keep = [src[0]] + [r for r in src[1:] if digits.search(re.sub(r"@\w+", "", r[4]))]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(keep)
    data = write("twcs_support_digits.csv", out.getvalue().encode("utf-8"))
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    decoys = [d for t in df.text for d in luhn_runs(t)]
    return entry("twcs_support_digits.csv", "csv", repo, path, commit,
                 "CC-BY-NC-SA-4.0 (licence of the Kaggle dataset thoughtvector/customer-support-on-twitter this 5,000-tweet extract comes from; the repository itself has no licence file)",
                 "rows whose text, after removing @handles, holds a run of 9+ digits/spaces/dashes: re.search(r'\\d[\\d \\-]{7,}\\d', re.sub(r'@\\w+', '', text)); original columns and quoting kept by csv.writer",
                 encoding="utf-8", layout="pii", data_rows=len(df), examples=None, mapping=None, text_columns=["text"],
                 card_numbers=0, luhn_valid_non_cards=decoys,
                 covers=["personal-data precision: real order numbers (Amazon 404-9266355-4116356), account and tracking numbers, phone-like ids",
                         "digit runs that pass the Luhn check but are not cards: no issuer uses their prefix and length"])


def luhn_runs(text: str) -> list[str]:
    """13-19 digit runs (spaces/dashes allowed) that pass Luhn: the candidates a naive card check flags."""
    out = []
    for m in re.finditer(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)", text):
        ds = [int(c) for c in re.sub(r"\D", "", m.group())][::-1]
        if (sum(ds[0::2]) + sum(sum(divmod(2 * x, 10)) for x in ds[1::2])) % 10 == 0:
            out.append(m.group())
    return out


PERSIAN = ("MasihMoafi/Using-Pydantic-For-Structured-Outputs-", "85a416032e0ff7686a68cfbb0f1014dc28ffd5d0", "faq.csv")
SPANISH = ("MacarenaCastillo/castillo-onceava-clase", "16f7c0c02cb5b6a1166d9690a316a5a984f98a61", "data/faq.csv")
CHINESE = ("Jarry6304/LineWebDemo", "7aa715ddf16215666172a9314f58f691b79bb62e", "data/faqs.csv")


def persian_helpdesk(n: int) -> dict[str, Any]:
    repo, commit, path = PERSIAN
    data = write("isp_helpdesk_fa.csv", cut_csv(source(repo, commit, path).decode("utf-8"), n).encode("utf-8"))
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    full = df[(df.ProblemTitle.str.strip() != "") & (df.Response.str.strip() != "")]
    return entry("isp_helpdesk_fa.csv", "csv", repo, path, commit, APACHE, f"header + first {n} data rows, re-written with csv.writer",
                 encoding="utf-8", layout="table", data_rows=len(df), examples=len(df), exported=len(full),
                 exported_why="rows whose Response is empty have nothing to train on: left out, listed in the report",
                 mapping={"user": "ProblemTitle", "assistant": "Response"}, first={"user": full.ProblemTitle.iloc[0], "assistant": full.Response.iloc[0]},
                 covers=["help-desk export of an Iranian ISP, Persian text", "headers DepartmentTitle,ProblemType,ProblemTitle,Response,NetMedia: the question is 'ProblemTitle'",
                         f"{len(df) - len(full)} rows with an empty Response", "a category column (NetMedia) that is often blank"])


def spanish_faq() -> dict[str, Any]:
    repo, commit, path = SPANISH
    data = write("portafolio_faq_es.csv", source(repo, commit, path))
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True)
    return entry("portafolio_faq_es.csv", "csv", repo, path, commit, "GPL-3.0", "whole file, bytes unchanged",
                 encoding="utf-8", layout="table", data_rows=len(df), examples=len(df), mapping={"user": "faq_pregunta", "assistant": "faq_respuesta"},
                 first={"user": df.faq_pregunta[0], "assistant": df.faq_respuesta[0]},
                 covers=["Spanish headers faq_pregunta,faq_respuesta", "a space between the comma and the opening quote (read with skipinitialspace; a strict reader splits the answer at its comma)"])


def chinese_faq() -> dict[str, Any]:
    repo, commit, path = CHINESE
    data = write("course_faq_zh_tw.csv", source(repo, commit, path))
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    return entry("course_faq_zh_tw.csv", "csv", repo, path, commit, MIT, "whole file, bytes unchanged",
                 encoding="utf-8", layout="table", data_rows=len(df), examples=len(df), mapping={"user": "question", "assistant": "answer"},
                 first={"user": df.question[0], "assistant": df.answer[0]},
                 covers=["Traditional Chinese FAQ of a course (refunds, schedule)", "an 'order' column (1..n) that is a display order, not a conversation turn",
                         "multi-line answers with bullet points"])


SPECS = [qna_tsv, lambda: infobase("infobase_faq_en_fr.csv", "utf-8"), lambda: infobase("infobase_faq_macroman.csv", "mac_roman"),
         lambda: covid("covid_faq_en.csv", 0, 25, "none"), lambda: covid("covid_faq_mojibake.csv", 25, 25, "mojibake"),
         lambda: covid("covid_faq_cp1252.csv", 50, 25, "cp1252"), lambda: covid("covid_faq_col1_col2.csv", 75, 25, "headerless"),
         covid_arabic, lambda: alpaca("en", 30), lambda: alpaca("zh", 30), lambda: sharegpt_fastchat(15), lambda: sharegpt_medical(8),
         lambda: sgd(8), abcd, excel, alternating, uepg, aurora, lambda: persian_helpdesk(40), spanish_faq, chinese_faq, twcs]


def build() -> list[dict[str, Any]]:
    return [spec() for spec in SPECS]


INTRO = """# Real public files: the test corpus

Files people really have, found in public GitHub repositories, cut small, each with its source
(repository, path, commit), licence, how it was cut or converted, and the facts a correct
import must reproduce.  The expected facts were counted from the files themselves with
pandas / csv / json by `build_corpus.py` (never with this app); `manifest.json` holds the same
data for `tests/test_real_files.py` and `measure.py`.

* `python -m pytest -q tests/test_real_files.py` runs every file through the real CLI with no flags.
* `python tests/real_files/measure.py` prints how many files map right with no help, and the
  card-detection precision on the customer-support extract.
* `python tests/real_files/build_corpus.py` rebuilds the files and this page from local git
  snapshots of the source repositories (`$CORPUS_MIRRORS/<owner>+<name>/repo`).

Conversions are marked **converted**: a legacy encoding, mojibake, `col1,col2` headers, one
message per row, or an Excel workbook made from a real UTF-8 file with the command shown,
because no real file of that kind with a licence permitting redistribution was found.

Roles: `user`/`assistant` = the column (or key) holding the question/answer; long format lists
`conversation`, `turn`, `role` (the speaker column), `content`, and the speaker label -> role
mapping (`ignore` = not a message).  Where several answers are right (a bilingual file) they
are separated by `/`.
"""


def markdown(entries: list[dict[str, Any]]) -> str:
    """MANIFEST.md: the same facts as manifest.json, for people."""
    out = [INTRO, "| file | what it covers | rows | examples | encoding | mapping | licence |", "|---|---|---|---|---|---|---|"]
    for e in entries:
        mapping = e.get("mapping") or e.get("keys") or {}
        cells = ", ".join(f"{k}={'/'.join(v) if isinstance(v, list) else v}" for k, v in mapping.items()) or e["layout"]
        if e.get("labels"):
            cells += "; labels " + ", ".join(f"{k}->{v}" for k, v in e["labels"].items())
        out.append(f"| `{e['file']}` | {'; '.join(e['covers'])} | {e['data_rows']} | {e['examples'] if e['examples'] is not None else '-'} | "
                   f"{e.get('encoding') or 'xlsx'} | {cells} | {e['licence'].split(' (')[0]} |")
    out.append("\n## Sources and cuts\n")
    for e in entries:
        s = e["source"]
        conv = "**converted**: " if any(w in e["cut"] for w in ("re-encoded", "encoded to", "replaced by", "flattened", "openpyxl", "header replaced")) else ""
        out.append(f"### `{e['file']}`\n\n- source: [{s['repo']}]({s['url']}) `{s['path']}` at `{s['commit']}`\n- licence: {e['licence']}\n"
                   f"- cut: {conv}{e['cut']}\n- expected: {e['data_rows']} data rows, {e['examples'] if e['examples'] is not None else 'n/a'} examples"
                   + (f"; first question `{e['first']['user'][:70]!s}`" if e.get("first") else "")
                   + (f"; payment cards: {e['card_numbers']} (Luhn-valid digit runs that are not cards: {', '.join(e['luhn_valid_non_cards'])})" if "card_numbers" in e else "")
                   + (f"; examples with mojibake: {e['mojibake_examples']}" if "mojibake_examples" in e else "")
                   + (f"; `_x000D_` escapes in the cells: {e['escapes_in_file']}" if "escapes_in_file" in e else "") + "\n")
    return "\n".join(out)


if __name__ == "__main__":
    entries = build()
    (HERE / "manifest.json").write_text(json.dumps({"files": entries}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (HERE / "MANIFEST.md").write_text(markdown(entries), encoding="utf-8")
    print(f"{len(entries)} files, {sum((HERE / e['file']).stat().st_size for e in entries):,} bytes")

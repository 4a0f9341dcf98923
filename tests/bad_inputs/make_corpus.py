"""Regenerate the bad-input corpus: ``python tests/bad_inputs/make_corpus.py``.

Each file is one way a user's upload can be wrong.  They are committed (all small) so a
reviewer can open them; this script is how they were made, so they can be rebuilt after a
change.  Big inputs (50 MB line, a million rows, over the size limit) are not here: the
test generates them at run time.  ``MANIFEST.csv`` beside this script says what the CLI
must answer for each file.
"""

from __future__ import annotations

import codecs
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent


def good_pairs(n: int = 12) -> list[tuple[str, str]]:
    return [(f"How do I reset password number {i}?", f"Open Settings, choose Security, then Reset ({i}).") for i in range(1, n + 1)]


def chat_line(q: str, a: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}, ensure_ascii=False)


def good_jsonl_lines(n: int = 12) -> list[str]:
    return [chat_line(q, a) for q, a in good_pairs(n)]


def good_csv(n: int = 12, sep: str = ",") -> str:
    out = io.StringIO()
    import csv

    w = csv.writer(out, delimiter=sep, lineterminator="\n")
    w.writerow(["question", "answer"])
    for q, a in good_pairs(n):
        w.writerow([q, a])
    return out.getvalue()


def jsonl_with(line_no: int, bad: str, n: int = 12) -> bytes:
    """Good chat lines with line ``line_no`` (1-based) replaced by ``bad``."""
    lines = good_jsonl_lines(n)
    lines[line_no - 1] = bad
    return ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A tiny zip whose central directory claims ~4 GB per entry (what a careless reader
    would try to allocate and inflate)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"")  # placeholder, patched below
    data = bytearray(buf.getvalue())
    # Rewrite the declared uncompressed sizes of every central-directory entry to ~4 GB.
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        struct.pack_into("<I", data, pos + 24, 0xFFFF0000)
        pos += 4
    return bytes(data)


def real_zip_bomb() -> bytes:
    """Entries that truly inflate to 64 MB each from ~64 KB: ratio ~1000:1."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for i in range(4):
            zf.writestr(f"xl/worksheets/sheet{i + 1}.xml", b"<row>" + b"A" * (64 * 1024 * 1024) + b"</row>")
    return buf.getvalue()


def rewrite_sheet(good: bytes, edit: Callable[[str], str], extra: dict[str, bytes] | None = None) -> bytes:
    """``good`` (an .xlsx) with its first sheet's XML passed through ``edit``, and ``extra``
    parts added uncompressed: how hostile or odd workbooks are made from a good one."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode()).encode()
            dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def xlsx_patched(dimension: str, extra_rows: str, rows: list[list[object]] | None = None) -> bytes:
    """A small good workbook whose sheet XML declares ``dimension`` and ends with ``extra_rows``
    (raw ``<row>`` XML): what another program, or a hostile hand, can write."""
    good = xlsx_bytes(rows or [["question", "answer"], *[list(p) for p in good_pairs()]])

    def edit(text: str) -> str:
        start = text.index("<dimension ref=")
        text = text[:start] + f'<dimension ref="{dimension}"/>' + text[text.index("/>", start) + 2 :]
        return text.replace("</sheetData>", extra_rows + "</sheetData>")

    return rewrite_sheet(good, edit)


def build() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    j = good_jsonl_lines()
    files["empty.csv"] = b""
    files["whitespace_only.jsonl"] = b"  \n\n\t\n"
    files["header_only.csv"] = b"question,answer\n"
    files["header_only.xlsx"] = xlsx_bytes([["question", "answer"]])
    files["png_named.csv"] = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    files["random_binary.csv"] = bytes((i * 7919 + 13) % 256 for i in range(4096))
    files["pdf_named.jsonl"] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    files["gzip_named.csv"] = b"\x1f\x8b\x08\x00" + zlib.compress(good_csv().encode())
    files["sqlite_named.json"] = b"SQLite format 3\x00" + b"\x00" * 200
    files["xls_named.xlsx"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    files["text_named.xlsx"] = good_csv().encode()
    files["zip_bomb_declared.xlsx"] = zip_bomb()
    files["zip_bomb_ratio.xlsx"] = real_zip_bomb()
    good_x = xlsx_bytes([["question", "answer"], *[list(p) for p in good_pairs()]])
    files["truncated.xlsx"] = good_x[: len(good_x) // 2]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    files["zip_not_workbook.xlsx"] = buf.getvalue()
    odd = bytearray(good_x)
    cd = odd.find(b"PK\x01\x02")
    odd[cd + 6] = 80  # "version needed to extract" 8.0: zipfile raised NotImplementedError (found by fuzzing)
    files["zip_future_version.xlsx"] = bytes(odd)
    arr = "[\n" + ",\n".join(j) + "\n]\n"
    files["truncated_array.json"] = arr[: len(arr) // 2].encode()
    files["trailing_comma.json"] = ("[\n" + ",\n".join(j) + ",\n]\n").encode()
    files["scalar.json"] = b"42\n"
    bad_nan = chat_line("q", "a").replace('"a"}', '"a", "weight": NaN}')
    files["nan_in_array.json"] = ("[\n" + ",\n".join(j[:4] + [bad_nan] + j[4:]) + "\n]\n").encode()
    files["deep_nesting.json"] = b"[" * 200_000 + b"]" * 200_000
    files["deep_nesting.jsonl"] = (b"[" * 100_000 + b"]" * 100_000 + b"\n") * 3
    files["deep_nesting_line.jsonl"] = jsonl_with(7, '{"messages": ' + "[" * 5000 + "]" * 5000 + "}")
    files["truncated_line.jsonl"] = jsonl_with(5, j[4][: len(j[4]) // 2])
    files["invalid_line.jsonl"] = jsonl_with(3, "{'messages': [{'role': 'user'}]}")
    files["nan.jsonl"] = jsonl_with(4, bad_nan)
    files["infinity.jsonl"] = jsonl_with(6, bad_nan.replace("NaN", "-Infinity"))
    files["duplicate_keys.jsonl"] = jsonl_with(2, '{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "c"}]}')
    files["lone_surrogate.jsonl"] = jsonl_with(8, chat_line("q \\ud800 x", "a").replace("\\\\ud800", "\\ud800"))
    files["raw_surrogate_bytes.jsonl"] = jsonl_with(9, chat_line("q", "a")).replace(b'"q"', b'"q\xed\xa0\x80"')
    files["wrong_role.jsonl"] = jsonl_with(3, '{"messages": [{"role": "customer", "content": "hi"}, {"role": "assistant", "content": "hello"}]}')
    files["messages_not_list.jsonl"] = jsonl_with(5, '{"messages": {"role": "user", "content": "hi"}}')
    files["content_number.jsonl"] = jsonl_with(4, '{"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "ok"}]}')
    files["missing_role.jsonl"] = jsonl_with(10, '{"messages": [{"content": "hi"}, {"role": "assistant", "content": "hello"}]}')
    files["no_assistant.jsonl"] = jsonl_with(11, '{"messages": [{"role": "user", "content": "hi"}]}')
    files["line_is_array.jsonl"] = jsonl_with(2, "[1, 2, 3]")
    files["extra_top_key.jsonl"] = jsonl_with(6, '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], "id": 7}')
    files["empty_messages.jsonl"] = jsonl_with(12, '{"messages": []}')
    files["weight_on_user.jsonl"] = jsonl_with(3, '{"messages": [{"role": "user", "content": "hi", "weight": 1}, {"role": "assistant", "content": "yo"}]}')
    files["unknown_tool_call_id.jsonl"] = jsonl_with(
        7,
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_9", "content": "x"}, {"role": "assistant", "content": "yo"}]}',
    )
    files["control_chars.jsonl"] = jsonl_with(5, '{"messages": [{"role": "user", "content": "hi\x01"}]}')
    files["blank_lines.jsonl"] = ("\n".join(j[:3] + ["", "   "] + j[3:]) + "\n").encode()
    lines = good_csv().splitlines()
    lines[4] = 'How do "I, reset",Open settings,extra,cells,here'
    files["ragged_rows.csv"] = ("\n".join(lines) + "\n").encode()
    lines = good_csv().splitlines()
    lines[6] = '"Unclosed quote starts here,and never ends'
    files["unclosed_quote.csv"] = ("\n".join(lines) + "\n").encode()
    files["missing_columns.csv"] = b"title,body\n" + b"".join(f"t{i},b{i}\n".encode() for i in range(12))
    files["only_user_column.csv"] = b"question,notes\n" + b"".join(f"q{i},n{i}\n".encode() for i in range(12))
    files["empty_answer.csv"] = good_csv().replace('"Open Settings, choose Security, then Reset (5)."', "").encode()
    files["utf16_no_bom.csv"] = good_csv().encode("utf-16-le")
    files["utf16be_no_bom.tsv"] = good_csv(sep="\t").encode("utf-16-be")
    jp = "question,answer\n" + "".join(f"パスワードを変更するには{i}?,設定を開いてください{i}。\n" for i in range(12))
    files["shift_jis.csv"] = jp.encode("shift_jis")
    files["mixed_encoding.csv"] = (good_csv(6) + "Où est le café?,Voilà: à droite\n").encode("utf-8") + "Crème brûlée?,Très bon\n".encode("cp1252")
    files["bom_then_garbage.csv"] = codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00"  # BOM + lone high surrogate
    files["nul_in_middle.csv"] = good_csv().encode()[:200] + b"\x00\x00\x00" + good_csv().encode()[200:]
    files["json_object_no_examples.json"] = b'{"name": "my data", "version": 3}'
    files["wrong_roles_long_format.csv"] = b"conversation_id,role,content\n" + b"".join(f"c{i},p1,hi {i}\nc{i},p2,hello {i}\nc{i},p3,bye {i}\n".encode() for i in range(12))  # three labels nothing can infer (customer/agent are read as user/assistant)
    files["sharegpt_bad_from.jsonl"] = jsonl_with(4, '{"conversations": [{"from": "martian", "value": "hi"}, {"from": "gpt", "value": "yo"}]}')
    # issue 12: the declared dimension is not the content
    files["dimension_far_cell.xlsx"] = xlsx_patched("A1:XFD1048576", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>')
    files["stray_last_row.xlsx"] = xlsx_patched("A1:XFD1048576", '<row r="1048576"><c r="A1048576" s="0"/><c r="B1048576" t="inlineStr"><is><t></t></is></c></row>')
    pairs = [[q, a] for q, a in good_pairs()]
    pairs[3][1] = '=UPPER(A5)'  # openpyxl writes the formula without a calculated value, as scripts do
    files["formula_uncalculated.xlsx"] = xlsx_bytes([["question", "answer"], *pairs])
    return files


def main() -> None:
    for name, data in build().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(build())} files to {HERE}")


if __name__ == "__main__":
    main()
